"""Where a query runs from: notebook path, cell id and execution count, read from the kernel.

* The cell id is the nbformat id JupyterLab, Notebook 7 and VS Code send in the execute
  request's metadata (``cellId``).
* The notebook path comes from ``JPY_SESSION_NAME`` (set by Jupyter Server for the
  session's kernel) or VS Code's ``__vsc_ipynb_file__``. Jupyter Server gives an absolute
  path, the frontend a path relative to the server root, so the path is made relative to
  the root of the server that started this kernel (its ``jpserver-<pid>.json`` runtime file);
  when no server is found, the absolute path is kept (the REST API looks up both forms).
* The execution count is the running cell's, as IPython numbers it.

Plain IPython has none of these: they are ``None`` and the query still runs.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

SESSION_ENV = "JPY_SESSION_NAME"
VSCODE_VARIABLE = "__vsc_ipynb_file__"
_CELL_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")  # nbformat 4.5 cell ids


@dataclass(frozen=True)
class CellContext:
    """The notebook, cell and execution count a query came from (each may be unknown)."""

    notebook: str | None = None
    cell_id: str | None = None
    execution_count: int | None = None


def cell_context(shell: Any) -> CellContext:
    """The :class:`CellContext` of the cell ``shell`` is running now.

    >>> cell_context(None)
    CellContext(notebook=None, cell_id=None, execution_count=None)
    """
    if shell is None:
        return CellContext()
    count = _execution_count(shell)
    namespace = getattr(shell, "user_ns", {}) or {}
    path = os.environ.get(SESSION_ENV) or namespace.get(VSCODE_VARIABLE)
    return CellContext(
        notebook=notebook_path(str(path)) if path else None,
        cell_id=_cell_id(shell),
        execution_count=count if isinstance(count, int) else None,
    )


def _execution_count(shell: Any) -> int | None:
    # the running cell's result holds its number; shell.execution_count may already be the
    # next one (IPython 9 counts up before running, earlier versions after)
    running = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    count = getattr(running, "execution_count", None)
    if count is None:
        count = getattr(shell, "execution_count", None)
    return count if isinstance(count, int) else None


def _cell_id(shell: Any) -> str | None:
    kernel = getattr(shell, "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if not callable(get_parent):
        return None
    try:
        parent = get_parent() or {}
    except Exception:  # an older kernel with another signature: no cell id, not a failure
        return None
    value = (parent.get("metadata") or {}).get("cellId")
    return value if isinstance(value, str) and _CELL_ID.match(value) else None


def notebook_path(path: str, roots: tuple[str, ...] | None = None) -> str:
    r"""``path`` relative to the Jupyter server root, with ``/`` separators.

    Args:
        path: The path the kernel knows (absolute or already relative).
        roots: Server root directories to try (default: the server that started this
            kernel).

    >>> notebook_path("/srv/lab/reports/q1.ipynb", roots=("/srv/lab",))
    'reports/q1.ipynb'
    >>> notebook_path("/elsewhere/q1.ipynb", roots=("/srv/lab",))
    '/elsewhere/q1.ipynb'
    >>> notebook_path("reports\\\\q1.ipynb", roots=())
    'reports/q1.ipynb'
    """
    if not os.path.isabs(path):
        return PurePath(path.replace("\\", "/")).as_posix()
    absolute = os.path.normpath(path)
    for root in server_roots() if roots is None else roots:
        root = os.path.normpath(root)
        if absolute.startswith(root.rstrip(os.sep) + os.sep):
            return PurePath(os.path.relpath(absolute, root)).as_posix()
    return PurePath(absolute).as_posix()


@functools.lru_cache(maxsize=1)
def server_roots() -> tuple[str, ...]:
    """The root directory of the Jupyter server that started this kernel, if any.

    Only the parent server counts: another user's server with a broader root would
    give a wrong relative path (the REST API finds absolute paths anyway).
    """
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime_file = Path(jupyter_runtime_dir()) / f"jpserver-{os.getppid()}.json"
    except Exception:  # no jupyter_core or no runtime dir: no server to be relative to
        return ()
    root = _root(runtime_file) if runtime_file.exists() else ""
    return (root,) if root else ()


def _root(file: Path) -> str:
    try:
        info = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    root = info.get("root_dir") or info.get("notebook_dir") or ""
    return str(root) if isinstance(root, str) else ""
