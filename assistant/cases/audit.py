"""The audit trail's hash chain: how events are hashed and how a stored trail is checked.

Each case has its own chain. Event n carries `prev_hash` = the hash of event n-1 (a fixed genesis value
for n = 1) and `hash` = SHA-256 over a canonical JSON of its fields plus `prev_hash`. One chain per case
keeps writers to different cases from queueing behind a single global head.

Every event's payload also holds a fingerprint of the case row as that event left it (`payload["case"]`),
and the case row keeps `event_count` and `head_hash`, so `verify` can tell:

- edited:      an event's contents no longer match its hash;
- deleted:     a gap in the sequence, a missing newest event, or a case without events;
- inserted:    an event that does not follow from its predecessor, or events beyond the case's count;
- case_edited: the case row (status, level, owner, summary, facts, ...) differs from what its trail says;
- missing_case: a gap in the gap-free reference numbers, or events whose case row has gone.

Limits: anyone able to write the database and recompute SHA-256 can rewrite a whole chain consistently,
and deleting the newest case together with its counter goes unseen. The chain makes quiet edits
visible; it is not a signature. Copy exports (or `verify` output) elsewhere to anchor a point in time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

GENESIS: Final = "0" * 64
SCHEME_VERSION: Final = 1

# Fields of the case row a decision depends on; an edit to any of them behind our back is reported.
SNAPSHOT_FIELDS: Final = ("status", "level", "org", "assignee")


class StoredEvent(Protocol):
    """What the checker needs to read from an event, whatever object holds it."""

    @property
    def seq(self) -> int: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def from_status(self) -> str | None: ...
    @property
    def to_status(self) -> str: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


def canonical_json(value: Any) -> str:
    """One stable text for a JSON value: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def timestamp(value: datetime) -> str:
    """A datetime as hashed: UTC, microseconds, ISO 8601 (what both back-ends round-trip exactly)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(
    *,
    seq: int,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str,
    comment: str | None,
    created_at: datetime,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) that seals one event and links it to the previous one."""
    return _sha256(
        canonical_json(
            {
                "v": SCHEME_VERSION,
                "seq": seq,
                "actor": actor,
                "action": action,
                "from_status": from_status,
                "to_status": to_status,
                "comment": comment,
                "created_at": timestamp(created_at),
                "payload": payload,
                "prev_hash": prev_hash,
            }
        )
    )


def hash_of(event: StoredEvent) -> str:
    """Recompute an event's hash from its stored fields."""
    return event_hash(
        seq=event.seq,
        actor=event.actor,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        comment=event.comment,
        created_at=event.created_at,
        payload=event.payload,
        prev_hash=event.prev_hash,
    )


def case_snapshot(state: Mapping[str, Any]) -> dict[str, Any]:
    """What an event records about its case: a hash of the whole state and the key fields in clear.

    `state` holds the case's decision-relevant fields as plain JSON values (times as `timestamp()`).
    """
    snapshot = {name: state.get(name) for name in SNAPSHOT_FIELDS}
    snapshot["hash"] = _sha256(canonical_json(dict(state)))
    return snapshot


@dataclass(frozen=True)
class VerifyProblem:
    """One finding of `verify`: which case, which event (if any), what kind, in words."""

    ref: str
    seq: int | None
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"{self.ref} event {self.seq}" if self.seq is not None else self.ref
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of checking every case and its chain."""

    cases: int
    events: int
    problems: list[VerifyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.problems

    def summary(self) -> str:
        """One line for people."""
        if self.ok:
            return f"audit trail intact: {self.cases} cases, {self.events} events verified"
        return f"audit trail damaged: {len(self.problems)} problem(s) in {self.cases} cases, {self.events} events"

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "ok": self.ok,
            "cases": self.cases,
            "events": self.events,
            "problems": [{"ref": p.ref, "seq": p.seq, "kind": p.kind, "detail": p.detail} for p in self.problems],
        }


def _span(first: int, last: int) -> str:
    return f"event {first} is" if first == last else f"events {first}-{last} are"


def check_case(
    ref: str,
    state: Mapping[str, Any],
    event_count: int,
    head_hash: str,
    events: Sequence[StoredEvent],
) -> list[VerifyProblem]:
    """Everything wrong with one case's chain and row. `events` must be sorted by `seq`."""
    problems: list[VerifyProblem] = []
    if not events:
        return [VerifyProblem(ref, None, "deleted", "the case has no audit events; its 'created' event is gone")]
    expected_seq, prev_hash = 1, GENESIS
    for event in events:
        if event.seq > expected_seq:
            problems.append(
                VerifyProblem(ref, expected_seq, "deleted", f"{_span(expected_seq, event.seq - 1)} missing")
            )
        elif event.prev_hash != prev_hash:
            problems.append(
                VerifyProblem(
                    ref,
                    event.seq,
                    "inserted",
                    "does not follow from the event before it (an event was inserted or its predecessor rewritten)",
                )
            )
        if hash_of(event) != event.hash:
            problems.append(VerifyProblem(ref, event.seq, "edited", "its contents no longer match its hash"))
        expected_seq, prev_hash = event.seq + 1, event.hash
    last_seq = expected_seq - 1
    if event_count > last_seq:
        problems.append(VerifyProblem(ref, last_seq + 1, "deleted", f"{_span(last_seq + 1, event_count)} missing"))
    elif event_count < last_seq:
        problems.append(
            VerifyProblem(
                ref, event_count + 1, "inserted", f"events after {event_count} were added outside the application"
            )
        )
    elif head_hash != prev_hash:
        problems.append(VerifyProblem(ref, last_seq, "edited", "the newest event was replaced after it was written"))
    if not problems:
        problems.extend(_check_row(ref, state, events[-1]))
    return problems


def _check_row(ref: str, state: Mapping[str, Any], last: StoredEvent) -> list[VerifyProblem]:
    recorded = last.payload.get("case") if isinstance(last.payload, dict) else None
    if not isinstance(recorded, dict):
        return [VerifyProblem(ref, last.seq, "edited", "the event carries no fingerprint of its case")]
    current = case_snapshot(state)
    if current["hash"] == recorded.get("hash"):
        return []
    changed = [
        f"{name} is {current[name]!r} in the table but {recorded.get(name)!r} in the audit trail"
        for name in SNAPSHOT_FIELDS
        if current[name] != recorded.get(name)
    ]
    detail = "; ".join(changed) or "summary, facts, reasons, requester, dates or reference changed"
    return [VerifyProblem(ref, None, "case_edited", f"the case row was changed outside the application: {detail}")]


def check_refs(
    ref_format: str, issued: Mapping[int, Iterable[int]], counters: Mapping[int, int]
) -> list[VerifyProblem]:
    """Gaps in the gap-free reference numbers, year by year: each names a deleted case.

    `issued` maps a year to the numbers present in the table; `counters` to the last number handed out.
    `ref_format` is a format string with `year` and `seq` fields, e.g. "DD-{year}-{seq:04d}".
    """
    problems: list[VerifyProblem] = []
    for year in sorted(set(issued) | set(counters)):
        present = set(issued.get(year, ()))
        top = max(max(present, default=0), counters.get(year, 0))
        for seq in range(1, top + 1):
            if seq not in present:
                ref = ref_format.format(year=year, seq=seq)
                problems.append(
                    VerifyProblem(ref, None, "missing_case", "this reference was issued but its case is gone")
                )
    return problems
