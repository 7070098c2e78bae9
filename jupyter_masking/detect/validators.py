"""Checksums and structure rules that turn a pattern match into a confirmed finding.

Every validator takes the matched text (separators included) and returns a bool; it
never raises. They are pure Python and cheap (a few microseconds), because they run
only on pattern matches, not on every value.

>>> luhn("4111 1111 1111 1111"), luhn("4111 1111 1111 1112")
(True, False)
>>> iban("GB82 WEST 1234 5698 7654 32")
True
>>> us_ssn("078-05-1120"), us_ssn("666-12-3456")
(True, False)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import re
import string
from collections.abc import Callable, Mapping

Validator = Callable[[str], bool]

_NON_DIGITS = re.compile(r"[^0-9]")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def digits(text: str) -> str:
    """The ASCII digits of ``text``, in order (separators dropped).

    >>> digits("(555) 010-0199")
    '5550100199'
    """
    return _NON_DIGITS.sub("", text)


def luhn_digits(number: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn (mod-10) check."""
    if not number or not number.isascii() or not number.isdigit():
        return False
    kept = sum(map(int, number[-1::-2]))
    doubled = sum(_LUHN_DOUBLED[int(d)] for d in number[-2::-2])
    return (kept + doubled) % 10 == 0


# Digit d doubled, minus 9 when that exceeds 9 (the Luhn rule), indexed by d.
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn(text: str) -> bool:
    """Luhn check on the digits of ``text`` (separators ignored)."""
    return luhn_digits(digits(text))


# Issuer prefixes (IIN ranges) and lengths of the card networks in general use.
_CARD_RANGES: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (4, 4, (16, 19)),  # Visa (13-digit numbers are no longer issued; EAN-13 codes look alike)
    (51, 55, (16,)),  # Mastercard
    (2221, 2720, (16,)),  # Mastercard 2-series
    (34, 34, (15,)),  # American Express
    (37, 37, (15,)),
    (6011, 6011, (16, 19)),  # Discover
    (644, 649, (16, 19)),
    (65, 65, (16, 19)),
    (300, 305, (14, 16, 19)),  # Diners Club
    (36, 36, (14, 16, 19)),
    (38, 39, (16, 19)),
    (3528, 3589, (16, 19)),  # JCB
    (62, 62, (16, 17, 18, 19)),  # UnionPay
    # Maestro issues 12-19 digits; in text only 16-19, since 13-digit EAN barcodes
    # starting 50/56-58/67 would pass Luhn one time in ten.
    (50, 50, (16, 17, 18, 19)),
    (56, 58, (16, 17, 18, 19)),
    (67, 67, (16, 17, 18, 19)),
    (2200, 2204, (16, 17, 18, 19)),  # Mir
)

# Allowed digit-group sizes when a card is written with separators.
_CARD_GROUPINGS = frozenset({(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 4, 1)})


_CARD_WIDTHS = tuple((len(str(low)), low, high, lengths) for low, high, lengths in _CARD_RANGES)


def card_issuer_known(number: str) -> bool:
    """Whether a digit string starts with a known card-network prefix and has its length."""
    if len(number) < 12:
        return False
    prefixes = {width: int(number[:width]) for width in (1, 2, 3, 4)}
    return any(
        len(number) in lengths and low <= prefixes[width] <= high
        for width, low, high, lengths in _CARD_WIDTHS
    )


def credit_card(text: str) -> bool:
    """A card number: known issuer prefix and length, Luhn valid, card-like grouping.

    >>> credit_card("4111-1111-1111-1111"), credit_card("001-851-471-8702")
    (True, False)
    """
    number = digits(text)
    if not (card_issuer_known(number) and luhn_digits(number)):
        return False
    groups = tuple(len(part) for part in re.split(r"[ \-]", text.strip()) if part)
    return len(groups) == 1 or groups in _CARD_GROUPINGS


