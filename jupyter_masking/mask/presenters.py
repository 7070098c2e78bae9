"""Presenters: pseudonym tokens → realistic values per data class, per distinct token.

Each presenter reads bits of the token (never the raw value) and builds a value that looks
like the class but is safe by construction: reserved domains, the fictional 555-01xx phone
range, a test card BIN with a valid Luhn digit, IBANs with a valid mod-97 check, IPs in the
documentation ranges, SSNs in the never-issued 9xx area, birth dates as ISO text in
1940-2005. Work is vectorized (numpy + arrow)
over distinct tokens; NULLs stay NULL. Tokens that are not hex digests raise ``ValueError``.

>>> present("pii.email", pd.Series(["0" * 64, None])).tolist()
['aaron.abbott0@example.com', nan]
>>> present("financial.credit_card", pd.Series(["15" + "ab" * 32])).tolist()
['411111069444428']
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

from jupyter_masking.mask.shapes import DEFAULT_CARD_LENGTH, shape_width
from jupyter_masking.mask.tokens import take_strings
from jupyter_masking.mask.wordlists import first_names, last_names

DIGEST_WIDTH = 64
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
IPV4_NETS = ("192.0.2.", "198.51.100.", "203.0.113.")
TEST_CARD_BIN = "411111"
IBAN_COUNTRY = "DE"

_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF", start=10):
    _NIBBLE[_c] = _i
_HEX_BYTES = pa.array([f"{i:02x}" for i in range(256)])
_UPPER = pa.array([chr(c) for c in range(ord("A"), ord("Z") + 1)])


@dataclass(frozen=True)
class Tokens:
    """Distinct tokens of one class, split into shape prefix and digest nibbles.

    Attributes:
        digest: The 64-hex digest part, as an arrow string array.
        nibbles: ``(n, 64)`` uint8 matrix of the digest's hex digits.
        shape: The shape prefix per token, or ``None`` for classes without one.
    """

    digest: pa.Array
    nibbles: np.ndarray
    shape: pa.Array | None

    def __len__(self) -> int:
        return len(self.digest)

    def number(self, start: int, count: int) -> np.ndarray:
        """The integer formed by ``count`` (<= 15) hex digits from ``start``, per token."""
        out = np.zeros(len(self), dtype=np.uint64)
        for column in range(start, start + count):
            out = (out << np.uint64(4)) | self.nibbles[:, column].astype(np.uint64)
        return out

    def pick(self, words: tuple[str, ...], start: int) -> pa.Array:
        """A word per token, indexed by 8 hex digits from ``start``."""
        index = self.number(start, 8) % np.uint64(len(words))
        return pa.array(words).take(pa.array(index.astype(np.int64)))


def _parse(uniques: pa.Array, width: int) -> Tokens:
    array = uniques.cast(pa.large_string())
    if array.null_count:
        raise ValueError("tokens to present must not contain NULLs here")
    lengths = pc.binary_length(array).to_numpy(zero_copy_only=False)
    if len(array) and not (lengths == width + DIGEST_WIDTH).all():
        raise ValueError("value is not a masking token (wrong length); refusing to present it")
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    data = (
        np.frombuffer(array.buffers()[2], dtype=np.uint8) if len(array) else np.empty(0, np.uint8)
    )
    raw = data[offsets[0] : offsets[-1]].reshape(len(array), width + DIGEST_WIDTH)
    nibbles = _NIBBLE[raw[:, width:]]
    if nibbles.size and nibbles.max() > 15:
        raise ValueError("value is not a masking token (not hex); refusing to present it")
    digest = pc.utf8_slice_codeunits(array, width, width + DIGEST_WIDTH).cast(pa.string())
    shape = pc.utf8_slice_codeunits(array, 0, width).cast(pa.string()) if width else None
    return Tokens(digest, nibbles, shape)


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _digits(values: np.ndarray, width: int) -> pa.Array:
    text = pa.array(values.astype(np.int64)).cast(pa.string())
    return pc.utf8_lpad(text, width=width, padding="0")


def _person_name(t: Tokens) -> pa.Array:
    initial = _UPPER.take(pa.array((t.number(16, 2) % np.uint64(26)).astype(np.int64)))
    return _join(t.pick(first_names(), 0), " ", initial, ". ", t.pick(last_names(), 8))


def _email(t: Tokens) -> pa.Array:
    suffix = _digits(t.number(18, 6) % np.uint64(1_000_000), 1)
    domain = pa.array(EMAIL_DOMAINS).take(
        pa.array((t.number(24, 2) % np.uint64(3)).astype(np.int64))
    )
    first = pc.utf8_lower(t.pick(first_names(), 0))
    last = pc.utf8_lower(t.pick(last_names(), 8))
    return _join(first, ".", last, suffix, "@", domain)


def _phone(t: Tokens) -> pa.Array:
    npa = 200 + (t.number(0, 4) % np.uint64(8)) * np.uint64(100)
    npa = npa + (t.number(4, 4) % np.uint64(9)) * np.uint64(10) + t.number(8, 4) % np.uint64(10)
    return _join("+1-", _digits(npa, 3), "-555-01", _digits(t.number(12, 4) % np.uint64(100), 2))


def _ssn(t: Tokens) -> pa.Array:
    area = 900 + t.number(0, 4) % np.uint64(100)
    group = 1 + t.number(4, 4) % np.uint64(99)
    serial = 1 + t.number(8, 4) % np.uint64(9999)
    return _join(_digits(area, 3), "-", _digits(group, 2), "-", _digits(serial, 4))


BIRTH_FIRST = np.datetime64("1940-01-01")
BIRTH_DAYS = int((np.datetime64("2006-01-01") - BIRTH_FIRST).astype(int))


def _date_of_birth(t: Tokens) -> pa.Array:
    days = (t.number(0, 8) % np.uint64(BIRTH_DAYS)).astype("timedelta64[D]")
    return pa.array(np.datetime_as_string(BIRTH_FIRST + days, unit="D").tolist(), pa.string())


def _luhn_check(digits: np.ndarray) -> np.ndarray:
    """Check digit for each row of payload ``digits`` (leftmost first)."""
    doubled = digits[:, ::-1].copy()
    doubled[:, ::2] *= 2
    doubled[doubled > 9] -= 9
    checks: np.ndarray = (10 - doubled.sum(axis=1) % 10) % 10
    return checks


def _to_digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    matrix = np.zeros((len(values), width), dtype=np.int64)
    rest = values.astype(np.uint64)
    for column in range(width - 1, -1, -1):
        matrix[:, column] = (rest % np.uint64(10)).astype(np.int64)
        rest = rest // np.uint64(10)
    return matrix


def _card(t: Tokens) -> pa.Array:
    shape = t.shape.to_numpy(zero_copy_only=False) if t.shape is not None else None
    lengths = np.full(len(t), int(DEFAULT_CARD_LENGTH), dtype=np.int64)
    if shape is not None:
        valid = np.array([s.isdigit() and 12 <= int(s) <= 19 for s in shape], dtype=bool)
        lengths[valid] = [int(s) for s in shape[valid]]
    out = np.empty(len(t), dtype=object)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        body_width = int(length) - len(TEST_CARD_BIN) - 1
        body = t.number(0, 15)[rows] % np.uint64(10**body_width)
        bin_digits = np.tile(np.array([int(c) for c in TEST_CARD_BIN]), (len(rows), 1))
        payload = np.hstack([bin_digits, _to_digit_matrix(body, body_width)])
        numbers = _join(TEST_CARD_BIN, _digits(body, body_width), _digits(_luhn_check(payload), 1))
        out[rows] = numbers.to_numpy(zero_copy_only=False)
    return pa.array(out, type=pa.string())


def _iban(t: Tokens) -> pa.Array:
    bban = t.number(0, 15) % np.uint64(10**18)
    country = "".join(str(ord(c) - ord("A") + 10) for c in IBAN_COUNTRY)
    country_digits = np.tile(np.array([int(d) for d in country]), (len(t), 1))
    digits = np.hstack([_to_digit_matrix(bban, 18), country_digits])
    remainder = np.zeros(len(t), dtype=np.int64)
    for column in range(digits.shape[1]):
        remainder = (remainder * 10 + digits[:, column]) % 97
    remainder = (remainder * 100) % 97  # the check digits' place, "00"
    return _join(IBAN_COUNTRY, _digits(98 - remainder, 2), _digits(bban, 18))


def _ip(t: Tokens) -> pa.Array:
    net = pa.array(IPV4_NETS).take(pa.array((t.number(0, 4) % np.uint64(3)).astype(np.int64)))
    v4 = _join(net, _digits(1 + t.number(4, 4) % np.uint64(254), 1))
    groups = [pc.utf8_slice_codeunits(t.digest, 8 + 4 * i, 12 + 4 * i) for i in range(6)]
    v6 = pc.binary_join_element_wise("2001:db8", *groups, ":")
    if t.shape is None:
        return v4
    return pc.if_else(pc.equal(t.shape, "6"), v6, v4)


def _mac(t: Tokens) -> pa.Array:
    octets = [
        (t.nibbles[:, 2 * i].astype(np.int64) << 4) | t.nibbles[:, 2 * i + 1] for i in range(6)
    ]
    octets[0] = (octets[0] & 0xFC) | 0x02  # locally administered, unicast
    return pc.binary_join_element_wise(*[_HEX_BYTES.take(pa.array(o)) for o in octets], ":")


def _url(t: Tokens) -> pa.Array:
    last = pc.utf8_lower(t.pick(last_names(), 0))
    return _join("https://example.com/", last, "/", pc.utf8_slice_codeunits(t.digest, 8, 16))


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

# class -> (prefix, alphabet, length, suffix): same-prefix fakes of the usual length.
SECRET_FAKES: dict[str, tuple[str, str, int, str]] = {
    "secret.aws_access_key": ("AKIA", BASE32, 9, "EXAMPLE"),
    "secret.github_token": ("ghp_", BASE62, 36, ""),
    "secret.gitlab_token": ("glpat-", BASE62, 20, ""),
    "secret.slack_token": ("xoxb-", BASE62, 40, ""),
    "secret.stripe_key": ("sk_test_", BASE62, 24, ""),
    "secret.openai_api_key": ("sk-", BASE62, 48, ""),
    "secret.anthropic_api_key": ("sk-ant-api03-", BASE62, 40, ""),
    "secret.huggingface_token": ("hf_", BASE62, 34, ""),
    "secret.npm_token": ("npm_", BASE62, 36, ""),
    "secret.pypi_token": ("pypi-", BASE62, 40, ""),
    "secret.sendgrid_key": ("SG.", BASE62, 43, ""),
}


def _secret_fake(data_class: str) -> Callable[[Tokens], pa.Array]:
    prefix, alphabet, length, suffix = SECRET_FAKES[data_class]

    def fake(t: Tokens) -> pa.Array:
        out = []
        for digest in t.digest.to_pylist():
            stream = hashlib.shake_256(digest.encode("ascii")).digest(length)
            out.append(prefix + "".join(alphabet[b % len(alphabet)] for b in stream) + suffix)
        return pa.array(out, type=pa.string())

    return fake


def _redacted(data_class: str) -> Callable[[Tokens], pa.Array]:
    return lambda t: pa.array([f"[REDACTED:{data_class}]"] * len(t), type=pa.string())


def _fallback(data_class: str) -> Callable[[Tokens], pa.Array]:
    family = data_class.split(".", 1)[0]
    return lambda t: _join(f"{family}_", pc.utf8_slice_codeunits(t.digest, 0, 12))


PRESENTERS: dict[str, Callable[[Tokens], pa.Array]] = {
    "pii.person_name": _person_name,
    "pii.email": _email,
    "pii.phone": _phone,
    "pii.date_of_birth": _date_of_birth,
    "pii.ip_address": _ip,
    "pii.mac_address": _mac,
    "pii.url": _url,
    "gov_id.us_ssn": _ssn,
    "financial.credit_card": _card,
    "financial.iban": _iban,
    **{name: _secret_fake(name) for name in SECRET_FAKES},
    **{
        name: _redacted(name)
        for name in ("secret.private_key", "secret.jwt", "secret.basic_auth", "secret.generic")
    },
}


def presenter_for(data_class: str) -> Callable[[Tokens], pa.Array]:
    """The presenter of a class; ``<family>_<first 12 hex>`` for classes without one."""
    found = PRESENTERS.get(data_class)
    if found is not None:
        return found
    if data_class.startswith("secret."):
        return _redacted(data_class)
    return _fallback(data_class)


def present(data_class: str, tokens: pd.Series) -> pd.Series:
    """Turn pseudonym tokens into realistic values of ``data_class``, per distinct token.

    Args:
        data_class: The class the tokens were computed for, e.g. ``pii.email``.
        tokens: Pseudonym tokens as the SQL form or :func:`pseudonym_tokens` made them.

    Returns:
        A ``str`` Series on the same index; missing tokens stay missing.
    """
    codes, uniques = pd.factorize(tokens, use_na_sentinel=True)
    try:
        unique_array = pa.array(uniques.to_numpy(dtype=object), type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise ValueError(
            "value is not a masking token (not text); refusing to present it"
        ) from None
    parsed = _parse(unique_array, shape_width(data_class))
    values = presenter_for(data_class)(parsed) if len(parsed) else pa.array([], pa.string())
    return take_strings(values, codes, tokens.index)
