"""Restricted-party lists in their published formats, read into one shape: entries with their names.

    parsed = read_list_files([Path("sdn.csv"), Path("alt.csv"), Path("add.csv")])
    parsed.format, parsed.default_name, len(parsed.entries)

Formats are recognised from the content, not the file name:

- OFAC's legacy SDN files: ``sdn.csv`` (no header; ent_num, SDN_Name, SDN_Type, Program, Title,
  Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks; ``-0-`` for empty), with its
  ``alt.csv`` aliases (ent_num, alt_num, alt_type, alt_name, alt_remarks) and ``add.csv`` addresses
  (ent_num, add_num, address, city/state/postal code, country, add_remarks). OFAC writes its weak
  aliases ("low quality" a.k.a.s) in the Remarks of sdn.csv, in single quotes (``a.k.a. 'ABU X'``);
  an alias of alt.csv is weak when it is one of those, or when its own remarks say so.
- The FollowTheMoney entity export of OpenSanctions: JSON lines of {id, schema, properties{name, alias,
  weakAlias, previousName, country, ...}, datasets, topics, first_seen, last_seen, last_change}.
- The project's own CSV (name,aliases,list,source,listed_on; aliases split by '|'), as shipped in
  corpus/risk/restricted_parties.csv.

A file that cannot be read raises ListFormatError naming the file and the line that failed.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError

from ..errors import ListFormatError
from .names import normalize_name
from .screening import load_restricted_parties

PRIMARY, STRONG, WEAK = "primary", "strong", "weak"
"""How much a name identifies its party: the listed name, an alias, a weak ("low quality") alias."""

OFAC_SDN_COLUMNS = 12
OFAC_ALT_COLUMNS = 5
OFAC_ADD_COLUMNS = 6
OFAC_EMPTY = "-0-"
OFAC_ALIAS_TYPES = frozenset({"aka", "fka", "nka"})
# Entity schemas of an OpenSanctions export that are parties one can deal with (not addresses,
# sanctions, ownership links, ...).
FTM_PARTY_SCHEMAS = frozenset({"Person", "Organization", "Company", "LegalEntity", "PublicBody", "Vessel", "Airplane"})
_FTM_COUNTRY_PROPS = ("country", "nationality", "citizenship", "jurisdiction", "flag", "registrationCountry")
_WEAK_AKA_RE = re.compile(r"a\.k\.a\.,?\s*'([^']+)'", re.IGNORECASE)
_NATIONALITY_RE = re.compile(r"\b(?:nationality|citizen)\s+([A-Z][A-Za-z .'-]+?)(?=;|\.|$|,)", re.IGNORECASE)
# OFAC's files end with an end-of-file control character (Ctrl-Z) on a line of its own.
_OFAC_EOF = "\x1a"


@dataclass(frozen=True)
class ListedName:
    """One name of a listed party, as written, and how strongly it identifies the party."""

    label: str
    strength: str


@dataclass(frozen=True)
class ListEntry:
    """One listed party with every name it is listed under."""

    key: str
    """The publisher's identifier (OFAC ent_num, OpenSanctions id, or the CSV line)."""
    name: str
    kind: str
    """individual, entity, vessel, aircraft (as the publisher classifies it; '' when it does not)."""
    names: tuple[ListedName, ...]
    countries: tuple[str, ...] = ()
    """ISO 3166 alpha-2 codes of the countries the listing names (addresses, nationality, flag)."""
    programs: str = ""
    listed_on: str = ""
    source: str = ""


@dataclass
class ParsedList:
    """The entries read from one list's files, and what the files say about the list itself."""

    format: str
    default_name: str
    entries: list[ListEntry]
    source_files: tuple[str, ...]
    published: str = ""
    """The list's own publication date (YYYY-MM-DD) when its files carry one, else ''."""
    digest: str = ""
    """SHA-256 (first 16 hex digits) of the files' bytes: the list version."""
    skipped: int = 0
    """Records of the files that are not parties (e.g. addresses in an OpenSanctions export)."""
    names: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.names = sum(len(e.names) for e in self.entries)


