"""Safe YAML loading that remembers where every mapping key and list item stands.

Error messages must read ``file.yaml:12: cases[2].turns[0].expect: ...``; plain
``yaml.safe_load`` forgets line numbers, so mappings and lists are built as small
subclasses that carry them. Only the safe constructors are used: no Python tags.
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from .errors import DuplicateKeyError


class LineDict(dict):
    """A dict from YAML, with the 1-based line of the mapping and of each key."""

    line: int = 0
    key_lines: dict

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.key_lines = {}


class LineList(list):
    """A list from YAML, with the 1-based line of the sequence and of each item."""

    line: int = 0
    item_lines: list

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.item_lines = []


# libyaml's parser when PyYAML has it (several times faster on large suites); its marks
# carry the same line numbers, and the constructors below are the same safe ones.
_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeBase):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        self.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found an unhashable key", key_node.start_mark) from None
            if key in result:
                raise DuplicateKeyError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark)
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:  # type: ignore[override]
        result = LineList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


def _construct_yaml_map(loader: _LineLoader, node: yaml.MappingNode):
    yield loader.construct_mapping(node)


def _construct_yaml_seq(loader: _LineLoader, node: yaml.SequenceNode):
    yield loader.construct_sequence(node)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_yaml_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_yaml_seq)


def load_yaml_with_lines(text: str) -> Any:
    """Parse one YAML document safely; mappings and lists remember their lines."""
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader


def line_of(data: Any, loc: Iterable[Any]) -> int | None:
    """The line of the deepest element of ``loc`` (a pydantic error location) found in ``data``."""
    line = getattr(data, "line", None) or None
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineDict) and part in node.key_lines:
            line = node.key_lines[part]
            break
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
        inner = getattr(node, "line", None)
        if inner and not isinstance(node, (LineDict, LineList)):
            line = inner
    return line
