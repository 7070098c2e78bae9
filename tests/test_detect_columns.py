"""Column classification: name rules, content that confirms or overrules them, realistic
frames, and ordinary columns that must stay unclassified."""

from __future__ import annotations

import random
import uuid

import pandas as pd
import pyarrow as pa
import pytest

from jupyter_masking import classes as c
from jupyter_masking.detect import classify_column, classify_frame, name_hint
from jupyter_masking.detect.demo import demo_frame
from jupyter_masking.detect.wordlists import first_names, last_names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("email", c.PII_EMAIL),
        ("e_mail", c.PII_EMAIL),
        ("c_email_address", c.PII_EMAIL),
        ("CustomerEmailAddress", c.PII_EMAIL),
        ("mail", c.PII_EMAIL),
        ("phone_no", c.PII_PHONE),
        ("mobileNumber", c.PII_PHONE),
        ("ssn", c.GOV_ID_US_SSN),
        ("dob", c.PII_DATE_OF_BIRTH),
        ("birth_date", c.PII_DATE_OF_BIRTH),
        ("first_name", c.PII_PERSON_NAME),
        ("last_name", c.PII_PERSON_NAME),
        ("full_name", c.PII_PERSON_NAME),
        ("cc_number", c.FINANCIAL_CREDIT_CARD),
        ("iban", c.FINANCIAL_IBAN),
        ("api_key", c.SECRET_GENERIC),
        ("token", c.SECRET_GENERIC),
        ("aws_access_key_id", c.SECRET_AWS_ACCESS_KEY),
        ("ip", c.PII_IP_ADDRESS),
        ("client_ip_address", c.PII_IP_ADDRESS),
        ("shipping_address", c.PII_POSTAL_ADDRESS),
        ("nhs_number", c.HEALTH_UK_NHS),
        ("npi", c.HEALTH_US_NPI),
        ("order_id", None),
        ("amount", None),
        ("zip_code", None),  # "ip" inside a word is not a rule
        ("shipped_at", None),
        ("product_name", None),
        ("description", None),
    ],
)
def test_name_rules_know_common_spellings(name: str, expected: str | None) -> None:
    assert name_hint(name) == expected


def _ssns(n: int) -> list[str]:
    rng = random.Random(1)
    return [
        f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        for _ in range(n)
    ]


def test_when_name_and_content_agree_then_confidence_is_high_with_evidence() -> None:
    result = classify_column("ssn", pd.Series(_ssns(200)))
    assert (result.data_class, result.confidence) == (c.GOV_ID_US_SSN, 1.0)
    assert result.evidence == "name rule 'ssn'; 200/200 sampled values validated"


def test_when_the_name_is_contradicted_by_dates_then_the_column_is_not_an_ssn() -> None:
    dates = pd.Series(pd.date_range("2020-01-01", periods=200).strftime("%Y-%m-%d"))
    result = classify_column("ssn", dates)
    assert result.data_class is None
    assert "overruled" in result.evidence


def test_when_only_some_values_validate_then_the_name_rule_is_overruled() -> None:
    values = _ssns(50) + [f"{i:09d}"[:5] for i in range(150)]
    result = classify_column("ssn", values)
    assert result.data_class is None
    assert result.span_classes == (c.GOV_ID_US_SSN,)


def test_when_a_column_has_no_values_then_the_name_decides_with_low_confidence() -> None:
    result = classify_column("email", pd.Series([None, None], dtype=object))
    assert (result.data_class, result.confidence) == (c.PII_EMAIL, 0.5)


def test_content_alone_classifies_distinctive_columns() -> None:
    emails = [f"user{i}@example.com" for i in range(300)]
    result = classify_column("contact", emails)
    assert result.data_class == c.PII_EMAIL
    assert result.confidence == pytest.approx(0.9)
    assert result.evidence.startswith("content: 300/300")


def test_numbers_never_become_phones_or_nhs_numbers_without_a_name() -> None:
    rng = random.Random(3)
    ten_digits = pd.Series([rng.randint(2 * 10**9, 10**10 - 1) for _ in range(500)])
    for name in ("order_id", "customer_ref", "value"):
        assert classify_column(name, ten_digits).data_class is None
    assert (
        classify_column("amount", pd.Series([rng.uniform(1, 1e6) for _ in range(500)])).data_class
        is None
    )


