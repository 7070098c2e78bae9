"""Policy-as-code: who sees which data class raw, masked (and how) or not at all.

Policies are YAML files (or directories of them) validated with pydantic; the
engine turns (identity, data class) into a :class:`Decision` with the rule that
decided and a sentence saying why. See ``decide.py`` for the semantics and
``effect.py`` for the permissiveness order.

>>> from jupyter_masking.identity import Identity
>>> PolicyEngine.builtin().decide(Identity("bob"), "gov_id.us_ssn").label
'mask:partial(keep_last=4)'
"""

from jupyter_masking.policy.decide import Decision
from jupyter_masking.policy.effect import PERMISSIVENESS, Effect, parse_effect
from jupyter_masking.policy.engine import BUILTIN_PATH, PolicyEngine, PolicyHolder
from jupyter_masking.policy.load import LoadedPolicy, load_policy, read_policy
from jupyter_masking.policy.problems import Problem

__all__ = [
    "BUILTIN_PATH",
    "PERMISSIVENESS",
    "Decision",
    "Effect",
    "LoadedPolicy",
    "PolicyEngine",
    "PolicyHolder",
    "Problem",
    "load_policy",
    "parse_effect",
    "read_policy",
]
