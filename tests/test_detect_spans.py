"""Spans inside free text: one table of true cases and near misses per class, plus the
vectorised scanner agreeing with the per-value one."""

from __future__ import annotations

import gc
import itertools
import random
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_masking import classes as c
from jupyter_masking.detect import DETECTORS, find_spans, find_spans_many, vector

_B62 = "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"

# (text, class expected, the exact span text)
FOUND = [
    ("mail bob.smith+tag@example.co.uk today", c.PII_EMAIL, "bob.smith+tag@example.co.uk"),
    ("call (555) 010-0199 now", c.PII_PHONE, "(555) 010-0199"),
    ("call +1-555-010-0199x123.", c.PII_PHONE, "+1-555-010-0199x123"),
    ("call 001-555-010-0199 now", c.PII_PHONE, "001-555-010-0199"),
    ("office +44 20 7946 0958 ok", c.PII_PHONE, "+44 20 7946 0958"),
    ("phone: 5550100199", c.PII_PHONE, "5550100199"),
    ("from 192.168.10.20 at noon", c.PII_IP_ADDRESS, "192.168.10.20"),
    ("from 2001:db8:85a3::8a2e:370:7334 ok", c.PII_IP_ADDRESS, "2001:db8:85a3::8a2e:370:7334"),
    ("nic 00:1A:2B:3C:4D:5E up", c.PII_MAC_ADDRESS, "00:1A:2B:3C:4D:5E"),
    ("see https://example.com/a?b=1.", c.PII_URL, "https://example.com/a?b=1"),
    ("DOB: 1985-03-12.", c.PII_DATE_OF_BIRTH, "1985-03-12"),
    (
        "ship to 42 Maple Street, Springfield, IL 62704 asap",
        c.PII_POSTAL_ADDRESS,
        "42 Maple Street, Springfield, IL 62704",
    ),
    ("Please ask Emily Johnson first", c.PII_PERSON_NAME, "Emily Johnson"),
    ("seen by Dr. Patel today", c.PII_PERSON_NAME, "Dr. Patel"),
    ("ask Mark Johnson Jr. later", c.PII_PERSON_NAME, "Mark Johnson Jr."),  # known surname
    ("ssn 078-05-1120 on file", c.GOV_ID_US_SSN, "078-05-1120"),
    ("SSN: 536228726 on file", c.GOV_ID_US_SSN, "536228726"),
    ("itin 912-70-1234 on file", c.GOV_ID_US_ITIN, "912-70-1234"),
    ("NI number AB 12 34 56 C", c.GOV_ID_UK_NINO, "AB 12 34 56 C"),
    ("passport no. 123456789 expired", c.GOV_ID_US_PASSPORT, "123456789"),
    ("driver's license: D1234567 valid", c.GOV_ID_US_DRIVER_LICENSE, "D1234567"),
    ("card 4111 1111 1111 1111 declined", c.FINANCIAL_CREDIT_CARD, "4111 1111 1111 1111"),
    ("amex 3400 000000 00009", c.FINANCIAL_CREDIT_CARD, "3400 000000 00009"),
    ("iban DE89 3704 0044 0532 0130 00.", c.FINANCIAL_IBAN, "DE89 3704 0044 0532 0130 00"),
    ("routing number 021000021", c.FINANCIAL_ABA_ROUTING, "021000021"),
    (
        "btc 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        c.FINANCIAL_CRYPTO_WALLET,
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    ),
    (
        "to bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 ok",
        c.FINANCIAL_CRYPTO_WALLET,
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    ),
    ("NPI: 1234567893", c.HEALTH_US_NPI, "1234567893"),
    ("mbi 1EG4-TE5-MK73", c.HEALTH_US_MBI, "1EG4-TE5-MK73"),
    ("NHS no. 943 476 5919", c.HEALTH_UK_NHS, "943 476 5919"),
    (
        "k=-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK==\n-----END RSA PRIVATE KEY----- end",
        c.SECRET_PRIVATE_KEY,
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK==\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl x",
        c.SECRET_JWT,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
    ),
    (
        "key AKIAIOSFODNN7EXAMPLE (a documented placeholder, still masked)",
        c.SECRET_AWS_ACCESS_KEY,
        "AKIAIOSFODNN7EXAMPLE",
    ),
    (f"token ghp_{_B62} here", c.SECRET_GITHUB_TOKEN, f"ghp_{_B62}"),
    ("gl glpat-AbCdEfGhIjKlMnOpQrSt end", c.SECRET_GITLAB_TOKEN, "glpat-AbCdEfGhIjKlMnOpQrSt"),
    (
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKl x",
        c.SECRET_SLACK_TOKEN,
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKl",
    ),
    (
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc ok",
        c.SECRET_STRIPE_KEY,
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ),
    (f"sk-ant-api03-{_B62}{_B62} ok", c.SECRET_ANTHROPIC_API_KEY, f"sk-ant-api03-{_B62}{_B62}"),
    (f"sk-proj-{_B62} ok", c.SECRET_OPENAI_API_KEY, f"sk-proj-{_B62}"),
    (
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh ok",
        c.SECRET_HUGGINGFACE_TOKEN,
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
    ),
    (f"npm_{_B62} ok", c.SECRET_NPM_TOKEN, f"npm_{_B62}"),
    (
        f"pypi-AgEIcHlwaS5vcmc{_B62}{_B62} ok",
        c.SECRET_PYPI_TOKEN,
        f"pypi-AgEIcHlwaS5vcmc{_B62}{_B62}",
    ),
    (
        f"SG.{_B62[:22]}.{_B62}{_B62[:7]} ok",
        c.SECRET_SENDGRID_KEY,
        f"SG.{_B62[:22]}.{_B62}{_B62[:7]}",
    ),
    (
        "mc 0123456789abcdef0123456789abcdef-us12 ok",
        c.SECRET_MAILCHIMP_KEY,
        "0123456789abcdef0123456789abcdef-us12",
    ),
    (
        f"bot M{_B62[:23]}.AbCdEf.{_B62[:27]} ok",
        c.SECRET_DISCORD_TOKEN,
        f"M{_B62[:23]}.AbCdEf.{_B62[:27]}",
    ),
    (f"tg 123456789:AA{_B62[:33]} ok", c.SECRET_TELEGRAM_BOT_TOKEN, f"123456789:AA{_B62[:33]}"),
    (f"h HRKU-AA{_B62}{_B62[:22]} ok", c.SECRET_HEROKU_API_KEY, f"HRKU-AA{_B62}{_B62[:22]}"),
    (
        "HEROKU_API_KEY=01234567-89ab-cdef-0123-456789abcdef",
        c.SECRET_HEROKU_API_KEY,
        "01234567-89ab-cdef-0123-456789abcdef",
    ),
    ("db postgresql://report:s3cr3t@db:5432/x", c.SECRET_BASIC_AUTH, "report:s3cr3t"),
    ("Authorization: Basic dXNlcjpwYXNz", c.SECRET_BASIC_AUTH, "dXNlcjpwYXNz"),
    ('{"password": "hunter2"}', c.SECRET_GENERIC, "hunter2"),
    ("db_password=Tr0ub4dor&3 more", c.SECRET_GENERIC, "Tr0ub4dor&3"),
    ("api_key: 9f8e7d6c5b4a39281706 ok", c.SECRET_GENERIC, "9f8e7d6c5b4a39281706"),
    ("Authorization: Bearer abcdef0123456789xyz", c.SECRET_GENERIC, "abcdef0123456789xyz"),
]

