"""Cases with their audit trails as CSV: one row per event, case columns repeated, formulas defused."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .models import Case, CaseEvent

_CSV_CASE_FIELDS = ("ref", "status", "level", "org", "assignee", "sla_due_at", "created_at", "updated_at", "summary")
_CSV_EVENT_FIELDS = ("seq", "actor", "action", "from_status", "to_status", "comment", "created_at", "prev_hash", "hash")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text_ = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    # Spreadsheets run cells that start like a formula; case text comes from outside, so defuse it.
    if text_[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text_
    return text_


def csv_export(cases: Sequence[Case], trail: Mapping[str, Sequence[CaseEvent]]) -> str:
    """Every case with every event of its trail, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [*_CSV_CASE_FIELDS, "requester", "facts", "reasons", *(f"event_{name}" for name in _CSV_EVENT_FIELDS)]
    )
    for case in cases:
        data = case.to_dict()
        case_cells = [_cell(data[name]) for name in _CSV_CASE_FIELDS]
        case_cells += [_cell(data["requester"]), _cell(case.facts), _cell(case.reasons)]
        for ev in trail.get(case.ref, ()):
            event_data = ev.to_dict()
            writer.writerow(case_cells + [_cell(event_data[name]) for name in _CSV_EVENT_FIELDS])
    return out.getvalue()
