"""The second net on Spark, which has no read-only transactions: one plain query or nothing.

Every final statement is checked just before Spark sees it.

``spark.sql()`` runs commands (INSERT, CREATE, CACHE, ADD JAR ...) the moment it is
called, so the gateway cannot rely on the engine to stop a write. The analyzer refuses
them first; this module checks the final SQL again, with sqlglot and, on local sessions,
with Spark's own parser (the parser Spark will use, so a parser difference between
sqlglot and Spark cannot smuggle a command through).

>>> check_statement("SELECT a FROM t /*user='x'*/")
>>> check_statement("SELECT TRANSFORM(a) USING 'cat' AS (b) FROM t")
Traceback (most recent call last):
...
jupyter_masking.errors.Refused: refused: script transforms run programs on the cluster \
(TRANSFORM ... USING). Hint: remove TRANSFORM ... USING; use SQL functions
"""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp

from jupyter_masking.errors import Refused
from jupyter_masking.sql.analyze import REFUSED_NODES

#: Spark logical plan node classes that are not plain reads.
PLAN_DENY = re.compile(
    r"Command|Statement|Insert|ScriptTransformation|Create|Drop|Alter|Cache|Refresh|Reset"
    r"|SetCatalog|SetNamespace|SetVariable|Show|Describe|Analyze|Load|Truncate|Repair|Merge"
    r"|Delete|Update|Call|Execute|Declare|Comment|Use"
)
_NOT_A_READ = "only plain SELECT queries run on Spark"


def check_statement(sql: str, spark: Any = None) -> None:
    """Refuse ``sql`` unless it is exactly one plain query.

    Args:
        sql: The final statement (identity comment included).
        spark: A local (classic) PySpark session whose parser checks it again, or ``None``.

    Raises:
        Refused: naming the construct.
    """
    try:
        statements = [s for s in sqlglot.parse(sql, read="spark") if s is not None]
    except sqlglot.errors.SqlglotError:
        raise Refused(_NOT_A_READ, construct="unparseable statement") from None
    if len(statements) != 1:
        raise Refused(_NOT_A_READ, construct=f"{len(statements)} statements")
    statement = statements[0]
    for node in statement.walk():
        if isinstance(node, exp.QueryTransform):
            raise Refused(
                "script transforms run programs on the cluster",
                construct="TRANSFORM ... USING",
                hint="remove TRANSFORM ... USING; use SQL functions",
            )
        refused = REFUSED_NODES.get(type(node))
        if refused is not None or isinstance(node, exp.Command):
            raise Refused(_NOT_A_READ, construct=refused[0] if refused else node.name.upper())
    if not isinstance(statement, (exp.Select, exp.SetOperation, exp.Subquery)):
        raise Refused(_NOT_A_READ, construct=type(statement).__name__.upper())
    if spark is not None:
        _check_plan(spark, sql)


def _check_plan(spark: Any, sql: str) -> None:
    """Walk Spark's parsed (unresolved) plan; refuse command and script nodes."""
    plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(sql)
    pending = [plan]
    while pending:
        node = pending.pop()
        name = str(node.getClass().getSimpleName())
        if PLAN_DENY.search(name):
            raise Refused(_NOT_A_READ, construct=name)
        children = node.children()
        pending.extend(children.apply(i) for i in range(children.size()))