# Near misses and ordinary text: nothing may be found.
NOTHING = [
    "order ORD-2024-001 on 2024-01-15 for USD 1,234.56",  # ids, dates, amounts
    "shipped 2024-10-15 10:30:45, back 15.10.2024",  # phone-shaped dates and times
    "ref 20241015 and 123456789 and 1234567890",  # 8-, 9-, 10-digit ids without context
    "id 123e4567-e89b-12d3-a456-426614174000",  # UUID
    "card 4111 1111 1111 1112 failed",  # bad Luhn check digit
    "ean 4006381333931 on the box",  # EAN-13 barcode
    "ssn 666-12-3456 and 000-12-3456 are never issued",
    "v1.2.3 and 999.1.1.1 and 10.0.0",  # versions, not addresses
    "password reset requested; token expired",  # keywords with no assignment
    "password: null, api_key: ********",  # placeholders
    f"token ghp_{_B62[:30]} is too short",  # near-miss provider token
    "key AKIAIOSFODNN7EXAMPL is one short",
    "not-an-email@ and @handle and a@b",
    "Will you call? May Day! Mark Down prices",  # words that are also given names
    "meeting at 12:30:45 in room 101",
]


@pytest.mark.parametrize(("text", "data_class", "span"), FOUND)
def test_when_value_is_planted_then_its_span_and_class_are_found(
    text: str, data_class: str, span: str
) -> None:
    found = [(f.data_class, text[f.start : f.end]) for f in find_spans(text)]
    assert (data_class, span) in found