# Lengths of IBANs per country (ISO 13616 registry), for the countries that issue them.
IBAN_LENGTHS: Mapping[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban(text: str) -> bool:
    """An IBAN: known country, that country's length, and ISO 7064 mod-97 equal to 1."""
    compact = _NON_ALNUM.sub("", text).upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    return int((compact[4:] + compact[:4]).translate(_BASE36)) % 97 == 1


# A -> "10", B -> "11", ... as mod-97 needs (ISO 7064).
_BASE36 = {ord(ch): str(value) for value, ch in enumerate(string.ascii_uppercase, 10)}


def us_ssn(text: str) -> bool:
    """A US SSN by the SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000.

    Well-known published example numbers are rejected too.
    """
    number = digits(text)
    if len(number) != 9 or number in _SSN_PUBLISHED:
        return False
    area, group, serial = number[:3], number[3:5], number[5:]
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"


# Numbers printed on sample cards and in advertising; never issued to a person.
_SSN_PUBLISHED = frozenset({"219099999", "457555462"})

_ITIN_GROUPS = frozenset([*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)])


def us_itin(text: str) -> bool:
    """A US ITIN: area 9xx and group in 50–65, 70–88, 90–92 or 94–99.

    >>> us_itin("912-70-1234"), us_itin("912-93-1234")
    (True, False)
    """
    number = digits(text)
    return len(number) == 9 and number[0] == "9" and int(number[3:5]) in _ITIN_GROUPS


def us_npi(text: str) -> bool:
    """A US National Provider Identifier: 10 digits, Luhn valid with the 80840 prefix."""
    number = digits(text)
    return len(number) == 10 and number[0] in "12" and luhn_digits("80840" + number)


_MBI = re.compile(
    r"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
    r"[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
    r"[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y][0-9][0-9]"
)


def us_mbi(text: str) -> bool:
    """A Medicare Beneficiary Identifier: 11 characters in the CMS position rules.

    >>> us_mbi("1EG4-TE5-MK73"), us_mbi("1EG4-TE5-MK7S")
    (True, False)
    """
    return _MBI.fullmatch(_NON_ALNUM.sub("", text).upper()) is not None


def uk_nhs(text: str) -> bool:
    """A UK NHS number: 10 digits whose mod-11 weighted check digit matches.

    >>> uk_nhs("943 476 5919"), uk_nhs("943 476 5918")
    (True, False)
    """
    number = digits(text)
    if len(number) != 10 or len(set(number)) == 1:
        return False
    check = 11 - sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(number[9])


_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]")


def uk_nino(text: str) -> bool:
    """A UK National Insurance number: HMRC letter rules, no unallocated prefixes.

    >>> uk_nino("AB 12 34 56 C"), uk_nino("GB 12 34 56 C")
    (True, False)
    """
    compact = _NON_ALNUM.sub("", text).upper()
    return _NINO.fullmatch(compact) is not None and compact[:2] not in _NINO_BAD_PREFIXES


_ABA_DISTRICTS = frozenset([*range(13), *range(21, 33), *range(61, 73), 80])


def aba_routing(text: str) -> bool:
    """An ABA routing number: Federal Reserve district prefix and 3-7-1 weighted checksum.

    >>> aba_routing("011000015"), aba_routing("011000016")
    (True, False)
    """
    number = digits(text)
    if len(number) != 9 or int(number[:2]) not in _ABA_DISTRICTS or number == "000000000":
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(number, weights, strict=True)) % 10 == 0


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58)}


