"""The rule editor's file handling: the blocks of a municipality's layer file, their YAML, and the
form built from the rule-file schema (engine.model's Tilbud and Regel, engine.fields' vocabulary).

A block is changed in place in the file's text: only its own lines are replaced, so comments and
the layout of every other block survive (a git diff of a saved draft shows the block that changed).
Nothing here validates rules; every save is validated whole by service.web.editor_proeve.
"""
from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel

from engine.fields import FACT_FIELDS
from engine.load import PosDict, PosList, load_yaml_text
from engine.model import Betingelse, Konklusion, Regel, Tilbud
from engine.problems import Position, Problem

#: The sections of a layer file the form can edit, with their schema model.
SECTIONS: dict[str, type[BaseModel]] = {"tilbud": Tilbud, "regler": Regel}
SECTION_NAVN = {"tilbud": "Tilbud", "regler": "Regel", "forudsaetninger": "Forudsætning"}
#: Keys a municipality's layer may not use on a rule (they come from the law layer); left out of the form.
KOMMUNE_UDELADT = {"saa.lovgrundlag", "saa.frist", "saa.skal_tilbyde"}
DATE_KEYS = {"gyldig_fra", "gyldig_til"}

#: Danish labels and help for the schema's keys (the keys themselves come from engine.model).
LABELS: dict[str, tuple[str, str]] = {
    "id": ("Id", "Små bogstaver, tal og bindestreg, fx ungeteam-18-29. Samme id på flere blokke = flere versioner af samme blok."),
    "navn": ("Navn", "Navnet, sagsbehandleren ser."),
    "beskrivelse": ("Beskrivelse", "Hvad blokken siger, i almindeligt dansk (mindst 10 tegn)."),
    "gyldig_fra": ("Gyldig fra", "ÅÅÅÅ-MM-DD."),
    "gyldig_til": ("Gyldig til (valgfri)", "Sidste dag, blokken gælder (ÅÅÅÅ-MM-DD)."),
    "status": ("Status", "'afventer' kun for lovforslag, der ikke er vedtaget."),
    "kilde": ("Kilde", "Hvor blokken kommer fra: et dokument (kommunens politik) og/eller en bestemmelse."),
    "kilde.bestemmelse": ("Bestemmelse (valgfri)", "Bestemmelsens stabile navn fra regler/love/, fx sel-101-behandling."),
    "kilde.dokument": ("Dokument", "Dokumentets navn og afsnit, fx 'Herning Kommune: udsattepolitik, afsnit 4'."),
    "kilde.url": ("Adresse (valgfri)", "En adresse på dokumentet."),
    "kilde.sikkerhed": ("Sikkerhed", "Er kilden kontrolleret?"),
    "kategori": ("Kategori", "Den nationale kategori; den bestemmer sporet."),
    "spor": ("Spor", ""),
    "indgrebsniveau": ("Indgrebsniveau", "1-9: hvor indgribende tilbuddet er i sporet (1 = mindst)."),
    "lovgrundlag": ("Lovgrundlag (valgfri)", "Bestemmelsernes stabile navne, adskilt med komma."),
    "alder_fra": ("Alder fra (valgfri)", "Yngste alder, tilbuddet gælder for (inklusive)."),
    "alder_til": ("Alder til (valgfri)", "Ældste alder, tilbuddet gælder for (inklusive)."),
    "daekker_op_til_niveau": ("Dækker op til niveau (valgfri)", "Kun når tilbuddet dækker højere behov end sit eget niveau."),
    "foretraekkes_frem_for": ("Foretrækkes frem for (valgfri)", "Id'er på tilbud i samme spor og på samme niveau, som dette tilbud vælges før, "
                              "når begge er egnede, adskilt med komma."),
    "egnet_hvis": ("Egnet, hvis", "Betingelser, der alle skal være opfyldt, før tilbuddet er egnet."),
    "hvis": ("Hvis", "Betingelser, der alle skal være opfyldt, før reglen gælder."),
    "saa": ("Så", "Hvad der følger, når betingelserne er opfyldt."),
    "saa.spor": ("Spor", "Hvilket spor konklusionen gælder."),
    "saa.mindst_indgrebsniveau": ("Mindst indgrebsniveau (valgfri)", "Borgerens behovsniveau i sporet (1-9)."),
    "saa.advarsel": ("Advarsel (valgfri)", "En tekst til sagsbehandleren, uden '§'."),
    "saa.oplysning": ("Oplysning (valgfri)", "En tekst til sagsbehandleren, uden '§'."),
    "saa.henvisning": ("Henvisning (valgfri)", "Den bestemmelse, noten henviser til."),
    "saa.udeluk": ("Udeluk (valgfri)", "Kommunal begrænsning: en kategori eller et bestemt tilbud."),
    "saa.udeluk.kategori": ("Udeluk kategori", ""),
    "saa.udeluk.tilbud": ("Udeluk tilbud (id)", ""),
    "saa.ved_kategori": ("Kun ved kategori (valgfri)", "Konklusionen gælder kun, hvis det anbefalede tilbud har en af disse kategorier."),
}
OPERATOR_TEXT = {"=": "er lig med (=)", "!=": "er ikke (!=)", ">": "over (>)", ">=": "mindst (>=)", "<": "under (<)", "<=": "højst (<=)",
                 "i": "en af (i)", "ikke_i": "ikke en af (ikke_i)"}