@pytest.mark.parametrize("text", NOTHING)
def test_when_text_is_ordinary_or_a_near_miss_then_nothing_is_found(text: str) -> None:
    assert [(f.data_class, text[f.start : f.end]) for f in find_spans(text)] == []


def test_every_data_class_with_text_patterns_has_a_planted_case() -> None:
    with_patterns = {d.data_class for d in DETECTORS if d.patterns}
    assert with_patterns <= {data_class for _, data_class, _ in FOUND}
    assert with_patterns == set(c.ALL)


def test_when_a_card_candidate_fails_luhn_then_the_phone_inside_is_still_found() -> None:
    text = "call 001-851-471-8702 today"
    assert [(f.data_class, f.start, f.end) for f in find_spans(text)] == [(c.PII_PHONE, 5, 21)]


def test_when_an_assigned_value_is_a_known_key_then_it_gets_the_specific_class() -> None:
    [found] = find_spans("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE")
    assert (found.data_class, found.start) == (c.SECRET_AWS_ACCESS_KEY, 18)
    assert "aws" in found.explanation


def test_when_context_surrounds_other_values_then_they_are_found_too() -> None:
    text = "call ann@ex.io 5550100199"
    found = [(f.data_class, text[f.start : f.end]) for f in find_spans(text)]
    assert found == [(c.PII_EMAIL, "ann@ex.io"), (c.PII_PHONE, "5550100199")]


def test_findings_explain_pattern_and_check() -> None:
    [card] = find_spans("4111-1111-1111-1111")
    assert card.explanation == "pattern card + Luhn+IIN valid"
    assert 0 < card.score <= 1


def test_offsets_count_characters_not_bytes() -> None:
    text = "Zoë — écrit à zoë@example.fr ou appelle (555) 010-0199 ☎"
    for found in find_spans(text):
        assert text[found.start : found.end] in {"zoë@example.fr", "(555) 010-0199"} or (
            found.data_class == c.PII_EMAIL
        )
    phone = [f for f in find_spans(text) if f.data_class == c.PII_PHONE]
    assert text[phone[0].start : phone[0].end] == "(555) 010-0199"


@pytest.mark.parametrize("copies", [10, 700])  # per-value path, then the vectorised one
def test_many_accepts_series_arrow_and_lists_and_keeps_nulls_and_order(copies: int) -> None:
    values = [
        x
        for i in range(copies)
        for x in (f"x a{i}@b.io", None, "nothing", "x a@b.io", "(555) 010-0199")
    ]
    expected = [find_spans(v) if v is not None else [] for v in values]
    assert find_spans_many(values) == expected
    assert find_spans_many(pd.Series(values, dtype="str")) == expected
    assert find_spans_many(pa.array(values)) == expected
    assert find_spans_many(pd.Series([None, float("nan")], dtype=object)) == [[], []]


