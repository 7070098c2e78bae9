"""Presenters: realistic, safe-by-construction values per class, per distinct token."""

from __future__ import annotations

import hashlib
import ipaddress
import re

import numpy as np
import pandas as pd
import pytest

from jupyter_masking import classes
from jupyter_masking.mask import MaskingKey, present, pseudonym_tokens, token_many
from jupyter_masking.mask.presenters import PRESENTERS
from jupyter_masking.mask.wordlists import first_names, last_names

KEY = MaskingKey(b"present-test-key-0123456789abcdef!!")


def tokens(n: int, salt: str = "") -> pd.Series:
    return pd.Series([hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in range(n)])


def pseudonyms(data_class: str, values: list[str]) -> list[str]:
    series = pd.Series(values, dtype=object)
    return present(
        data_class, pseudonym_tokens(series, data_class, KEY.subkey(data_class))
    ).tolist()


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def test_emails_look_like_emails_on_reserved_domains() -> None:
    for email in present("pii.email", tokens(500)):
        local, domain = email.split("@")
        assert domain in ("example.com", "example.org", "example.net")
        assert re.fullmatch(r"[a-z]+\.[a-z]+[0-9]+", local), email


def test_emails_stay_injective_for_100k_distinct_inputs() -> None:
    values = pd.Series([f"user{i}@corp.example" for i in range(100_000)])
    out = present("pii.email", token_many(KEY.subkey("pii.email"), values))
    assert out.nunique() == 100_000


def test_names_come_from_the_word_lists() -> None:
    firsts, lasts = set(first_names()), set(last_names())
    for name in present("pii.person_name", tokens(300)):
        first, initial, last = name.split(" ")
        assert first in firsts
        assert last in lasts
        assert re.fullmatch(r"[A-Z]\.", initial)


def test_phones_are_in_the_fictional_555_01xx_range() -> None:
    for phone in present("pii.phone", tokens(300)):
        assert re.fullmatch(r"\+1-[2-9][0-8][0-9]-555-01[0-9]{2}", phone), phone


def test_cards_pass_luhn_on_the_test_bin_with_the_original_length() -> None:
    values = [f"4{i:015d}" for i in range(200)] + [
        "3782 822463 10005",
        "6011-0009-9013-9424",
        "123",
    ]
    out = pseudonyms("financial.credit_card", values)
    assert all(luhn_ok(c) and c.startswith("411111") for c in out)
    assert [len(c) for c in out[-3:]] == [15, 16, 16], "length kept; odd lengths default to 16"
    assert len(set(out[:200])) == 200


def test_every_card_length_from_12_to_19_passes_luhn() -> None:
    for length in range(12, 20):
        out = pseudonyms("financial.credit_card", ["9" * length, "8" * length])
        assert all(len(c) == length and luhn_ok(c) for c in out)


def test_ibans_pass_mod_97() -> None:
    out = present("financial.iban", tokens(1000))
    assert all(len(i) == 22 and i.startswith("DE") and iban_ok(i) for i in out)
    assert not iban_ok("DE00" + out[0][4:]) or out[0][2:4] == "00"


def test_ips_are_in_documentation_ranges_and_keep_their_version() -> None:
    nets = [
        ipaddress.ip_network(n)
        for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
    ]
    values = [f"10.0.{i}.1" for i in range(100)] + [f"fe80::{i:x}" for i in range(100)]
    out = pseudonyms("pii.ip_address", values)
    for raw, fake in zip(values, out, strict=True):
        address = ipaddress.ip_address(fake)
        assert any(address in net for net in nets), fake
        assert address.version == ipaddress.ip_address(raw).version


def test_ssns_use_the_never_issued_9xx_area() -> None:
    for ssn in present("gov_id.us_ssn", tokens(300)):
        assert re.fullmatch(r"9[0-9]{2}-(0[1-9]|[1-9][0-9])-[0-9]{4}", ssn)
        assert not ssn.endswith("0000")


def test_macs_are_locally_administered_unicast() -> None:
    for mac in present("pii.mac_address", tokens(300)):
        first = int(mac.split(":")[0], 16)
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac)
        assert first & 0b10
        assert not first & 0b1


def test_urls_are_on_example_com() -> None:
    assert all(u.startswith("https://example.com/") for u in present("pii.url", tokens(50)))