# -- reading files -----------------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ListFormatError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # OFAC's legacy files are not always UTF-8; Windows-1252 is what they are written in otherwise.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ListFormatError(f"{path}, line {line}: neither UTF-8 nor Windows-1252 text") from exc


def detect_format(path: Path, text: str) -> str:
    """One of ofac-sdn, ofac-alt, ofac-add, ftm, project-csv; ListFormatError when none fits."""
    first_line = next((line for line in text.splitlines() if line.strip() and line.strip() != _OFAC_EOF), "")
    if not first_line:
        raise ListFormatError(f"{path}, line 1: the file is empty")
    if first_line.lstrip().startswith("{"):
        return "ftm"
    header = [c.strip().lower() for c in next(csv.reader([first_line]))]
    if {"name", "aliases", "list"} <= set(header):
        return "project-csv"
    row = next(csv.reader([first_line]))
    if row and row[0].strip().isdigit():
        if len(row) == OFAC_SDN_COLUMNS:
            return "ofac-sdn"
        if len(row) == OFAC_ALT_COLUMNS and row[2].strip().lower() in OFAC_ALIAS_TYPES:
            return "ofac-alt"
        if len(row) == OFAC_ADD_COLUMNS:
            return "ofac-add"
    raise ListFormatError(
        f"{path}, line 1: not a list format this assistant reads (OFAC sdn.csv/alt.csv/add.csv, an "
        "OpenSanctions FollowTheMoney JSON-lines export, or the project's CSV)"
    )


def read_list_files(paths: Sequence[Path]) -> ParsedList:
    """Read the files of one list (OFAC: sdn.csv with its alt.csv and add.csv; else one file)."""
    if not paths:
        raise ListFormatError("no list file given")
    texts = {path: _read(path) for path in paths}
    formats = {path: detect_format(path, text) for path, text in texts.items()}
    digest = hashlib.sha256()
    for path in paths:
        digest.update(texts[path].encode("utf-8"))
    kinds = set(formats.values())
    if kinds <= {"ofac-sdn", "ofac-alt", "ofac-add"}:
        parsed = _read_ofac(texts, formats)
    elif len(paths) > 1:
        raise ListFormatError(
            "several files form one list only for OFAC (sdn.csv with alt.csv and add.csv); load "
            + ", ".join(str(p) for p in paths)
            + " one at a time"
        )
    elif kinds == {"ftm"}:
        parsed = _read_ftm(paths[0], texts[paths[0]])
    else:
        parsed = _read_project_csv(paths[0])
    parsed.digest = digest.hexdigest()[:16]
    if not parsed.entries:
        raise ListFormatError(f"{paths[0]}: no parties found in the file")
    return parsed


# -- OFAC ----------------------------------------------------------------------------------------------------


def _ofac(value: str) -> str:
    cleaned = value.strip()
    return "" if cleaned == OFAC_EMPTY else cleaned


def _ofac_rows(path: Path, text: str, width: int) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if not row or (len(row) == 1 and row[0].strip() in ("", _OFAC_EOF)):
                continue
            if len(row) != width:
                raise ListFormatError(
                    f"{path}, line {reader.line_num}: expected {width} comma-separated fields, found {len(row)}"
                )
            if not row[0].strip().isdigit():
                raise ListFormatError(f"{path}, line {reader.line_num}: ent_num {row[0]!r} is not a number")
            yield reader.line_num, row
    except csv.Error as exc:
        raise ListFormatError(f"{path}, line {reader.line_num}: {exc}") from exc


def _programs(value: str) -> str:
    # OFAC writes several programmes as "SDGT] [IRGC" inside one field.
    return ", ".join(p.strip(" []") for p in _ofac(value).split("] [") if p.strip(" []"))


