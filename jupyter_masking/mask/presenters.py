"""Presenters: pseudonym tokens → realistic values per data class, per distinct token.

Each presenter reads bits of the token (never the raw value) and builds a value that looks
like the class but is safe by construction: reserved domains, the fictional 555-01xx phone
range, a test card BIN with a valid Luhn digit, IBANs with a valid mod-97 check, IPs in the
documentation ranges, SSNs in the never-issued 9xx area, birth dates as ISO text in
1940-2005. Work is vectorized (numpy + arrow) over distinct tokens, or over every row
when a sample shows nearly all are distinct (deduplicating would then only cost a hash
pass); NULLs stay NULL. Tokens that are not hex digests raise ``ValueError``.

>>> present("pii.email", pd.Series(["0" * 64, None])).tolist()
['aaron.abbott0@example.com', nan]
>>> present("financial.credit_card", pd.Series(["15" + "ab" * 32])).tolist()
['411111069444428']
"""

from __future__ import annotations

import binascii
import functools
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

_HEX_BYTES = pa.array([f"{i:02x}" for i in range(256)])
_UPPER = pa.array([chr(c) for c in range(ord("A"), ord("Z") + 1)])
_WORD_BITS = 64


@functools.cache
def _lower(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(word.lower() for word in words)


@functools.cache
def _arrow_words(words: tuple[str, ...]) -> pa.Array:
    return pa.array(words, pa.string())


@dataclass(frozen=True)
class Tokens:
    """Distinct tokens of one class: the digest as four 64-bit words, plus the raw text.

    Attributes:
        text: The tokens, as an arrow large-string array without NULLs.
        raw: ``(n, width + 64)`` uint8 matrix of the tokens' bytes.
        words: ``(n, 4)`` uint64 matrix: the 256-bit digest, most significant word first.
        width: Characters of the shape prefix (0 for classes without one).
    """

    text: pa.Array
    raw: np.ndarray
    words: np.ndarray
    width: int

    def __len__(self) -> int:
        return len(self.text)

    @functools.cached_property
    def digest(self) -> pa.Array:
        """The 64-hex digest part, as an arrow string array."""
        end = self.width + DIGEST_WIDTH
        return pc.utf8_slice_codeunits(self.text, self.width, end).cast(pa.string())

    @functools.cached_property
    def shape(self) -> pa.Array | None:
        """The shape prefix per token, or ``None`` for classes without one."""
        if not self.width:
            return None
        return pc.utf8_slice_codeunits(self.text, 0, self.width).cast(pa.string())

    def number(self, start: int, count: int) -> np.ndarray:
        """The integer formed by ``count`` (<= 15) hex digits from ``start``, per token."""
        if not 0 < count <= 15 or not 0 <= start <= DIGEST_WIDTH - count:
            raise ValueError(f"no {count} hex digits at {start} in a digest")
        first, last = start // 16, (start + count - 1) // 16
        if first == last:
            shift = np.uint64(4 * (16 - (start + count - 16 * first)))
            within: np.ndarray = (self.words[:, first] >> shift) & np.uint64((1 << 4 * count) - 1)
            return within
        high_count = 16 * last - start
        low_count = count - high_count
        high = self.words[:, first] & np.uint64((1 << 4 * high_count) - 1)
        low = self.words[:, last] >> np.uint64(_WORD_BITS - 4 * low_count)
        across: np.ndarray = (high << np.uint64(4 * low_count)) | low
        return across

    def pick(self, words: tuple[str, ...], start: int) -> pa.Array:
        """A word per token, indexed by 8 hex digits from ``start``."""
        index = self.number(start, 8) % np.uint64(len(words))
        return _arrow_words(words).take(pa.array(index.astype(np.int64)))


def _parse(uniques: pa.Array, width: int) -> Tokens:
    array = uniques.cast(pa.large_string())
    if array.null_count:
        raise ValueError("tokens to present must not contain NULLs here")
    size = width + DIGEST_WIDTH
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    if len(array) and not (np.diff(offsets) == size).all():
        raise ValueError("value is not a masking token (wrong length); refusing to present it")
    data = (
        np.frombuffer(array.buffers()[2], dtype=np.uint8) if len(array) else np.empty(0, np.uint8)
    )
    raw = data[offsets[0] : offsets[-1]].reshape(len(array), size)
    try:
        digests = binascii.unhexlify(np.ascontiguousarray(raw[:, width:]).data)
    except binascii.Error:
        raise ValueError("value is not a masking token (not hex); refusing to present it") from None
    words = np.frombuffer(digests, dtype=">u8").astype(np.uint64)
    return Tokens(array, raw, words.reshape(len(array), 4), width)


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _digits(values: np.ndarray, width: int) -> pa.Array:
    text = pa.array(values.astype(np.int64)).cast(pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width > 1 else text


def _person_name(t: Tokens) -> pa.Array:
    initial = _UPPER.take(pa.array((t.number(16, 2) % np.uint64(26)).astype(np.int64)))
    return _join(t.pick(first_names(), 0), " ", initial, ". ", t.pick(last_names(), 8))


def _email(t: Tokens) -> pa.Array:
    suffix = _digits(t.number(18, 6) % np.uint64(1_000_000), 1)
    domain = pa.array(EMAIL_DOMAINS).take(
        pa.array((t.number(24, 2) % np.uint64(3)).astype(np.int64))
    )
    first = t.pick(_lower(first_names()), 0)
    last = t.pick(_lower(last_names()), 8)
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
_BIRTH_EPOCH_DAY = int((BIRTH_FIRST - np.datetime64("1970-01-01")).astype(int))


def _date_of_birth(t: Tokens) -> pa.Array:
    days = (t.number(0, 8) % np.uint64(BIRTH_DAYS)).astype(np.int32) + _BIRTH_EPOCH_DAY
    return pa.array(days, pa.date32()).cast(pa.string())


# Luhn: a doubled digit contributes the digit sum of its double.
_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)


def _luhn_check(digits: np.ndarray) -> np.ndarray:
    """Check digit for each row of payload ``digits`` (leftmost first)."""
    backwards = digits[:, ::-1].astype(np.int64)
    total = _DOUBLED[backwards[:, ::2]].sum(axis=1) + backwards[:, 1::2].sum(axis=1)
    checks: np.ndarray = (10 - total % 10) % 10
    return checks


def _fixed(matrix: np.ndarray) -> pa.Array:
    """Rows of an ``(n, width)`` matrix of ASCII codes as a string array (no copy per row)."""
    count, width = matrix.shape
    offsets = np.arange(0, count * width + 1, width, dtype=np.int32)
    data = np.ascontiguousarray(matrix, dtype=np.uint8)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))