# --------------------------------------------------------------------------- the schema as form widgets


@dataclass
class Widget:
    path: str  # dotted: "kilde.dokument"
    kind: str  # text, textarea, date, int, select, multi, list, conditions, group
    label: str
    hint: str = ""
    choices: tuple[str, ...] = ()
    optional: bool = True
    children: list["Widget"] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "f-" + self.path.replace(".", "-")

    @property
    def key(self) -> str:
        return self.path.rsplit(".", 1)[-1]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type without Optional, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), True
    return annotation, False


def _widget(path: str, annotation: Any, required: bool) -> Optional[Widget]:
    inner, optional = _unwrap(annotation)
    optional = optional or not required
    label, hint = LABELS.get(path, (path.rsplit(".", 1)[-1].replace("_", " ").capitalize(), ""))
    origin = typing.get_origin(inner)
    if origin is Literal:
        return Widget(path, "select", label, hint, tuple(str(a) for a in typing.get_args(inner)), optional)
    if origin is list:
        (item,) = typing.get_args(inner)
        if item is Betingelse or item == "Betingelse":
            return Widget(path, "conditions", label, hint, optional=True)
        if typing.get_origin(item) is Literal:
            return Widget(path, "multi", label, hint, tuple(str(a) for a in typing.get_args(item)), True)
        return Widget(path, "list", label, hint, optional=True)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        children = [w for name, f in inner.model_fields.items() if (w := _widget(f"{path}.{name}", f.annotation, f.is_required()))]
        return Widget(path, "group", label, hint, optional=optional, children=children)
    if inner is date:
        return Widget(path, "date", label, hint, optional=optional)
    if inner is int:
        return Widget(path, "int", label, hint, optional=optional)
    if inner is str:
        long = path.rsplit(".", 1)[-1] in ("beskrivelse", "advarsel", "oplysning", "tekst", "indhold")
        return Widget(path, "textarea" if long else "text", label, hint, optional=optional)
    return None


def form_widgets(section: str, kommune_layer: bool = True) -> list[Widget]:
    """The form of a block, built from its schema model (engine.model), in the model's field order."""
    model = SECTIONS[section]
    out = []
    for name in _names(model):
        f = model.model_fields[name]
        w = _widget(name, f.annotation, f.is_required())
        if w is None:
            continue
        if kommune_layer:
            w.children = [c for c in w.children if c.path not in KOMMUNE_UDELADT]
        out.append(w)
    return out


def _all_widgets(widgets: list[Widget]) -> list[Widget]:
    out = []
    for w in widgets:
        out.append(w)
        out.extend(_all_widgets(w.children))
    return out


# --------------------------------------------------------------------------- values shown and read back