def test_when_values_hold_the_internal_marker_then_they_are_still_scanned() -> None:
    values = [f"\x01 a{i}@b.io \x01" for i in range(40)] + [f"n{i}@b.io" for i in range(40)]
    found = vector.scan_many(values)
    assert all(len(f) == 1 and f[0].data_class == c.PII_EMAIL for f in found)
    assert found[0][0].start == 2


def test_lone_surrogates_do_not_break_either_scanner() -> None:
    text = "a\ud800 mail x@example.com"
    [found] = find_spans(text)
    assert text[found.start : found.end] == "x@example.com"
    assert vector.scan_many([text] * 40) == [[found]] * 40


def test_numbers_are_scanned_as_their_text() -> None:
    assert find_spans_many([4111111111111111] * 40)[0][0].data_class == c.FINANCIAL_CREDIT_CARD


_FRAGMENTS = [text for text, _, _ in FOUND] + NOTHING + ["", " ", "\n", ", ", "é", "x\x01y"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_FRAGMENTS), max_size=4), min_size=32, max_size=60))
def test_vectorised_scan_agrees_with_per_value_scan(parts: list[list[str]]) -> None:
    values = [" ".join(p) for p in parts]
    assert vector.scan_many(values) == [find_spans(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_findings_are_sorted_non_overlapping_and_inside_the_text(text: str) -> None:
    found = find_spans(text)
    assert all(0 <= f.start < f.end <= len(text) for f in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_large_inputs_scanned_in_halves_agree_with_per_value_scan() -> None:
    # >= 20,000 distinct values: each pass runs over two halves; names in nearly every
    # row also skip the row filter. Both must change nothing.
    rng = random.Random(7)
    values = [
        f"{i} " + " ".join(rng.sample(_FRAGMENTS, 3)) + f" Emily Johnson {i}" for i in range(20_500)
    ]
    assert vector.scan_many(values) == [find_spans(v) for v in values]


@pytest.mark.parametrize("copies", [10, 700])  # per-value path, then the vectorised one
def test_when_classes_are_named_then_only_they_are_looked_for(copies: int) -> None:
    values = [
        x
        for i in range(copies)
        for x in (f"Emily Johnson {i}", f"[REDACTED:pii.email] and Dr. Ann Lee {i}", "a@b.io")
    ]
    names = find_spans_many(values, classes={c.PII_PERSON_NAME})
    assert names == [
        [f for f in find_spans(v) if f.data_class == c.PII_PERSON_NAME] for v in values
    ]
    assert sum(map(len, names)) == 2 * copies
    assert find_spans_many(values, classes={"pii.no_such_class"}) == [[] for _ in values]


def test_a_column_that_looks_all_distinct_at_first_is_still_scanned_row_by_row() -> None:
    # 10,000+ values whose first thousand all differ skip the dictionary encoding; later
    # repeats and a column with NULLs (which never skips it) must change nothing.
    rng = random.Random(11)
    head = [f"{i} " + " ".join(rng.sample(_FRAGMENTS, 2)) for i in range(1_000)]
    values = head + [rng.choice(head) for _ in range(11_000)]
    expected = [find_spans(v) for v in values]
    assert find_spans_many(pd.Series(values, dtype="str")) == expected
    assert find_spans_many(pa.array(values)) == expected
    with_nulls: list[str | None] = [*values[:5_000], None, *values[5_000:]]
    expected_with_nulls = [*expected[:5_000], [], *expected[5_000:]]
    assert find_spans_many(pa.array(with_nulls)) == expected_with_nulls


def test_scans_in_threads_leave_the_garbage_collector_as_they_found_it() -> None:
    values = [f"n{i}@b.io Emily Johnson" for i in range(4_000)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: len(vector.scan_many(values)), range(8)))
    assert results == [len(values)] * 8
    assert gc.isenabled()
    gc.disable()
    try:
        vector.scan_many(values[:100])
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
