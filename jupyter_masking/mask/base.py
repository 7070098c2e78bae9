"""The operator contract: a pydantic ``Params`` model, a SQL form and a Python form.

Every operator masks inside the database through :meth:`Operator.sql`, and has a
vectorized :meth:`Operator.python` twin that gives the same final output as
SQL + presenter (for result scanning and tests). Operators know nothing about policies.

>>> from jupyter_masking.mask.operators import Partial
>>> Partial.from_params({"keep_last": -1})
Traceback (most recent call last):
...
ValueError: partial: keep_last must be >= 0
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlglot import exp

from jupyter_masking.errors import Refused
from jupyter_masking.mask.engines import Engine, engine_for
from jupyter_masking.mask.kinds import Kind, kind_of
from jupyter_masking.mask.spec import OperatorCall, did_you_mean
from jupyter_masking.mask.tokens import canonical_text, take_strings


class Params(BaseModel):
    """Base of every operator's parameters: strict types, unknown names refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoParams(Params):
    """For operators that take no parameters."""


@dataclass(frozen=True)
class SqlContext:
    """What an operator's SQL form needs to know about the column it masks.

    Attributes:
        dialect: sqlglot dialect of the target database (``mariadb`` is accepted for ``mysql``).
        data_class: The column's data class, e.g. ``pii.email``.
        subkey: ``MaskingKey.subkey(data_class)``; never shown by ``repr``.
        column_type: The column's SQL type when known; used to keep types usable.
    """

    dialect: str
    data_class: str
    subkey: str = field(repr=False)
    column_type: exp.DataType | None = None

    @property
    def engine(self) -> Engine:
        """The engine record for :attr:`dialect`."""
        return engine_for(self.dialect)

    @property
    def kind(self) -> Kind | None:
        """The kind of :attr:`column_type` (``None`` when unknown)."""
        return kind_of(self.column_type)


@dataclass(frozen=True)
class PyContext:
    """What an operator's Python form needs: the data class and its subkey."""

    data_class: str
    subkey: str = field(repr=False)


P = TypeVar("P", bound=Params)


class Operator(abc.ABC, Generic[P]):
    """One masking operator; subclasses set ``name``, ``Params`` and ``presents``.

    Attributes:
        name: The operator's name in policies (one of ``OPERATOR_NAMES``).
        Params: The pydantic model of its parameters.
        presents: Whether the SQL output is a token that needs :func:`present`.
        params: The validated parameters of this instance.
    """

    name: ClassVar[str]
    Params: ClassVar[type[Params]] = NoParams
    presents: ClassVar[bool] = False

    def __init__(self, params: P) -> None:
        self.params = params

    @classmethod
    def from_params(cls, raw: Mapping[str, Any]) -> Operator[P]:
        """Validate raw parameters; ``ValueError("partial: keep_last must be >= 0")`` style."""
        try:
            params = cls.Params.model_validate(dict(raw))
        except ValidationError as error:
            reasons = "; ".join(_readable(e, cls.Params) for e in error.errors())
            raise ValueError(f"{cls.name}: {reasons}") from None
        return cls(params)  # type: ignore[arg-type]

    @abc.abstractmethod
    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """The masked value of ``column`` as a sqlglot expression for ``ctx.dialect``."""

    @abc.abstractmethod
    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """The same final output as SQL (+ presenter), computed per distinct value."""

    def describe(self) -> str:
        """``name(param=value, ...)`` with the non-default parameters."""
        return str(OperatorCall(self.name, self.params.model_dump(exclude_defaults=True)))

    def __repr__(self) -> str:
        return f"<operator {self.describe()}>"

    def refuse(self, kind: Kind | None, wants: str) -> Refused:
        """The error for a column whose kind this operator cannot mask."""
        return Refused(
            f"{self.describe()} cannot mask a {kind or 'untyped'} column; it needs {wants}",
            hint="choose another operator for this class in the policy",
            construct=self.name,
        )


def map_text(values: pd.Series, fn: Callable[[str], str]) -> pd.Series:
    """``fn`` over the canonical text of each distinct value; a ``str`` Series, NULLs kept.

    >>> map_text(pd.Series([1234, None, 1234]), lambda t: t[::-1]).tolist()
    ['4321', nan, '4321']
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return take_strings([fn(canonical_text(v)) for v in uniques], codes, values.index)


def null_like(values: pd.Series) -> pd.Series:
    """All-missing values of a type that can hold missing values (int64 becomes Int64)."""
    dtype: Any = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        dtype = pd.BooleanDtype()
    elif pd.api.types.is_integer_dtype(dtype):
        dtype = pd.Int64Dtype()
    missing: list[Any] = [None] * len(values)
    out: pd.Series = pd.Series(pd.array(missing, dtype=dtype), index=values.index)
    return out


_MESSAGES: dict[str, str] = {
    "greater_than_equal": "{field} must be >= {ge}",
    "less_than_equal": "{field} must be <= {le}",
    "greater_than": "{field} must be > {gt}",
    "less_than": "{field} must be < {lt}",
    "int_type": "{field} must be an integer",
    "string_type": "{field} must be a string",
    "string_too_short": "{field} must be at least {min_length} character(s)",
    "string_too_long": "{field} must be at most {max_length} character(s)",
    "literal_error": "{field} must be one of {expected}",
}


def _readable(error: Any, model: type[BaseModel]) -> str:
    field_name = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        known = tuple(model.model_fields)
        hint = did_you_mean(field_name, known) or f" (known: {', '.join(known) or 'none'})"
        return f"unknown parameter {field_name!r}{hint}"
    template = _MESSAGES.get(kind)
    if template is not None:
        return template.format(field=field_name, **error.get("ctx", {}))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field_name}: {message}" if field_name else message