@pytest.mark.parametrize(
    ("data_class", "pattern"),
    [
        ("secret.aws_access_key", r"AKIA[A-Z2-7]{9}EXAMPLE"),
        ("secret.github_token", r"ghp_[0-9A-Za-z]{36}"),
        ("secret.stripe_key", r"sk_test_[0-9A-Za-z]{24}"),
        ("secret.jwt", r"\[REDACTED:secret\.jwt\]"),
        ("secret.private_key", r"\[REDACTED:secret\.private_key\]"),
        ("secret.some_future_kind", r"\[REDACTED:secret\.some_future_kind\]"),
    ],
)
def test_secrets_become_same_prefix_fakes_or_redactions(data_class: str, pattern: str) -> None:
    out = present(data_class, tokens(20))
    assert all(re.fullmatch(pattern, s) for s in out), out[0]


def test_classes_without_a_presenter_get_family_and_hex() -> None:
    t = tokens(3)
    assert present("health.us_npi", t).tolist() == [f"health_{x[:12]}" for x in t]


def test_every_known_class_presents_without_error() -> None:
    for data_class in classes.ALL:
        out = present(
            data_class,
            pseudonym_tokens(pd.Series(["x1", None]), data_class, KEY.subkey(data_class)),
        )
        assert isinstance(out[0], str)
        assert out[0]
        assert pd.isna(out[1])


def test_nulls_stay_null_and_equal_tokens_give_equal_values() -> None:
    t = tokens(2)
    series = pd.Series([t[0], None, t[1], t[0], np.nan], index=list("abcde"), dtype=object)
    out = present("pii.email", series)
    assert out.index.tolist() == list("abcde")
    assert out.isna().tolist() == [False, True, False, False, True]
    assert out["a"] == out["d"] != out["c"]
    assert str(out.dtype) == "str"


def test_empty_and_all_null_columns() -> None:
    assert present("pii.email", pd.Series([], dtype=object)).tolist() == []
    assert present("pii.email", pd.Series([None, None], dtype=object)).isna().all()


@pytest.mark.parametrize(
    "bad",
    ["alice@example.com", "0" * 63, "g" * 64, "0" * 65, "12" + "0" * 63],
)
def test_when_values_are_not_tokens_then_present_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="not a masking token"):
        present("pii.email", pd.Series([bad]))


def test_when_a_shaped_class_gets_unshaped_tokens_then_present_refuses() -> None:
    with pytest.raises(ValueError, match="not a masking token"):
        present("financial.credit_card", tokens(1))


def test_non_text_tokens_are_refused() -> None:
    with pytest.raises(ValueError, match="not a masking token"):
        present("pii.email", pd.Series([12345]))


def test_every_presenter_is_a_known_class() -> None:
    assert set(PRESENTERS) <= set(classes.ALL)


def test_birth_dates_are_iso_dates_between_1940_and_2005() -> None:
    out = present("pii.date_of_birth", tokens(500))
    assert all(re.fullmatch(r"(19[4-9][0-9]|200[0-5])-[01][0-9]-[0-3][0-9]", d) for d in out)
    assert pd.to_datetime(out, format="%Y-%m-%d").notna().all()


@pytest.mark.parametrize("data_class", ["pii.email", "financial.credit_card", "pii.ip_address"])
def test_large_all_distinct_columns_present_row_by_row_with_the_same_values(
    data_class: str,
) -> None:
    # >= 16,384 nearly distinct tokens skip deduplication; small slices do not.
    raw = pd.Series(
        [f"4111 1111 1111 {i:04d}" if i % 2 else f"2001:db8::{i:x}" for i in range(20_000)]
        + [None] * 3,
        dtype=object,
    )
    tokens_ = pseudonym_tokens(raw, data_class, KEY.subkey(data_class))
    whole = present(data_class, tokens_)
    parts = pd.concat([present(data_class, tokens_[:9_000]), present(data_class, tokens_[9_000:])])
    assert whole.fillna("").tolist() == parts.fillna("").tolist()
    assert whole.isna().sum() == 3


def test_repeated_tokens_in_a_large_column_give_repeated_values() -> None:
    column = pd.concat([tokens(2_000)] * 10, ignore_index=True)
    out = present("pii.person_name", column)
    assert out[:2_000].tolist() * 10 == out.tolist()