def _digit_codes(values: np.ndarray, width: int) -> np.ndarray:
    """``values`` as ``width`` zero-padded decimal digits: an ``(n, width)`` matrix of ASCII."""
    text = _digits(values, width).cast(pa.large_string())
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8) if len(text) else np.empty(0, np.uint8)
    return data[: len(text) * width].reshape(len(text), width)


_ZERO = ord("0")


def _card_lengths(t: Tokens) -> np.ndarray:
    """The digit count each card pseudonym keeps: the shape prefix when it says 12-19."""
    lengths = np.full(len(t), int(DEFAULT_CARD_LENGTH), dtype=np.int64)
    if t.width != 2:
        return lengths
    digits = t.raw[:, :2].astype(np.int64) - _ZERO
    number = digits[:, 0] * 10 + digits[:, 1]
    valid = ((digits >= 0) & (digits <= 9)).all(axis=1) & (number >= 12) & (number <= 19)
    lengths[valid] = number[valid]
    return lengths


_CARD_BIN = np.frombuffer(TEST_CARD_BIN.encode("ascii"), dtype=np.uint8)


def _card(t: Tokens) -> pa.Array:
    lengths = _card_lengths(t)
    numbers = t.number(0, 15)
    rows_by_length, parts = [], []
    for length in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == length)
        body_width = int(length) - len(TEST_CARD_BIN) - 1
        body = _digit_codes(numbers[rows] % np.uint64(10**body_width), body_width)
        payload = np.hstack([np.tile(_CARD_BIN, (len(rows), 1)), body])
        check = (_luhn_check(payload - _ZERO) + _ZERO).astype(np.uint8)
        parts.append(_fixed(np.hstack([payload, check[:, None]])))
        rows_by_length.append(rows)
    if len(parts) == 1:
        return parts[0]
    order = np.argsort(np.concatenate(rows_by_length), kind="stable")
    return pa.concat_arrays(parts).take(pa.array(order))


