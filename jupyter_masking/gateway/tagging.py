"""Identity tags on every query: a sqlcommenter comment, and session settings per engine.

The comment follows the sqlcommenter spec (https://google.github.io/sqlcommenter/spec/):
keys sorted, keys and values URL-encoded, values in single quotes, appended at the end
of the statement. URL-encoding turns ``*``, ``/`` and quotes into ``%XX``, so a value
can never close the comment. The notebook path is left out on purpose: paths often
carry personal names and the comment lands in database logs.

>>> from jupyter_masking.identity import Identity
>>> sql_comment(Identity(user="alice", actor="ai:jupyter-ai", cell_id="c1"))
"/*actor='ai%3Ajupyter-ai',app='jupyter-masking',cell='c1',user='alice'*/"
>>> tag_sql("SELECT 1;", Identity(user="bob"))
"SELECT 1 /*actor='human',app='jupyter-masking',user='bob'*/"
"""

from __future__ import annotations

from urllib.parse import quote

from jupyter_masking.identity import Identity

APP = "jupyter-masking"


def _encode(text: str) -> str:
    return quote(text, safe="")


def sql_comment(identity: Identity) -> str:
    """The sqlcommenter comment naming who runs the query."""
    fields = {"user": identity.user, "actor": identity.actor, "app": APP}
    if identity.cell_id:
        fields["cell"] = identity.cell_id
    body = ",".join(f"{_encode(k)}='{_encode(v)}'" for k, v in sorted(fields.items()))
    return f"/*{body}*/"


def tag_sql(sql: str, identity: Identity) -> str:
    """``sql`` with the identity comment appended (before any trailing semicolon).

    When the last line holds a line comment, the tag goes on a new line so the line
    comment cannot swallow it.
    """
    body = sql.rstrip().rstrip(";").rstrip()
    last_line = body.rsplit("\n", 1)[-1]
    separator = "\n" if ("--" in last_line or "#" in last_line) else " "
    return f"{body}{separator}{sql_comment(identity)}"


def application_name(identity: Identity) -> str:
    """The ``application_name`` for PostgreSQL sessions: ``jupyter-masking:<user>``."""
    return f"{APP}:{identity.user}"