def _get(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def shown_value(value: Any) -> str:
    """A value in a text input: ja/nej for booleans, lists with commas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, (list, tuple)):
        return ", ".join(shown_value(v) for v in value)
    return str(value)


@dataclass
class ConditionRow:
    felt: str
    operator: str
    vaerdi: str
    raw: Any = None  # an en_af group, kept as it is (edited in the YAML)


def condition_rows(data: Any, path: str) -> list[ConditionRow]:
    rows = []
    for c in _get(data, path) or []:
        if isinstance(c, dict) and "en_af" in c:
            rows.append(ConditionRow("", "", "", raw=c))
        elif isinstance(c, dict):
            rows.append(ConditionRow(str(c.get("felt") or ""), str(c.get("operator") or ""), shown_value(c.get("vaerdi"))))
    return rows


def form_values(data: Any, widgets: list[Widget]) -> dict[str, Any]:
    """{widget path: what its input shows} for a block."""
    out: dict[str, Any] = {}
    for w in _all_widgets(widgets):
        value = _get(data, w.path)
        if w.kind == "conditions":
            out[w.path] = condition_rows(data, w.path)
        elif w.kind == "multi":
            out[w.path] = [str(v) for v in value or []]
        elif w.kind != "group":
            out[w.path] = shown_value(value)
    return out


def _parse_vaerdi(felt: str, operator: str, text: str) -> Any:
    """A condition's value from its text, by the field's type (engine.fields)."""
    text = text.strip()
    if operator in ("i", "ikke_i"):
        return [_parse_vaerdi(felt, "=", part) for part in text.split(",") if part.strip()]
    spec = FACT_FIELDS.get(felt)
    if spec is not None and spec.type == "sandhed":
        return {"ja": True, "true": True, "sand": True, "nej": False, "false": False, "falsk": False}.get(text.lower(), text)
    if spec is not None and spec.type == "heltal" and re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    if value is None or value == "" or value == []:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def _prune(data: dict[str, Any]) -> dict[str, Any]:
    for k in list(data):
        if isinstance(data[k], dict):
            _prune(data[k])
            if not data[k]:
                del data[k]
    return data


def block_from_form(existing: dict[str, Any], widgets: list[Widget], form: Any) -> dict[str, Any]:
    """The block with every key the form shows replaced by what was posted (other keys are kept)."""
    data = _plain(existing)
    for w in _all_widgets(widgets):
        if w.kind == "group":
            continue
        if w.kind == "conditions":
            kept = [c for c in (_get(existing, w.path) or []) if isinstance(c, dict) and "en_af" in c]
            try:
                count = min(int(str(form.get(f"{w.id}-antal", "0"))), 60)
            except ValueError:
                count = 0
            rows = []
            for i in range(count):
                felt = str(form.get(f"{w.id}-{i}-felt", "")).strip()
                operator = str(form.get(f"{w.id}-{i}-operator", "")).strip()
                vaerdi = str(form.get(f"{w.id}-{i}-vaerdi", ""))
                if not felt and not operator and not vaerdi.strip():
                    continue
                rows.append({"felt": felt, "operator": operator, "vaerdi": _parse_vaerdi(felt, operator, vaerdi)})
            _set(data, w.path, _plain(kept) + rows)
            continue
        if w.kind == "multi":
            _set(data, w.path, [v for v in form.getlist(w.id) if v in w.choices])
            continue
        text = str(form.get(w.id, "") or "").strip()[:4000]
        if w.kind == "list":
            value: Any = [p.strip() for p in text.split(",") if p.strip()]
        elif w.kind == "int":
            value = int(text) if re.fullmatch(r"-?\d+", text) else text
        elif w.kind == "date":
            try:
                value = date.fromisoformat(text) if text else ""
            except ValueError:
                value = text
        else:
            value = text
        _set(data, w.path, value)
    return _prune(data)


# --------------------------------------------------------------------------- YAML text of blocks


def _plain(value: Any) -> Any:
    """PosDict/PosList to plain dicts and lists; ISO dates under date keys to dates (dumped unquoted)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in DATE_KEYS and isinstance(v, str):
                try:
                    v = date.fromisoformat(v)
                except ValueError:
                    pass
            out[k] = _plain(v)
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False, width=100_000)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[:-4].strip()
    if text.endswith("..."):
        text = text[:-3].strip()
    return text


#: The order the shipped files write a block's keys in (then the rest of the schema's order).
KEY_ORDER = ("id", "navn", "kategori", "spor", "indgrebsniveau", "beskrivelse", "gyldig_fra", "gyldig_til", "status", "kilde")


def _names(model: type[BaseModel]) -> list[str]:
    fields = list(model.model_fields)
    if model is Konklusion:
        return fields
    return [k for k in KEY_ORDER if k in fields] + [k for k in fields if k not in KEY_ORDER]


def _order(data: dict[str, Any], model: Optional[type[BaseModel]]) -> list[str]:
    names = _names(model) if model is not None else []
    return [k for k in names if k in data] + [k for k in data if k not in names]


