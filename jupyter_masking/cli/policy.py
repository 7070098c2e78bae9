"""``jupyter-masking policy lint|test|explain|diff|builtin|schema``: policy-as-code tooling.

Exit statuses: 0 fine; 1 a policy test failed, ``diff`` found changes, or
``lint --strict`` found warnings; 2 the policy (or tests file) is malformed.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_masking.cli import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``policy`` and its subcommands."""
    parser = subparsers.add_parser(
        "policy",
        help="lint, test, explain and diff masking policies",
        description="Policy-as-code: check a policy, run its tests, show or compare decisions.",
    )
    commands = parser.add_subparsers(title="policy commands", metavar="COMMAND", required=True)

    lint = commands.add_parser(
        "lint", help="check policies; errors name file, line and field (exit 2 on errors)"
    )
    lint.add_argument("paths", nargs="+", metavar="PATH", help="policy file or directory")
    lint.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    _format_option(lint, "text")
    lint.set_defaults(func=run_lint)

    test = commands.add_parser(
        "test", help="check expected decisions; prints failures and 'N passed, M failed'"
    )
    test.add_argument("path", metavar="PATH", help="policy file or directory")
    test.add_argument("tests", metavar="TESTS.yaml", help="file of test cases")
    test.add_argument("-v", "--verbose", action="store_true", help="also print passing cases")
    test.set_defaults(func=run_test)

    explain = commands.add_parser(
        "explain", help="the decision for every data class for one identity"
    )
    explain.add_argument(
        "path", nargs="?", metavar="PATH", help="policy file or directory (default: built-in)"
    )
    explain.add_argument("--user", help="user name (default: the current user)")
    explain.add_argument(
        "--group", action="append", default=[], help="a group of the user (repeatable)"
    )
    explain.add_argument("--actor", default="human", help="'human' (default) or 'ai:<tool>'")
    explain.add_argument(
        "--class", dest="data_class", default="*", help="only classes matching this glob"
    )
    _format_option(explain, "table")
    explain.set_defaults(func=run_explain)

    diff = commands.add_parser(
        "diff", help="which identities and classes change decision (exit 1 when any do)"
    )
    diff.add_argument("old", metavar="OLD", help="the policy before (file or directory)")
    diff.add_argument("new", metavar="NEW", help="the policy after (file or directory)")
    diff.add_argument(
        "--rules", action="store_true", help="also list changes of the deciding rule alone"
    )
    _format_option(diff, "text")
    diff.set_defaults(func=run_diff)

    builtin = commands.add_parser("builtin", help="print the built-in policy (a starting point)")
    builtin.set_defaults(func=run_builtin)

    schema = commands.add_parser("schema", help="print the policy file's JSON Schema")
    schema.set_defaults(func=run_schema)


def _format_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--format",
        choices=(default, "json"),
        default=default,
        help=f"output format (default: {default})",
    )


def run_lint(args: argparse.Namespace) -> int:
    """Lint each path; print problems and a summary line per path."""
    from jupyter_masking.policy.lint import lint

    status, report = 0, []
    for path in args.paths:
        engine, problems = lint(path)
        errors = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity == "warning"]
        if errors:
            status = 2
        elif warnings and args.strict:
            status = max(status, 1)
        if args.format == "json":
            report.append(
                {
                    "path": path,
                    "version": engine.version if engine else None,
                    "problems": [p.to_dict() for p in problems],
                }
            )
            continue
        for problem in problems:
            print(problem)
        if engine is None:
            print(f"{path}: {_count(len(errors), 'error')}, {_count(len(warnings), 'warning')}")
        else:
            rules = _count(len(engine.rules), "rule")
            tail = f", {_count(len(warnings), 'warning')}" if warnings else ""
            print(f"{path}: ok ({engine.version}, {rules}{tail})")
    if args.format == "json":
        print(json.dumps(report, indent=2))
    return status


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run_test(args: argparse.Namespace) -> int:
    """Run policy tests; one line per failure, then ``N passed, M failed``."""
    from jupyter_masking.policy.engine import PolicyEngine
    from jupyter_masking.policy.testing import run_cases, summary

    results = run_cases(PolicyEngine.load(args.path), args.tests)
    for result in results:
        if not result.passed:
            print(result)
        elif args.verbose:
            print(f"ok   {result.name}")
    print(summary(results))
    return 1 if any(not r.passed for r in results) else 0


def run_explain(args: argparse.Namespace) -> int:
    """Print the decision matrix for one identity."""
    from jupyter_masking.identity import Identity, local_user
    from jupyter_masking.policy import explain
    from jupyter_masking.policy.engine import PolicyEngine

    engine = PolicyEngine.load(args.path)
    identity = Identity(args.user or local_user(), tuple(args.group), args.actor)
    decisions = explain.matrix(engine, identity, args.data_class)
    if args.format == "json":
        print(json.dumps(explain.to_json(engine, identity, decisions), indent=2))
    else:
        print(explain.render_table(engine, identity, decisions))
    return 0


def run_diff(args: argparse.Namespace) -> int:
    """Print what changes between two policies."""
    from jupyter_masking.policy import diff
    from jupyter_masking.policy.engine import PolicyEngine

    result = diff.diff(PolicyEngine.load(args.old), PolicyEngine.load(args.new), rules=args.rules)
    if args.format == "json":
        print(json.dumps(diff.to_json(result), indent=2))
    else:
        print(diff.render(result))
    return 0 if result.empty else 1


def run_builtin(args: argparse.Namespace) -> int:
    """Print the built-in policy file."""
    from jupyter_masking.policy.engine import BUILTIN_PATH

    print(BUILTIN_PATH.read_text(encoding="utf-8"), end="")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of a policy file."""
    from jupyter_masking.policy.model import Policy

    print(json.dumps(Policy.model_json_schema(), indent=2))
    return 0
