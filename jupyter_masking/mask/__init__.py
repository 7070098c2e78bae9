"""Masking operators: a SQL form computed in the database, and presenters for realistic values.

Each operator masks inside the database (its SQL form); where realism needs it, a
presenter turns the database's tokens into realistic values in Python.
"""

from jupyter_masking.mask.spec import OPERATOR_NAMES, OperatorCall, parse_operator_call

__all__ = ["OPERATOR_NAMES", "OperatorCall", "parse_operator_call"]
