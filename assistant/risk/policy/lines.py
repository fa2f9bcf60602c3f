"""YAML read with the line of every mapping, key, list item and string, so a problem names its line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from assistant.errors import ConfigError


class LineStr(str):
    """A string from the file that remembers its line (1-based)."""

    line: int = 0


class LineMap(dict[str, Any]):
    """A mapping from the file: its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineSeq(list[Any]):
    """A list from the file: its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings, sequences and strings remember the line they start on."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = str(key)
        if key in result:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key '{key}'")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> LineSeq:
    result = LineSeq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_str(loader: _LineLoader, node: yaml.ScalarNode) -> LineStr:
    result = LineStr(loader.construct_scalar(node))
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)
_LineLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


class YamlProblem(Exception):
    """A problem at a line of the file (0 when the line is unknown)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load_yaml(text: str) -> Any:
    """Parse YAML (safely) into LineMap / LineSeq / LineStr; invalid YAML raises YamlProblem with its line."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(mark.line + 1 if mark else 0, f"invalid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(0, f"invalid YAML: {exc}") from exc


def line_at(data: Any, path: Sequence[str | int]) -> int:
    """The line of the deepest element of `path` (keys and list indexes) that the file has."""
    line = int(getattr(data, "line", 0))
    node = data
    for step in path:
        if isinstance(node, LineMap) and isinstance(step, str) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, LineSeq) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
        else:
            break
        line = int(getattr(node, "line", 0)) if isinstance(node, LineStr) else line
    return line