def _read_ofac(texts: dict[Path, str], formats: dict[Path, str]) -> ParsedList:
    sdn_files = [p for p, f in formats.items() if f == "ofac-sdn"]
    if len(sdn_files) != 1:
        found = ", ".join(str(p) for p in formats) or "nothing"
        raise ListFormatError(f"an OFAC list needs exactly one sdn.csv (the file of listed names); given {found}")
    sdn_path = sdn_files[0]
    records: dict[str, dict[str, Any]] = {}
    for line, row in _ofac_rows(sdn_path, texts[sdn_path], OFAC_SDN_COLUMNS):
        ent_num, name, sdn_type, program = row[0].strip(), _ofac(row[1]), _ofac(row[2]).lower(), row[3]
        if not name or normalize_name(name).is_empty:
            raise ListFormatError(f"{sdn_path}, line {line}: entry {ent_num} has no name")
        remarks = _ofac(row[11])
        countries = [code for code in (_country_code(_ofac(row[9])),) if code]
        countries += [c for m in _NATIONALITY_RE.finditer(remarks) if (c := _country_code(m.group(1)))]
        weak = [m.group(1).strip() for m in _WEAK_AKA_RE.finditer(remarks)]
        records[ent_num] = {
            "name": name,
            "kind": sdn_type or "entity",
            "programs": _programs(program),
            "names": [ListedName(name, PRIMARY)] + [ListedName(w, WEAK) for w in weak if w],
            "weak": {normalize_name(w).key for w in weak},
            "countries": countries,
        }
    for path, fmt in formats.items():
        if fmt == "ofac-alt":
            for line, row in _ofac_rows(path, texts[path], OFAC_ALT_COLUMNS):
                record = _ofac_record(records, row[0].strip(), path, line)
                alias, remarks = _ofac(row[3]), _ofac(row[4]).lower()
                if not alias:
                    continue
                is_weak = "weak" in remarks or normalize_name(alias).key in record["weak"]
                if is_weak and any(n.label == alias for n in record["names"]):
                    continue  # already read from the remarks
                record["names"].append(ListedName(alias, WEAK if is_weak else STRONG))
        elif fmt == "ofac-add":
            for line, row in _ofac_rows(path, texts[path], OFAC_ADD_COLUMNS):
                record = _ofac_record(records, row[0].strip(), path, line)
                code = _country_code(_ofac(row[4]))
                if code:
                    record["countries"].append(code)
    entries = [
        ListEntry(
            key=ent_num,
            name=r["name"],
            kind=r["kind"],
            names=tuple(dict.fromkeys(r["names"])),
            countries=tuple(dict.fromkeys(r["countries"])),
            programs=r["programs"],
            source=f"OFAC SDN entry {ent_num}",
        )
        for ent_num, r in records.items()
    ]
    return ParsedList("ofac-sdn", "OFAC SDN", entries, tuple(str(p) for p in texts))


def _ofac_record(records: dict[str, dict[str, Any]], ent_num: str, path: Path, line: int) -> dict[str, Any]:
    try:
        return records[ent_num]
    except KeyError:
        raise ListFormatError(f"{path}, line {line}: ent_num {ent_num} is not in the sdn.csv given with it") from None


# -- OpenSanctions / FollowTheMoney ----------------------------------------------------------------------------


def _strings(properties: dict[str, Any], prop: str, path: Path, line: int) -> list[str]:
    values = properties.get(prop) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ListFormatError(f"{path}, line {line}: properties.{prop} must be a list of strings")
    return [v.strip() for v in values if v.strip()]


