"""The policy engine other modules call: decisions, column tags, reviewers, and safe reloads.

>>> from jupyter_masking.identity import Identity
>>> engine = PolicyEngine.builtin()
>>> engine.version.startswith("builtin@"), engine.unclassified
(True, 'scan')
>>> decision = engine.decide(Identity("alice", ("analysts",)), "pii.email")
>>> decision.label, decision.rule_id
('mask:pseudonym', 'builtin:pii.email')
>>> decision.reason
'pii.email is pseudonymised for alice (analysts) by builtin:pii.email'
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from jupyter_masking import classes
from jupyter_masking.errors import BadInput, PolicyError
from jupyter_masking.identity import Identity
from jupyter_masking.policy.columns import ColumnTags, split_path
from jupyter_masking.policy.decide import (
    CompiledRule,
    Decision,
    Names,
    class_index,
    compile_rule,
    decide_effect,
    when_matches,
)
from jupyter_masking.policy.effect import Effect, parse_effect
from jupyter_masking.policy.load import LoadedPolicy, best_class_keys, load_policy

log = logging.getLogger(__name__)

BUILTIN_PATH = Path(__file__).with_name("builtin.yaml")
# Decisions are cached per (user, groups, actor, class); the cache is dropped when this full.
CACHE_LIMIT = 65_536
# A class unknown to the built-in policy (a family added later) is still never raw.
LAST_RESORT = parse_effect("redact")


class PolicyEngine:
    """A loaded, compiled policy.

    Attributes:
        name: The policy name.
        version: ``<name>@<hash12>`` plus ``+git:<sha7>`` in a git work tree; ``builtin@<hash12>``.
        unclassified: ``scan`` (content detection on results) or ``raw`` for untagged columns.
        loaded: The validated policy and where each part is written.
    """

    def __init__(self, loaded: LoadedPolicy, *, builtin: bool = False) -> None:
        """Compile ``loaded``; classes it leaves out fall back to the built-in policy."""
        self.loaded = loaded
        self.name = loaded.name
        self.version = loaded.version
        self.unclassified: Literal["scan", "raw"] = loaded.policy.unclassified
        self._fallback = None if builtin else _builtin()
        self._prefix = "builtin" if builtin else "default"
        self.rules: tuple[CompiledRule, ...] = tuple(compile_rule(r) for r in loaded.policy.rules)
        self._index = class_index(self.rules)
        self._defaults = {name: self._default(name) for name in classes.ALL}
        self._columns = ColumnTags(loaded.policy.columns)
        reviewers = loaded.policy.reviewers
        self._reviewers = None
        if reviewers is not None:
            self._reviewers = (
                Names.of(reviewers.users) if reviewers.users is not None else None,
                Names.of(reviewers.groups) if reviewers.groups is not None else None,
                Names.of(reviewers.actor, colon_prefix=True),
            )
        self._cache: dict[tuple[str, tuple[str, ...], str, str], Decision] = {}
        self._tags: dict[str | tuple[str, ...], str | None] = {}

    @classmethod
    def load(cls, path: str | Path | None) -> PolicyEngine:
        """Load the policy at ``path`` (file or directory); ``None`` gives the built-in policy.

        Raises:
            PolicyError: The policy has an error; nothing is loaded.
        """
        if path is None:
            return cls.builtin()
        return cls(load_policy(path))

    @classmethod
    def builtin(cls) -> PolicyEngine:
        """The built-in policy: every class masked for everyone, no raw grants."""
        return _builtin()

    def decide(self, identity: Identity, data_class: str) -> Decision:
        """The decision for ``identity`` reading a column of ``data_class``.

        Unknown classes still get a masking decision (by family glob, else redact).
        """
        key = (identity.user, identity.groups, identity.actor, data_class)
        decision = self._cache.get(key)
        if decision is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            decision = self._cache[key] = self._decide(identity, data_class)
        return decision

    def _decide(self, identity: Identity, data_class: str) -> Decision:
        default = self._defaults.get(data_class) or self._default(data_class)
        rules = self._index.get(data_class)
        if rules is None:
            rules = class_index(self.rules, (data_class,))[data_class]
        effect, rule_id = decide_effect(default, rules, identity)
        reason = f"{data_class} is {effect.verb()} for {identity.describe()} by {rule_id}"
        return Decision(effect.kind, effect.operator, rule_id, reason, data_class)

    def default_for(self, data_class: str) -> tuple[Effect, str]:
        """The class default and its rule id (``default:<class>`` or ``builtin:<class>``)."""
        return self._defaults.get(data_class) or self._default(data_class)

    def _default(self, data_class: str) -> tuple[Effect, str]:
        entries = self.loaded.policy.classes
        best = best_class_keys(data_class, list(entries))
        if best:
            # Equal-specificity conflicts are load errors for known classes; for others be strict.
            effect = min((parse_effect(entries[k].default) for k in best), key=lambda e: e.rank)
            return effect, f"{self._prefix}:{data_class}"
        if self._fallback is not None:
            return self._fallback.default_for(data_class)
        return LAST_RESORT, f"builtin:{data_class}"

    def tagged_class(self, column_path: str | Sequence[str]) -> str | None:
        """The class ``columns:`` gives a column, or ``None``.

        Args:
            column_path: ``catalog.schema.table.column`` (double-quote parts holding dots)
                or the four parts as a sequence. Matching ignores case.

        Raises:
            BadInput: The path does not have four parts.
        """
        key = column_path if isinstance(column_path, str) else tuple(column_path)
        if key in self._tags:
            return self._tags[key]
        text = column_path if isinstance(column_path, str) else ".".join(column_path)
        parts = split_path(column_path)
        if len(parts) != 4 or not all(parts):
            raise BadInput(
                f"column path {text[:80]!r} must have four parts: catalog.schema.table.column"
            )
        found = self._columns.lookup(parts)
        if len(self._tags) >= CACHE_LIMIT:
            self._tags.clear()
        self._tags[key] = found
        return found

    def decide_column(
        self, identity: Identity, column_path: str | Sequence[str]
    ) -> Decision | None:
        """The decision for a tagged column, or ``None`` when ``columns:`` does not tag it."""
        data_class = self.tagged_class(column_path)
        return None if data_class is None else self.decide(identity, data_class)

    def is_reviewer(self, identity: Identity) -> bool:
        """Whether ``reviewers:`` names this user or one of their groups (and the actor fits)."""
        if self._reviewers is None:
            return False
        users, groups, actor = self._reviewers
        if not when_matches(None, None, actor, identity):
            return False
        return (users is not None and users.match(identity.user)) or (
            groups is not None and groups.match_any(identity.groups)
        )


@functools.cache
def _builtin() -> PolicyEngine:
    loaded = load_policy(BUILTIN_PATH, git=False)
    missing = [c for c in classes.ALL if c not in loaded.policy.classes]
    if missing:
        raise PolicyError(f"built-in policy lacks defaults for {', '.join(missing)}")
    return PolicyEngine(loaded, builtin=True)


class PolicyHolder:
    """The current good policy of a long-running process, reloadable without ever half-loading.

    Reading :attr:`engine` notices edits: at most every ``check_interval_s`` seconds it
    compares the policy files' modification stamps (one ``stat`` each) with those of the
    last load and reloads when they changed. A policy that no longer loads keeps the last
    good one serving; the problem is logged once per change and kept in :attr:`error`
    (``whoami`` reports it) until a later edit loads again.

    >>> holder = PolicyHolder(None)
    >>> holder.reload() is None, holder.engine.name, holder.error
    (True, 'builtin', None)
    """

    def __init__(self, path: str | Path | None, *, check_interval_s: float = 1.0) -> None:
        self.path = path
        self.check_interval_s = check_interval_s
        self.error: PolicyError | None = None
        self._stamp = _stamp(path)
        self._engine: PolicyEngine = PolicyEngine.load(path)
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    @property
    def engine(self) -> PolicyEngine:
        """The current good policy (reloaded first when its files changed)."""
        self.refresh()
        return self._engine

    def refresh(self, *, force: bool = False) -> PolicyError | None:
        """Reload if the files changed since the last load; return the current problem, if any."""
        if self.path is None:
            return None
        now = time.monotonic()
        if not force and now - self._checked < self.check_interval_s:
            return self.error
        self._checked = now
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return self.error
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                problem = self.reload()
                if problem is None:
                    log.info("policy reloaded: %s", self._engine.version)
                else:
                    log.error("policy not reloaded, keeping %s: %s", self._engine.version, problem)
        return self.error

    def reload(self) -> PolicyError | None:
        """Load the policy again; on error keep the last good one and return the error."""
        try:
            self._engine = PolicyEngine.load(self.path)
        except PolicyError as error:
            self.error = error
            return error
        except Exception as error:  # a loader bug must not stop a serving gateway either
            self.error = PolicyError(f"cannot load {self.path}: {type(error).__name__}")
            return self.error
        self.error = None
        return None


Stamp = tuple[tuple[str, int, int], ...] | None


def _stamp(path: str | Path | None) -> Stamp:
    """Name, mtime and size of the policy file or of the policy files in a directory."""
    if path is None:
        return None
    root = Path(path)
    try:
        files = sorted(p for p in root.iterdir() if p.is_file()) if root.is_dir() else [root]
        stats = [(str(p), p.stat()) for p in files]
    except OSError:
        return ()  # gone or unreadable: differs from any loaded stamp, so reload reports it
    return tuple((name, st.st_mtime_ns, st.st_size) for name, st in stats)