def base58check(text: str) -> bool:
    """A Base58Check string (legacy and P2SH Bitcoin addresses): the 4-byte checksum matches."""
    value = 0
    for char in text:
        if char not in _B58_INDEX:
            return False
        value = value * 58 + _B58_INDEX[char]
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(text) - len(text.lstrip("1"))) + raw
    if len(raw) < 5:
        return False
    payload, checksum = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def bech32(text: str) -> bool:
    """A Bech32 or Bech32m string (SegWit addresses, ``bc1…``): the BCH checksum holds.

    >>> bech32("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    True
    """
    if text.lower() != text and text.upper() != text:
        return False
    lowered = text.lower()
    hrp, sep, data = lowered.rpartition("1")
    if not sep or not hrp or len(data) < 6 or any(c not in _BECH32 for c in data):
        return False
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    values += [_BECH32.index(c) for c in data]
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_BECH32_GEN):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum in {1, 0x2BC830A3}


def crypto_wallet(text: str) -> bool:
    """A Bitcoin address (Base58Check or Bech32) or a 0x-prefixed 40-hex Ethereum address."""
    if text.startswith(("0x", "0X")):
        return len(text) == 42 and all(c in string.hexdigits for c in text[2:])
    if text[:3].lower() in {"bc1", "tb1"}:
        return bech32(text)
    return base58check(text)


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def jwt(text: str) -> bool:
    """A JSON Web Token: three dot-separated parts whose header decodes to JSON with ``alg``."""
    parts = text.split(".")
    if len(parts) != 3:
        return False
    try:
        header = _b64url_json(parts[0])
    except (ValueError, binascii.Error):
        return False
    return isinstance(header, dict) and "alg" in header


def basic_auth(text: str) -> bool:
    """A Basic credential: either ``user:password`` or base64 of it."""
    if ":" in text:
        return True
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error):
        return False
    return b":" in decoded


_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
)


def ip_address(text: str) -> bool:
    """An IPv4 or IPv6 address that :mod:`ipaddress` accepts (not the bare ``::``)."""
    if _IPV4.fullmatch(text):  # the common case, without ipaddress's 20 us per call
        return True
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (address.version == 6 and text.strip(":") == "")


def mac_address(text: str) -> bool:
    """A MAC address written with one consistent separator."""
    separators = {c for c in text if not c.isalnum()}
    return len(separators) == 1


def phone(text: str) -> bool:
    """A phone number: 10–15 digits that are not all the same.

    >>> phone("(555) 010-0199"), phone("001-555-010-0199x12345"), phone("000-000-0000")
    (True, True, False)
    """
    number = digits(_EXTENSION.split(text, maxsplit=1)[0])
    return 10 <= len(number) <= 15 and len(set(number)) > 1


_EXTENSION = re.compile(r"x|ext", re.IGNORECASE)


# Values that are placeholders for "no secret here", not secrets.
_SECRET_PLACEHOLDERS = frozenset(
    {"", "null", "none", "nil", "true", "false", "undefined", "n/a", "na", "empty", "redacted"}
)


def secret_value(text: str) -> bool:
    """A value assigned to a secret-looking key that is not an empty placeholder.

    >>> secret_value("hunter2"), secret_value("null"), secret_value("********")
    (True, False, False)
    """
    value = text.strip("\"'`<>[](){}")
    if value.lower() in _SECRET_PLACEHOLDERS or set(value) <= set("*xX.<>-_"):
        return False
    return len(value) >= 3


# Validators by short name, used in explanations ("pattern visa_16 + Luhn valid").
VALIDATOR_LABELS: Mapping[Validator, str] = {
    luhn: "Luhn",
    credit_card: "Luhn+IIN",
    iban: "mod-97",
    us_ssn: "SSA area/group rules",
    us_itin: "ITIN area/group rules",
    us_npi: "NPI Luhn (80840)",
    us_mbi: "MBI structure",
    uk_nhs: "NHS mod-11",
    uk_nino: "NINO prefix rules",
    aba_routing: "ABA checksum",
    crypto_wallet: "address checksum",
    jwt: "JWT header",
    basic_auth: "user:password form",
    ip_address: "address syntax",
    mac_address: "separator rules",
    phone: "digit count",
    secret_value: "non-placeholder value",
}