def _read_ftm(path: Path, text: str) -> ParsedList:
    entries: list[ListEntry] = []
    skipped = 0
    datasets: dict[str, None] = {}
    last_seen = ""
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            entity = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ListFormatError(f"{path}, line {line}: not valid JSON ({exc.msg})") from exc
        if not isinstance(entity, dict) or not isinstance(entity.get("properties"), dict):
            raise ListFormatError(f"{path}, line {line}: not a FollowTheMoney entity (no properties object)")
        schema, entity_id = entity.get("schema"), entity.get("id")
        if not isinstance(schema, str) or not isinstance(entity_id, str) or not entity_id:
            raise ListFormatError(f"{path}, line {line}: an entity needs a text id and schema")
        if schema not in FTM_PARTY_SCHEMAS or entity.get("target") is False:
            skipped += 1
            continue
        props = entity["properties"]
        names = _strings(props, "name", path, line)
        caption = entity.get("caption") if isinstance(entity.get("caption"), str) else ""
        if not names and not caption:
            raise ListFormatError(f"{path}, line {line}: entity {entity_id} has no name")
        primary = caption or names[0]
        listed = [ListedName(primary, PRIMARY)]
        listed += [ListedName(n, STRONG) for n in names + _strings(props, "alias", path, line)]
        listed += [ListedName(n, STRONG) for n in _strings(props, "previousName", path, line)]
        listed += [ListedName(n, WEAK) for n in _strings(props, "weakAlias", path, line)]
        countries = [c.upper() for p in _FTM_COUNTRY_PROPS for c in _strings(props, p, path, line) if len(c) == 2]
        entity_datasets = [str(d) for d in entity.get("datasets") or []]
        datasets.update(dict.fromkeys(entity_datasets))
        seen = entity.get("last_seen")
        if isinstance(seen, str) and seen > last_seen:
            last_seen = seen
        first_seen = entity.get("first_seen")
        entries.append(
            ListEntry(
                key=entity_id,
                name=primary,
                kind={"Person": "individual", "Vessel": "vessel", "Airplane": "aircraft"}.get(schema, "entity"),
                names=_unique_names(listed),
                countries=tuple(dict.fromkeys(countries)),
                programs=", ".join(entity_datasets),
                listed_on=first_seen[:10] if isinstance(first_seen, str) else "",
                source=f"OpenSanctions entity {entity_id}",
            )
        )
    name = "OpenSanctions " + ", ".join(list(datasets)[:3]) if datasets else "OpenSanctions"
    return ParsedList("ftm", name, entries, (str(path),), published=last_seen[:10], skipped=skipped)


def _unique_names(names: list[ListedName]) -> tuple[ListedName, ...]:
    """Each label once, at its strongest (a name that is also a weak alias stays strong)."""
    order = {PRIMARY: 0, STRONG: 1, WEAK: 2}
    best: dict[str, ListedName] = {}
    for n in names:
        if n.label not in best or order[n.strength] < order[best[n.label].strength]:
            best[n.label] = n
    return tuple(best.values())


# -- the project's CSV -------------------------------------------------------------------------------------


def _read_project_csv(path: Path) -> ParsedList:
    try:
        parties = load_restricted_parties(path)
    except ConfigError as exc:  # the shared CSV reader's message (file, line, problem), refused as input
        raise ListFormatError(str(exc)) from exc
    entries = [
        ListEntry(
            key=f"line {p.line}",
            name=p.name,
            kind="",
            names=_unique_names([ListedName(p.name, PRIMARY), *(ListedName(a, STRONG) for a in p.aliases)]),
            programs=p.list_name,
            listed_on=p.listed_on,
            source=p.source,
        )
        for p in parties
    ]
    return ParsedList("project-csv", path.stem, entries, (str(path),))


# -- countries ---------------------------------------------------------------------------------------------


@functools.cache
def _country_code(value: str) -> str:
    """ISO alpha-2 code of a country name or code as lists write it ('' when it is not a country)."""
    import pycountry

    text = value.strip().strip(".")
    if not text:
        return ""
    if len(text) == 2 and text.isalpha():
        found = pycountry.countries.get(alpha_2=text.upper())
        return found.alpha_2 if found else ""
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        pass
    try:
        return str(pycountry.countries.search_fuzzy(text)[0].alpha_2)
    except LookupError:
        return ""


def country_code(value: str) -> str:
    """ISO alpha-2 code for a country name or code ('' when unknown); for the CLI's --country."""
    return _country_code(value)
