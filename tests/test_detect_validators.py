"""Validators: known-good and known-bad vectors, and hypothesis properties of the checksums."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_masking.detect import validators as v

VECTORS = [
    # (validator, value, expected)
    (v.credit_card, "4111 1111 1111 1111", True),
    (v.credit_card, "5500-0000-0000-0004", True),
    (v.credit_card, "3400 000000 00009", True),
    (v.credit_card, "6011000000000004", True),
    (v.credit_card, "2223000048400011", True),
    (v.credit_card, "4111 1111 1111 1112", False),  # bad check digit
    (v.credit_card, "0018514718702", False),  # phone digits, no issuer
    (v.credit_card, "4111-111-1111-1111", False),  # wrong grouping
    (v.credit_card, "4242424242424242", True),
    (v.iban, "GB82 WEST 1234 5698 7654 32", True),
    (v.iban, "DE89370400440532013000", True),
    (v.iban, "FR1420041010050500013M02606", True),
    (v.iban, "NL91ABNA0417164300", True),
    (v.iban, "GB82 WEST 1234 5698 7654 33", False),
    (v.iban, "DE8937040044053201300", False),  # one digit short for DE
    (v.iban, "XX82WEST12345698765432", False),  # unknown country
    (v.us_ssn, "078-05-1120", True),
    (v.us_ssn, "536-22-8726", True),
    (v.us_ssn, "666-12-3456", False),
    (v.us_ssn, "000-12-3456", False),
    (v.us_ssn, "123-00-4567", False),
    (v.us_ssn, "123-45-0000", False),
    (v.us_ssn, "912-70-1234", False),  # that is an ITIN
    (v.us_ssn, "219-09-9999", False),  # printed on sample cards
    (v.us_itin, "912-70-1234", True),
    (v.us_itin, "999-99-9999", True),
    (v.us_itin, "912-93-1234", False),
    (v.us_itin, "812-70-1234", False),
    (v.us_npi, "1234567893", True),
    (v.us_npi, "1234567890", False),
    (v.us_npi, "3234567893", False),
    (v.us_mbi, "1EG4-TE5-MK73", True),
    (v.us_mbi, "1EG4TE5MK73", True),
    (v.us_mbi, "0EG4-TE5-MK73", False),  # first char must be 1-9
    (v.us_mbi, "1SG4-TE5-MK73", False),  # S is never used
    (v.uk_nhs, "943 476 5919", True),
    (v.uk_nhs, "9434765918", False),
    (v.uk_nhs, "1111111111", False),
    (v.uk_nino, "AB 12 34 56 C", True),
    (v.uk_nino, "QQ123456C", False),  # Q is not an allocated first letter
    (v.uk_nino, "GB123456C", False),
    (v.uk_nino, "AB123456E", False),
    (v.aba_routing, "011000015", True),
    (v.aba_routing, "021000021", True),
    (v.aba_routing, "011000016", False),
    (v.aba_routing, "991000015", False),  # no such Federal Reserve district
    (v.crypto_wallet, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", True),
    (v.crypto_wallet, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", True),
    (v.crypto_wallet, "1BoatSLRHtKNngkdXEeobR76b53LETtpyU", False),
    (v.crypto_wallet, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", True),
    (v.crypto_wallet, "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297", True),
    (v.crypto_wallet, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", False),
    (v.crypto_wallet, "0x52908400098527886E0F7030069857D2E4169EE7", True),
    (v.crypto_wallet, "0x52908400098527886E0F7030069857D2E4169EE", False),
    (v.jwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln", True),
    (v.jwt, "eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxMjMifQ.c2ln", False),  # header without alg
    (v.jwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ", False),
    (v.basic_auth, "dXNlcjpwYXNz", True),  # user:pass
    (v.basic_auth, "aGVsbG8gd29ybGQ=", False),  # "hello world", no colon
    (v.ip_address, "192.168.0.1", True),
    (v.ip_address, "2001:db8::1", True),
    (v.ip_address, "256.1.1.1", False),
    (v.ip_address, "::", False),
    (v.mac_address, "00:1A:2B:3C:4D:5E", True),
    (v.mac_address, "00:1A-2B:3C:4D:5E", False),
    (v.phone, "+1-555-010-0199x1234", True),
    (v.phone, "555-0199", False),
    (v.secret_value, "hunter2", True),
    (v.secret_value, '"null"', False),
    (v.secret_value, "********", False),
    (v.secret_value, "<redacted>", False),
]


@pytest.mark.parametrize(("validator", "value", "expected"), VECTORS)
def test_known_vectors(validator: v.Validator, value: str, expected: bool) -> None:
    assert validator(value) is expected


def _luhn_complete(body: str) -> str:
    return body + next(d for d in "0123456789" if v.luhn_digits(body + d))


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_luhn_completion_always_validates(body: str) -> None:
    assert v.luhn_digits(_luhn_complete(body))


@given(st.text(alphabet="0123456789", min_size=12, max_size=18), st.data())
def test_luhn_catches_every_single_digit_error(body: str, data: st.DataObject) -> None:
    number = _luhn_complete(body)
    position = data.draw(st.integers(0, len(number) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not v.luhn_digits(number[:position] + wrong + number[position + 1 :])


def _iban(country: str, bban: str) -> str:
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


@given(
    st.sampled_from(sorted(v.IBAN_LENGTHS)),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=30, max_size=30),
    st.data(),
)
def test_iban_mod97_accepts_built_and_rejects_changed(
    country: str, alphabet_pool: str, data: st.DataObject
) -> None:
    bban = alphabet_pool[: v.IBAN_LENGTHS[country] - 4]
    good = _iban(country, bban)
    assert v.iban(good)
    assert v.iban(" ".join(good[i : i + 4] for i in range(0, len(good), 4)))
    digit_positions = [i for i in range(2, len(good)) if good[i].isdigit()]
    position = data.draw(st.sampled_from(digit_positions))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != good[position]]))
    changed = good[:position] + replacement + good[position + 1 :]
    # mod-97 catches every single-digit substitution
    assert not v.iban(changed)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_nhs_check_digit_is_unique(first_nine: str) -> None:
    valid = [d for d in "0123456789" if v.uk_nhs(first_nine + d)]
    assert len(valid) <= 1


@given(st.integers(0, 10**9 - 1))
def test_ssn_and_itin_never_both_valid(number: int) -> None:
    text = f"{number:09d}"
    assert not (v.us_ssn(text) and v.us_itin(text))


@given(st.text(max_size=200))
def test_validators_never_raise(text: str) -> None:
    for validator in v.VALIDATOR_LABELS:
        assert validator(text) in (True, False)
