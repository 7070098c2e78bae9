r"""YAML to plain Python values, remembering the line of every key and list item.

PyYAML's ``compose`` API keeps the start mark of each node; this module walks
that tree with the safe constructor for scalars and records, for every path
(``("rules", 2, "effect")``), the 1-based line where it is written. Duplicate
keys, which PyYAML silently overwrites, are reported instead, and alias bombs
are cut off.

>>> data, lines = parse_yaml("version: 1\nrules:\n  - id: a\n    kind: grant\n", "p.yaml")
>>> data["rules"][0]["kind"], lines[("rules", 0, "kind")]
('grant', 4)
"""

from __future__ import annotations

from typing import TypeAlias

import yaml

from jupyter_masking.errors import PolicyError

Path: TypeAlias = tuple[str | int, ...]
Lines: TypeAlias = dict[Path, int]

# Aliases can expand a small file exponentially; no real policy has this many nodes.
MAX_NODES = 200_000
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.lines: Lines = {}
        self.nodes = 0
        self.active: set[int] = set()

    def fail(self, node: yaml.Node, path: Path, message: str) -> PolicyError:
        return PolicyError(
            message,
            source=self.source,
            line=node.start_mark.line + 1,
            field=render_path(path) or None,
        )

    def value(self, node: yaml.Node, path: Path) -> object:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, path, f"the file expands to more than {MAX_NODES} YAML nodes")
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.active:
            raise self.fail(node, path, "a YAML alias refers to itself")
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, path, f"unsupported YAML tag {node.tag[:80]!r}")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self.sequence(node, path)
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise self.fail(node, path, f"unsupported YAML node {type(node).__name__}")

    def sequence(self, node: yaml.SequenceNode, path: Path) -> list[object]:
        items: list[object] = []
        for index, item in enumerate(node.value):
            self.lines.setdefault((*path, index), item.start_mark.line + 1)
            items.append(self.value(item, (*path, index)))
        return items

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[object, object]:
        result: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, path)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise self.fail(key_node, path, "mapping keys must be plain strings")
            if key in result:
                first = self.lines.get((*path, str(key)), 0)
                raise self.fail(
                    key_node, (*path, str(key)), f"duplicate key (first at line {first})"
                )
            sub = (*path, str(key))
            self.lines[sub] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, sub)
        return result


def parse_yaml(text: str, source: str) -> tuple[object, Lines]:
    """Parse one YAML document into plain values and a path -> line map.

    Args:
        text: The YAML text.
        source: The file name used in error messages.

    Returns:
        The value (``None`` for an empty document) and the line of every path.

    Raises:
        PolicyError: On a syntax error, several documents, duplicate keys or unsafe tags.
    """
    try:
        # the reader checks the characters already here (a NUL byte raises)
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as error:
        raise PolicyError(f"YAML error: {_first_line(error)}", source=source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {(): 1}
        walker = _Walker(loader, source)
        walker.lines[()] = node.start_mark.line + 1
        return walker.value(node, ()), walker.lines
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        what = error.problem or error.context or "cannot read YAML"
        raise PolicyError(
            f"YAML error: {what}",
            source=source,
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as error:
        raise PolicyError(f"YAML error: {type(error).__name__}", source=source) from None
    finally:
        loader.dispose()


def _first_line(error: yaml.YAMLError) -> str:
    """The first line of a reader error (``unacceptable character #x0000: ...``)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def render_path(path: Path) -> str:
    """``rules[2].effect`` style text for a path; keys that are not identifiers are quoted.

    >>> render_path(("rules", 2, "when", "groups", 0))
    'rules[2].when.groups[0]'
    >>> render_path(("classes", "pii.email", "default"))
    "classes['pii.email'].default"
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def line_of(lines: Lines, path: Path) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None
