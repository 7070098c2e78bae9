"""Pseudonym tokens: a short shape prefix, then the 64-hex keyed digest.

A few classes need one fact about the raw value to look right after presenting:
a card's digit count (13-19, default 16) and an IP address's version. The SQL form
computes that fact in the database as a fixed-width prefix; Python computes the same.
Other classes have no prefix, so their pseudonym token is the plain digest token.

>>> pseudonym_tokens(pd.Series(["4111 1111 1111 1111"]), "financial.credit_card", "0" * 64)[0][:4]
'16ed'
>>> SHAPES["pii.ip_address"].python("2001:db8::1")
'6'
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlglot import exp

from jupyter_masking.mask.engines import Engine, call, concat
from jupyter_masking.mask.kinds import Kind
from jupyter_masking.mask.tokens import canonical_text, take_strings, token_sql

DEFAULT_CARD_LENGTH = "16"


@dataclass(frozen=True)
class Shape:
    """A fixed-width fact about the raw value, kept in front of the token.

    Attributes:
        width: Number of characters of the prefix.
        sql: Canonical text expression → prefix expression.
        python: Canonical text → prefix.
    """

    width: int
    sql: Callable[[exp.Expression], exp.Expression]
    python: Callable[[str], str]


def _card_digits_sql(text: exp.Expression) -> exp.Expression:
    stripped = call("REPLACE", call("REPLACE", text, " ", ""), "-", "")
    length = exp.Length(this=stripped)
    return (
        exp.case()
        .when(
            exp.Between(this=length, low=exp.Literal.number(12), high=exp.Literal.number(19)),
            exp.cast(length.copy(), exp.DataType.build("text")),
        )
        .else_(exp.Literal.string(DEFAULT_CARD_LENGTH))
    )


def _card_digits(text: str) -> str:
    length = len(text.replace(" ", "").replace("-", ""))
    return str(length) if 12 <= length <= 19 else DEFAULT_CARD_LENGTH


def _ip_version_sql(text: exp.Expression) -> exp.Expression:
    has_colon = exp.GT(
        this=exp.StrPosition(this=text, substr=exp.Literal.string(":")),
        expression=exp.Literal.number(0),
    )
    return exp.case().when(has_colon, exp.Literal.string("6")).else_(exp.Literal.string("4"))


SHAPES: dict[str, Shape] = {
    "financial.credit_card": Shape(2, _card_digits_sql, _card_digits),
    "pii.ip_address": Shape(1, _ip_version_sql, lambda text: "6" if ":" in text else "4"),
}


def shape_width(data_class: str) -> int:
    """The prefix width of a class's pseudonym tokens (0 for most classes)."""
    shape = SHAPES.get(data_class)
    return shape.width if shape else 0


def pseudonym_token_sql(
    column: exp.Expression, data_class: str, subkey: str, engine: Engine, kind: Kind | None
) -> exp.Expression:
    """SQL for the pseudonym token of ``column`` (shape prefix + digest; NULL stays NULL)."""
    digest = token_sql(column, subkey, engine, kind)
    shape = SHAPES.get(data_class)
    if shape is None:
        return digest
    return concat(shape.sql(engine.canonical_text(column.copy(), kind)), digest)


def pseudonym_tokens(values: pd.Series, data_class: str, subkey: str) -> pd.Series:
    """The Python twin of :func:`pseudonym_token_sql`, once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [v if type(v) is str else canonical_text(v) for v in uniques.tolist()]
    keyed = hashlib.sha256(subkey.encode("utf-8"))  # token(): sha256(subkey || text)

    def digest(text: str) -> str:
        state = keyed.copy()
        state.update(text.encode("utf-8"))
        return state.hexdigest()

    shape = SHAPES.get(data_class)
    if shape is None:
        return take_strings([digest(t) for t in texts], codes, values.index)
    return take_strings([shape.python(t) + digest(t) for t in texts], codes, values.index)
