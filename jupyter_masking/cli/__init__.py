"""The ``jupyter-masking`` command line.

Each command lives in its own module in this package and exposes
``register(subparsers)``, which adds a subparser whose ``func`` default takes the
parsed arguments and returns an exit status. Commands are found by module
discovery, so adding one is a new file, not an edit here.

Errors are rendered as one line on stderr: a :class:`~jupyter_masking.errors.MaskingError`
exits with its own ``exit_code``, anything unexpected with 1, and ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Protocol, TypeAlias, cast

from jupyter_masking import __version__
from jupyter_masking.errors import MaskingError

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class _Command(Protocol):
    def register(self, subparsers: Subparsers) -> None:
        """Add this command's subparser."""


Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors exit 2 with one line, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: bad input: {message}. Hint: see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every discovered command registered."""
    parser = _Parser(
        prog="jupyter-masking",
        description="Masked SQL for Jupyter: detect, mask, query and audit sensitive data.",
    )
    parser.add_argument("--version", action="version", version=f"jupyter-masking {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one-line errors"
    )
    subparsers = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=_Parser, required=True
    )
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module: _Command = importlib.import_module(f"{__name__}.{info.name}")
        module.register(cast(Subparsers, subparsers))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.func
    try:
        return handler(args)
    except MaskingError as error:
        if args.debug:
            traceback.print_exc()
        print(f"jupyter-masking: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("jupyter-masking: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # the one place that turns surprises into one line
        if args.debug:
            traceback.print_exc()
        print(
            f"jupyter-masking: internal error: {type(error).__name__}. "
            "Hint: run again with --debug and report it",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
