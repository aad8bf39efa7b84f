"""Stage 1, load: read rule files as YAML and remember where every value stood.

Produces plain dicts and lists that also carry line and column numbers, so that
later stages can report `file:line:column` for any problem. Duplicate keys and
YAML syntax errors are reported here. This stage knows nothing of rules.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Position:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class PosDict(dict):
    """A mapping that knows where it and each of its keys/values stood."""

    start: Position
    key_pos: dict[Any, Position]
    value_pos: dict[Any, Position]


class PosList(list):
    """A sequence that knows where it and each of its items stood."""

    start: Position
    item_pos: list[Position]


@dataclass(frozen=True)
class LoadProblem:
    position: Position
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds PosDict/PosList and refuses duplicate keys."""

    file_name = "?"
    problems: list[LoadProblem]


def _pos(loader: _Loader, node: yaml.Node) -> Position:
    return Position(loader.file_name, node.start_mark.line + 1, node.start_mark.column + 1)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> PosDict:
    result = PosDict()
    result.start = _pos(loader, node)
    result.key_pos = {}
    result.value_pos = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            loader.problems.append(
                LoadProblem(_pos(loader, key_node), f"nøglen '{key}' står to gange i samme blok (den første stod på linje {result.key_pos[key].line})")
            )
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_pos[key] = _pos(loader, key_node)
        result.value_pos[key] = _pos(loader, value_node)
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> PosList:
    result = PosList(loader.construct_object(child, deep=True) for child in node.value)
    result.start = _pos(loader, node)
    result.item_pos = [_pos(loader, child) for child in node.value]
    return result


# Dates stay text here so that pydantic validates them with a Danish message
# and a position; YAML's own date parsing fails with a bare ValueError.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml_text(text: str, file_name: str) -> tuple[Any, list[LoadProblem]]:
    """Parse YAML text; return the data (with positions) and any problems."""
    loader = _Loader(text)
    loader.file_name = file_name
    loader.problems = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Position(file_name, mark.line + 1, mark.column + 1) if mark else Position(file_name, 1, 1)
        reason = error.problem or error.context or "ugyldig YAML"
        return None, [LoadProblem(where, f"YAML kan ikke læses: {reason}")]
    except (yaml.YAMLError, ValueError, TypeError) as error:  # unmarked constructor errors
        return None, [LoadProblem(Position(file_name, 1, 1), f"YAML kan ikke læses: {error}")]
    finally:
        loader.dispose()
    return data, loader.problems


def load_yaml_file(path: Path, shown_as: str) -> tuple[Any, list[LoadProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [LoadProblem(Position(shown_as, 1, 1), "filen er ikke gemt som UTF-8")]
    return load_yaml_text(text, shown_as)


def position_of(data: Any, loc: tuple[Any, ...], fallback: Position) -> Position:
    """The position of the value at `loc` (a pydantic error location) in `data`.

    Walks as deep as the data allows; a missing key points at its parent block.
    """
    here = fallback
    node = data
    for part in loc:
        if isinstance(node, PosDict):
            if part in node.key_pos:
                here = node.key_pos[part]
                node = node[part]
                continue
            here = node.start
            break
        if isinstance(node, PosList) and isinstance(part, int) and 0 <= part < len(node):
            here = node.item_pos[part]
            node = node[part]
            continue
        break
    return here