def test_ten_digit_strings_need_a_name_to_be_phones() -> None:
    values = [f"{5550100000 + i}" for i in range(300)]
    assert classify_column("ref", values).data_class is None
    assert classify_column("phone", values).data_class == c.PII_PHONE


def test_an_integer_column_named_like_cards_is_checked_with_luhn() -> None:
    cards = pd.Series([4111111111111111, 5500000000000004, 340000000000009] * 50)
    assert classify_column("cc_number", cards).data_class == c.FINANCIAL_CREDIT_CARD
    ids = pd.Series(range(10**15, 10**15 + 150))
    assert classify_column("card_number", ids).data_class is None  # 1 in 10 pass Luhn


def test_person_names_are_recognised_from_word_lists_not_a_model() -> None:
    rng = random.Random(5)
    names = [f"{rng.choice(first_names())} {rng.choice(last_names())}" for _ in range(300)]
    assert classify_column("full_name", names).data_class == c.PII_PERSON_NAME
    assert (
        classify_column("first_name", [n.split()[0] for n in names]).data_class == c.PII_PERSON_NAME
    )
    products = [f"Widget {i} Pro" for i in range(300)]
    assert classify_column("name", products).data_class is None


def test_notes_with_embedded_values_are_free_text_with_span_classes() -> None:
    notes = [
        f"Call Emily Johnson at (555) 010-{i:04d} or mail e{i}@example.com." for i in range(300)
    ]
    result = classify_column("notes", notes)
    assert result.data_class is None
    assert result.free_text
    assert result.span_classes == (c.PII_EMAIL, c.PII_PERSON_NAME, c.PII_PHONE)


def test_a_stray_value_in_a_classified_column_is_reported_as_a_span_class() -> None:
    values = [f"user{i}@example.com" for i in range(99)] + ["call me at (555) 010-0199"]
    result = classify_column("email", values)
    assert result.data_class == c.PII_EMAIL
    assert result.span_classes == (c.PII_PHONE,)
    assert not result.free_text


def test_arrow_and_series_inputs_give_the_same_answer() -> None:
    values = [f"DE89370400440532013{i:03d}" for i in range(10)] + ["GB82WEST12345698765432"] * 5
    from_list = classify_column("iban", values)
    assert classify_column("iban", pa.array(values)) == from_list
    assert classify_column("iban", pd.Series(values, dtype="str")) == from_list


def test_realistic_frame_is_classified_column_by_column() -> None:
    frame = demo_frame(300)
    result = classify_frame(frame)
    expected = {
        "customer_name": c.PII_PERSON_NAME,
        "email": c.PII_EMAIL,
        "phone_no": c.PII_PHONE,
        "ssn": c.GOV_ID_US_SSN,
        "cc_number": c.FINANCIAL_CREDIT_CARD,
        "iban": c.FINANCIAL_IBAN,
        "ip": c.PII_IP_ADDRESS,
        "order_id": None,
        "amount": None,
        "status": None,
        "notes": None,
    }
    assert {k: v.data_class for k, v in result.items()} == expected
    assert result["notes"].free_text
    assert not result["status"].span_classes
    assert result == {col: classify_column(col, frame[col]) for col in frame.columns}


def test_ordinary_columns_stay_unclassified_and_span_free() -> None:
    rng = random.Random(9)
    frame = pd.DataFrame(
        {
            "order_id": [rng.randint(10**8, 10**10) for _ in range(1000)],
            "amount": [round(rng.uniform(0, 5000), 2) for _ in range(1000)],
            "created": pd.date_range("2021-01-01", periods=1000, freq="h"),
            "created_text": pd.date_range("2021-01-01", periods=1000, freq="h").astype(str),
            "product_code": [
                f"SKU-{rng.randint(1000, 9999)}-{rng.choice('ABC')}" for _ in range(1000)
            ],
            "uuid": [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(1000)],
            "invoice": [f"ORD-2024-{i:06d}" for i in range(1000)],
            "flag": [bool(i % 2) for i in range(1000)],
        }
    )
    for column, result in classify_frame(frame).items():
        assert result.data_class is None, column
        assert result.span_classes == (), column


def test_dates_of_birth_need_the_name() -> None:
    dates = pd.Series(pd.to_datetime(["1980-01-02", "1975-06-30", "1990-12-01"] * 20))
    assert classify_column("dob", dates).data_class == c.PII_DATE_OF_BIRTH
    assert classify_column("shipped", dates).data_class is None