def _iban(t: Tokens) -> pa.Array:
    bban = t.number(0, 15) % np.uint64(10**18)
    # mod 97 of the digits bban + country letters as numbers + "00", without a digit matrix
    country = int("".join(str(ord(c) - ord("A") + 10) for c in IBAN_COUNTRY) + "00")
    scale = 10 ** len(str(country)) % 97
    remainder = ((bban % np.uint64(97)) * np.uint64(scale) + np.uint64(country % 97)) % np.uint64(
        97
    )
    return _join(IBAN_COUNTRY, _digits(98 - remainder.astype(np.int64), 2), _digits(bban, 18))


def _ip(t: Tokens) -> pa.Array:
    net = pa.array(IPV4_NETS).take(pa.array((t.number(0, 4) % np.uint64(3)).astype(np.int64)))
    v4 = _join(net, _digits(1 + t.number(4, 4) % np.uint64(254), 1))
    if t.width != 1:
        return v4
    six = t.raw[:, 0] == ord("6")
    if not six.any():
        return v4
    digest = t.digest.filter(pa.array(six))
    groups = [pc.utf8_slice_codeunits(digest, 8 + 4 * i, 12 + 4 * i) for i in range(6)]
    v6 = pc.binary_join_element_wise("2001:db8", *groups, ":")
    return pc.replace_with_mask(v4, pa.array(six), v6.cast(v4.type))


def _mac(t: Tokens) -> pa.Array:
    octets = [t.number(2 * i, 2).astype(np.int64) for i in range(6)]
    octets[0] = (octets[0] & 0xFC) | 0x02  # locally administered, unicast
    return pc.binary_join_element_wise(*[_HEX_BYTES.take(pa.array(o)) for o in octets], ":")


def _url(t: Tokens) -> pa.Array:
    last = t.pick(_lower(last_names()), 0)
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
    codes, uniques = _factorized(tokens)
    parsed = _parse(uniques, shape_width(data_class))
    values = presenter_for(data_class)(parsed) if len(parsed) else pa.array([], pa.string())
    return take_strings(values, codes, tokens.index)


def _factorized(tokens: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Codes into the distinct tokens (-1 for missing) and those tokens, in arrow."""
    try:
        array = pa.array(tokens, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise ValueError(
            "value is not a masking token (not text); refusing to present it"
        ) from None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if _all_distinct(array):  # deduplicating would cost a hash pass and save nothing
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        codes = np.full(len(array), -1, dtype=np.int64)
        codes[valid] = np.arange(int(valid.sum()), dtype=np.int64)
        return codes, array if valid.all() else array.filter(pa.array(valid))
    encoded = pc.dictionary_encode(array)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary


# A column is presented row by row (no deduplication) when an evenly spread sample of
# this many values holds at most _SAMPLE_REPEATS repeats: then nearly every value is
# distinct (a column whose values each occur twice shows ~8 repeats in 1M rows).
_SAMPLE = 4096
_SAMPLE_REPEATS = 2


def _all_distinct(array: pa.Array) -> bool:
    if len(array) < 4 * _SAMPLE:
        return False
    sample = array.take(pa.array(np.linspace(0, len(array) - 1, _SAMPLE).astype(np.int64)))
    present_values = sample.drop_null()
    distinct = pc.count_distinct(present_values).as_py()
    return bool(len(present_values) - distinct <= _SAMPLE_REPEATS)