def dump_block(data: dict[str, Any], section: str) -> str:
    """A block as YAML (a mapping at column 0), in the schema's key order, in the files' style:
    conditions one per line, small blocks such as kilde on one line."""
    model = SECTIONS.get(section)
    data = _plain(data)
    lines: list[str] = []
    for key in _order(data, model):
        value = data[key]
        if key in ("hvis", "egnet_hvis", "omfatter") and isinstance(value, list):
            lines.append(f"{key}:")
            for c in value:
                if isinstance(c, dict) and "en_af" in c:
                    lines.append("  - en_af:")
                    lines.extend(f"      - {_flow(x)}" for x in c["en_af"] or [])
                else:
                    lines.append(f"  - {_flow(c)}")
        elif key == "saa" and isinstance(value, dict):
            lines.append("saa:")
            for k in _order(value, Konklusion):
                lines.append(f"  {k}: {_flow(value[k])}")
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


@dataclass
class Block:
    section: str
    index: int
    data: dict[str, Any]
    start: int  # first line (1-based)
    end: int  # last line of the block's own text
    positions: Any  # the PosDict (positions of every key)

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def gyldig_fra(self) -> Optional[date]:
        return _date(self.data.get("gyldig_fra"))

    @property
    def gyldig_til(self) -> Optional[date]:
        return _date(self.data.get("gyldig_til"))

    @property
    def title(self) -> str:
        return str(self.data.get("navn") or self.data.get("beskrivelse") or self.id)

    def in_force(self, day: date) -> bool:
        fra, til = self.gyldig_fra, self.gyldig_til
        return fra is not None and fra <= day and (til is None or day <= til)

    def historic(self, day: date) -> bool:
        til = self.gyldig_til
        return til is not None and til < day


def _date(value: Any) -> Optional[date]:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


@dataclass
class LayerText:
    """A layer file's text and its blocks (None data when the file cannot be read as YAML)."""

    text: str
    name: str
    data: Any
    problems: list[Problem]
    blocks: list[Block]

    def block(self, section: str, index: int) -> Optional[Block]:
        return next((b for b in self.blocks if b.section == section and b.index == index), None)

    def block_at(self, line: int) -> Optional[Block]:
        return next((b for b in self.blocks if b.start <= line <= b.end), None)


