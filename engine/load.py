"""Stage 1, load: read rule files as YAML and remember where every value stood.

Produces plain dicts and lists that also carry line and column numbers, so that
later stages can report `file:line:column` for any problem. Duplicate keys,
YAML syntax errors (in Danish), aliases and oversized files are reported here,
bounded before anything is built. This stage knows nothing of rules.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from engine.problems import Position, Problem

#: A rule file larger than this is refused before it is parsed.
MAX_FILE_BYTES = 512 * 1024
#: At most this many YAML nodes (values, lists, blocks) in one file.
MAX_NODES = 50_000


class PosDict(dict):  # type: ignore[type-arg,unused-ignore]
    """A mapping that knows where it and each of its keys/values stood."""

    start: Position
    key_pos: dict[Any, Position]
    value_pos: dict[Any, Position]


class PosList(list):  # type: ignore[type-arg,unused-ignore]
    """A sequence that knows where it and each of its items stood."""

    start: Position
    item_pos: list[Position]


class _TooBig(Exception):
    pass


def _event_source() -> Any:
    """libyaml's scanner and parser where PyYAML was built with it (eight times faster on our rule
    files), with PyYAML's own composer on top, so the checks in `_Loader.compose_node` still see
    every node; else PyYAML's SafeLoader, pure Python. Both give the same nodes and positions."""
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML without libyaml
        return yaml.SafeLoader

    class Fast(yaml.composer.Composer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    return Fast


class _Loader(_event_source()):  # type: ignore[misc]
    """A safe loader that builds PosDict/PosList, refuses duplicate keys and aliases,
    and stops after MAX_NODES nodes (so no alias or size bomb is ever expanded)."""

    file_name = "?"
    problems: list[Problem]
    nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(None, None, "alias", event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(None, None, "anchor", event.start_mark)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig()
        return super().compose_node(parent, index)


def _pos(loader: _Loader, node: yaml.Node) -> Position:
    return Position(loader.file_name, node.start_mark.line + 1, node.start_mark.column + 1)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> PosDict:
    result = PosDict()
    result.start = _pos(loader, node)
    result.key_pos = {}
    result.value_pos = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            loader.problems.append(Problem(_pos(loader, key_node), "en nøgle skal være et ord, ikke en liste eller blok"))
            continue
        if key in result:
            loader.problems.append(
                Problem(_pos(loader, key_node), f"nøglen '{key}' står to gange i samme blok (den første stod på linje {result.key_pos[key].line})")
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


#: PyYAML's and libyaml's English problems, in Danish (the start of the message decides).
_YAML_DANISH = (
    ("alias", "YAML-aliaser (*navn) er ikke tilladt i regelfiler; skriv værdien ud"),
    ("anchor", "YAML-ankre (&navn) er ikke tilladt i regelfiler; skriv værdien ud"),
    ("mapping values are not allowed", "et kolon står et sted, hvor det ikke må; sæt teksten i anførselstegn, eller ret indrykningen"),
    ("found character that cannot start any token", "et tegn her kan ikke stå først i en værdi; sæt værdien i anførselstegn"),
    ("found a tab character", "tabulatortegn er ikke tilladt; ryk ind med mellemrum"),
    ("did not find expected ',' or ']'", "en liste i [ ] er ikke lukket rigtigt; mangler et komma eller ']'?"),
    ("did not find expected ',' or '}'", "en blok i { } er ikke lukket rigtigt; mangler et komma eller '}'?"),
    ("did not find expected <document start>", "indrykningen passer ikke; en nøgle mangler eller står forkert"),
    ("did not find expected node content", "en værdi mangler eller står forkert; ret linjen"),
    ("found unexpected end of stream", "filen slutter midt i en værdi; mangler et afsluttende anførselstegn eller en parentes?"),
    ("found undefined tag handle", "ukendt mærke (!); fjern det"),
    ("control characters are not allowed", "filen indeholder et kontroltegn; fjern det"),
    ("could not find expected ':'", "der mangler et kolon efter nøglen"),
    ("found character '\\t' that cannot start any token", "tabulatortegn er ikke tilladt; ryk ind med mellemrum"),
    ("found character", "et tegn her kan ikke stå først i en værdi; sæt værdien i anførselstegn"),
    ("expected <block end>, but found", "indrykningen passer ikke med linjerne over; ret mellemrummene foran linjen"),
    ("did not find expected key", "indrykningen passer ikke; en nøgle mangler eller står forkert"),
    ("did not find expected '-' indicator", "en linje i listen mangler '-' eller står forkert indrykket"),
    ("found unexpected end of stream", "filen slutter midt i en værdi; mangler et afsluttende anførselstegn eller en parentes?"),
    ("found unexpected ':'", "et kolon står et sted, hvor det ikke må; sæt teksten i anførselstegn"),
    ("expected ',' or ']'", "en liste i [ ] er ikke lukket rigtigt; mangler et komma eller ']'?"),
    ("expected ',' or '}'", "en blok i { } er ikke lukket rigtigt; mangler et komma eller '}'?"),
    ("found undefined tag handle", "ukendt mærke (!); fjern det"),
    ("could not determine a constructor", "ukendt mærke (!); fjern det"),
    ("found duplicate anchor", "YAML-ankre er ikke tilladt i regelfiler"),
    ("while scanning a quoted scalar", "et anførselstegn er ikke lukket"),
    ("found a tab character", "tabulatortegn er ikke tilladt; ryk ind med mellemrum"),
)


def yaml_danish(reason: str) -> str:
    """PyYAML's problem text in Danish (unknown texts are kept, after a Danish lead)."""
    for start, text in _YAML_DANISH:
        if reason.startswith(start):
            return text
    return f"YAML kan ikke læses ({reason})"


def load_yaml_text(text: str, file_name: str) -> tuple[Any, list[Problem]]:
    """Parse YAML text; return the data (with positions) and any problems."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        return None, [Problem(Position(file_name, 1, 1), f"filen er for stor (højst {MAX_FILE_BYTES // 1024} kB)")]
    loader = _Loader(text)
    loader.file_name = file_name
    loader.problems = []
    try:
        data = loader.get_single_data()
    except _TooBig:
        return None, [Problem(Position(file_name, 1, 1), f"filen har for mange værdier (højst {MAX_NODES})")]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Position(file_name, mark.line + 1, mark.column + 1) if mark else Position(file_name, 1, 1)
        reason = error.problem or error.context or "ugyldig YAML"
        return None, [Problem(where, yaml_danish(reason))]
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:  # unmarked constructor errors
        return None, [Problem(Position(file_name, 1, 1), yaml_danish(re.sub(r"\s+", " ", str(error))[:200]))]
    finally:
        loader.dispose()
    return data, loader.problems


def load_yaml_file(path: Path, shown_as: str) -> tuple[Any, list[Problem]]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, [Problem(Position(shown_as, 1, 1), f"filen er for stor (højst {MAX_FILE_BYTES // 1024} kB)")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [Problem(Position(shown_as, 1, 1), "filen er ikke gemt som UTF-8")]
    except OSError as error:
        return None, [Problem(Position(shown_as, 1, 1), f"filen kan ikke læses ({error.strerror})")]
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
