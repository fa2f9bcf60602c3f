"""Fixture files for the restricted-party list tests, written as the publishers write them.

Every entity is fictional. The OFAC files follow the legacy SDN layout (no header, OFAC's column order,
'-0- ' for empty fields, weak a.k.a.s quoted in the remarks, a Ctrl-Z line at the end); the OpenSanctions
file is FollowTheMoney JSON lines.
"""

from __future__ import annotations

import json
from pathlib import Path

EMPTY = "-0- "

SDN_ROWS = [
    # ent_num, name, type, program, title, call sign, vessel type, tonnage, GRT, flag, owner, remarks
    [
        "7001",
        "MERZLYAKOV, Gennady Pavlovich",
        "individual",
        "RUSSIA-EO14024",
        *[EMPTY] * 7,
        "DOB 04 Feb 1966; nationality Russia; a.k.a. 'GENA SEVER'; Gender Male.",
    ],
    ["7002", "TULPAR KRISTALL SISTEMY OOO", EMPTY, "RUSSIA-EO14024] [CYBER2", *[EMPTY] * 7, "Website example.invalid."],
    ["7003", "BAHRAMI NAVARD, Soraya", "individual", "IRAN", *[EMPTY] * 7, "nationality Iran."],
    [
        "7004",
        "GLACIER WREN",
        "vessel",
        "IRAN",
        EMPTY,
        "9WRN7",
        "Crude Oil Tanker",
        EMPTY,
        "152000",
        "Iran",
        EMPTY,
        "Vessel Registration Identification IMO 9000017.",
    ],
    ["7005", "FALCONBRAE TRADING FZE", EMPTY, "SDGT", *[EMPTY] * 7, EMPTY],
]
ALT_ROWS = [
    ["7001", "8001", "aka", "MERZLYAKOV, Gennadiy", EMPTY],
    ["7001", "8002", "aka", "Мерзляков Геннадий Павлович", EMPTY],
    ["7002", "8003", "fka", "TULPAR CRYSTAL SYSTEMS LLC", EMPTY],
    ["7002", "8004", "aka", "ООО Тулпар Кристалл Системы", EMPTY],
    ["7003", "8005", "aka", "ثريا بهرامي نورد", EMPTY],
    ["7005", "8006", "aka", "FALCONBRAE", EMPTY],
]
ADD_ROWS = [
    ["7002", "9001", "ul. Primernaya 5", "Kazan", "Russia", EMPTY],
    ["7005", "9002", EMPTY, "Dubai", "United Arab Emirates", EMPTY],
]


def _csv_line(fields: list[str]) -> str:
    return ",".join('"' + f.replace('"', '""') + '"' if f != EMPTY else f for f in fields)


def write_ofac(folder: Path, sdn_rows: list[list[str]] | None = None) -> list[Path]:
    """sdn.csv, alt.csv and add.csv in `folder`, as OFAC publishes them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, rows in (("sdn.csv", sdn_rows or SDN_ROWS), ("alt.csv", ALT_ROWS), ("add.csv", ADD_ROWS)):
        path = folder / name
        path.write_text("".join(_csv_line(r) + "\r\n" for r in rows) + "\x1a\r\n", encoding="utf-8")
        files.append(path)
    return files


FTM_ENTITIES = [
    {
        "id": "os-fict-ilvarsson",
        "schema": "Person",
        "caption": "Halvard Ilvarsson",
        "properties": {
            "name": ["Halvard Ilvarsson"],
            "alias": ["Хальвард Ильварссон"],
            "weakAlias": ["The Skipper"],
            "nationality": ["is"],
        },
        "datasets": ["us_ofac_sdn"],
        "topics": ["sanction"],
        "first_seen": "2023-05-02T10:00:00",
        "last_seen": "2026-11-20T08:00:00",
        "last_change": "2025-01-10T08:00:00",
        "target": True,
    },
    {
        "id": "os-fict-qasr",
        "schema": "Company",
        "caption": "Qasr al-Nujum Technical Supplies LLC",
        "properties": {
            "name": ["Qasr al-Nujum Technical Supplies LLC"],
            "alias": ["قصر النجوم للتجهيزات التقنية"],
            "country": ["sy"],
        },
        "datasets": ["eu_fsf"],
        "topics": ["sanction"],
        "first_seen": "2022-03-15T10:00:00",
        "last_seen": "2026-11-21T08:00:00",
        "target": True,
    },
    {"id": "addr-1", "schema": "Address", "properties": {"full": ["Somewhere 1"]}, "datasets": ["eu_fsf"]},
]


def write_ftm(path: Path, entities: list[dict] | None = None) -> Path:
    """An OpenSanctions entity export (JSON lines)."""
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities or FTM_ENTITIES), "utf-8")
    return path


def write_project_csv(path: Path) -> Path:
    """The project's own list format."""
    path.write_text(
        "name,aliases,list,source,listed_on\n"
        "Borsavik Relay Systems AB,Borsavik Relay|Борсавик Релей,Internal Denied List,case DD-2026-0004,2026-01-05\n",
        encoding="utf-8",
    )
    return path