def _skippable(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def parse_layer(text: str, name: str) -> LayerText:
    data, problems = load_yaml_text(text, name)
    lines = text.splitlines()
    blocks: list[Block] = []
    if not isinstance(data, PosDict):
        return LayerText(text, name, data, problems, blocks)
    top = sorted((pos.line, key) for key, pos in data.key_pos.items())
    for section in ("tilbud", "regler", "forudsaetninger", "rettigheder", "personkreds"):
        items = data.get(section)
        if not isinstance(items, PosList):
            continue
        section_line = data.key_pos[section].line
        following = [line for line, _ in top if line > section_line]
        section_end = (following[0] - 1) if following else len(lines)
        for i, raw in enumerate(items):
            if not isinstance(raw, dict):
                continue
            start = items.item_pos[i].line
            end = (items.item_pos[i + 1].line - 1) if i + 1 < len(items) else section_end
            while end > start and _skippable(lines[end - 1]):
                end -= 1
            blocks.append(Block(section, i, _plain(raw), start, end, raw))
    return LayerText(text, name, data, problems, blocks)


def block_yaml(layer: LayerText, block: Block) -> str:
    """The block's own lines as a mapping at column 0 (as the YAML editor shows it)."""
    lines = layer.text.splitlines()[block.start - 1: block.end]
    first = lines[0]
    dash = first.index("-") if first.lstrip().startswith("-") else None
    if dash is None:
        return "\n".join(lines) + "\n"
    indent = dash + 2
    out = [first[indent:]]
    for line in lines[1:]:
        out.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
    return "\n".join(out) + "\n"


def _as_item(yaml_text: str, indent: int = 2) -> list[str]:
    lines = [ln.rstrip() for ln in yaml_text.strip("\n").splitlines()]
    pad = " " * indent
    return [f"{pad}- {lines[0]}"] + [(f"{pad}  {ln}" if ln else "") for ln in lines[1:]]


def replace_block(layer: LayerText, block: Block, yaml_text: str) -> str:
    """The file with this block's lines replaced by `yaml_text` (a mapping at column 0)."""
    lines = layer.text.splitlines()
    first = lines[block.start - 1]
    indent = first.index("-") if first.lstrip().startswith("-") else 2
    new = lines[: block.start - 1] + _as_item(yaml_text, indent) + lines[block.end:]
    return "\n".join(new) + "\n"


def insert_block(layer: LayerText, section: str, yaml_text: str, after: Optional[Block] = None) -> tuple[str, int]:
    """The file with a new block in `section` (after `after`, else last); returns (text, the new block's index)."""
    lines = layer.text.splitlines()
    same = [b for b in layer.blocks if b.section == section]
    if after is not None:
        at, index, indent = after.end, after.index + 1, _indent_of(lines[after.start - 1])
    elif same:
        at, index, indent = same[-1].end, same[-1].index + 1, _indent_of(lines[same[-1].start - 1])
    else:
        data = layer.data
        if isinstance(data, PosDict) and section in data:
            line = data.key_pos[section].line
            lines[line - 1] = f"{section}:"
            at, index, indent = line, 0, 2
        else:
            while lines and not lines[-1].strip():
                lines.pop()
            lines += ["", f"{section}:"]
            at, index, indent = len(lines), 0, 2
    blank = [""] if (after is not None or same) else []
    new = lines[:at] + blank + _as_item(yaml_text, indent) + lines[at:]
    return "\n".join(new) + "\n", index


def _indent_of(line: str) -> int:
    return line.index("-") if line.lstrip().startswith("-") else 2


def template_block(section: str, day: date) -> dict[str, Any]:
    """A new block to fill in (it will not validate until it is filled in)."""
    if section == "tilbud":
        return {"id": "nyt-tilbud", "navn": "", "kategori": "ambulant", "spor": "behandling", "indgrebsniveau": 3,
                "beskrivelse": "", "gyldig_fra": day, "kilde": {"dokument": ""}}
    return {"id": "ny-regel", "beskrivelse": "", "gyldig_fra": day, "kilde": {"dokument": ""},
            "hvis": [], "saa": {"spor": "behandling", "oplysning": ""}}


# --------------------------------------------------------------------------- dating: a change to a block in force is a new version


def day_before(day: date) -> date:
    return day - timedelta(days=1)


def set_date(layer: LayerText, block: Block, key: str, value: Optional[date]) -> str:
    """The file with one date key of one block set (or removed), keeping the block's other lines."""
    data = dict(block.data)
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
    lines = layer.text.splitlines()
    own = lines[block.start - 1: block.end]
    pattern = re.compile(rf"^(\s*-?\s*){key}:\s*.*$")
    for i, line in enumerate(own):
        if pattern.match(line):
            if value is None:
                del own[i]
            else:
                own[i] = pattern.sub(lambda m: f"{m.group(1)}{key}: {value.isoformat()}", line)
            break
    else:
        if value is None:
            return layer.text
        anchor = next((i for i, ln in enumerate(own) if re.match(r"^\s*-?\s*gyldig_fra:", ln)), len(own) - 1)
        pad = " " * (_indent_of(own[0]) + 2)
        own.insert(anchor + 1, f"{pad}{key}: {value.isoformat()}")
    return "\n".join(lines[: block.start - 1] + own + lines[block.end:]) + "\n"


def problem_path(block: Block, where: Position) -> tuple[Any, ...]:
    """The key path inside a block that a problem's position points at (() for the block as a whole)."""
    best: tuple[tuple[int, int], tuple[Any, ...]] = ((0, 0), ())
    target = (where.line, where.column or 10_000)

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        nonlocal best
        if isinstance(node, PosDict):
            for key, pos in node.key_pos.items():
                here = (pos.line, pos.column)
                if here <= target and here >= best[0]:
                    best = (here, path + (key,))
                walk(node[key], path + (key,))
        elif isinstance(node, PosList):
            for i, pos in enumerate(node.item_pos):
                here = (pos.line, pos.column)
                if here <= target and here > best[0]:
                    best = (here, path + (i,))
                walk(node[i], path + (i,))

    walk(block.positions, ())
    start = block.positions.start if isinstance(block.positions, PosDict) else None
    if start is not None and (where.line, where.column) == (start.line, start.column):
        return ()
    return best[1]


def widget_for(path: tuple[Any, ...], widgets: list[Widget]) -> Optional[str]:
    """The input id a problem at `path` belongs beside (the nearest widget up the path)."""
    by_path = {w.path: w for w in _all_widgets(widgets)}
    parts = [str(p) for p in path]
    for n in range(len(parts), 0, -1):
        dotted = ".".join(p for p in parts[:n] if not p.isdigit())
        w = by_path.get(dotted)
        if w is None:
            continue
        if w.kind == "conditions":
            index = next((p for p in parts[len(dotted.split(".")):] if p.isdigit()), None)
            rest = [p for p in parts if not p.isdigit()]
            sub = rest[-1] if rest and rest[-1] in ("felt", "operator", "vaerdi") else "felt"
            return f"{w.id}-{index}-{sub}" if index is not None else w.id
        if w.kind == "group":
            return w.children[0].id if w.children else w.id
        return w.id
    return None

