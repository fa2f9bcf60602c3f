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

The chain alone is no signature: anyone able to write the database and recompute SHA-256 can rewrite a
whole chain consistently, or delete a case's newest events and set its row back. Two anchors outside the
database close that:

- MACs: with ASSISTANT_AUDIT_KEY set, each event also carries an HMAC-SHA256 of its case reference and hash
  (`event_mac`). Without the key, nobody can make one, so `verify` reports a rewritten event as forged. Events
  written before the key was set carry none and are counted as unauthenticated; an event without a MAC after
  a signed one of the same case is reported (a MAC was stripped, or a writer lacks the key).
- Checkpoints: `make_checkpoint` signs every case's head (reference, event count, head hash) with the same
  key. Kept where the database's writers cannot change it, it lets `check_checkpoint` see what MACs cannot:
  deleted newest events, a case rolled back, a case deleted with its counter. Cases opened later are fine.

What those add to `verify`'s findings:

- forged:            an event's MAC does not match (rewritten, or made without the key);
- mac_missing:       an event without a MAC after a signed one of the same case;
- truncated:         a case has fewer events than the checkpoint saw;
- rewritten:         the event the checkpoint saw last is not the one stored now;
- missing_case:      a case the checkpoint saw is gone;
- forged_checkpoint: the checkpoint's own signature does not hold (nothing is compared with it).

Limits: a checkpoint vouches only for what existed when it was taken. Newest events deleted (with the row
set back) or a case deleted after the newest checkpoint go unseen, and so does a case opened after it and
rewritten with no MACs at all (it reads as unauthenticated). Take checkpoints often (e.g. hourly, from
cron), and once every older event is signed, read any unauthenticated event as suspect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from ..errors import CaseInputError, ConfigError

GENESIS: Final = "0" * 64
SCHEME_VERSION: Final = 1
MIN_KEY_CHARS: Final = 32
CHECKPOINT_KIND: Final = "assistant-audit-checkpoint"
CHECKPOINT_VERSION: Final = 1

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
    """The outcome of checking every case and its chain (and, when given, the MACs and a checkpoint)."""

    cases: int
    events: int
    problems: list[VerifyProblem] = field(default_factory=list)
    macs_checked: bool = False
    authenticated: int = 0
    unauthenticated: int = 0
    checkpoint: str | None = None  # when the checkpoint compared against was taken
    checkpoint_cases: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was found (unauthenticated older events are not a finding)."""
        return not self.problems

    def summary(self) -> str:
        """One line for people."""
        if self.ok:
            return f"audit trail intact: {self.cases} cases, {self.events} events verified"
        return f"audit trail damaged: {len(self.problems)} problem(s) in {self.cases} cases, {self.events} events"

    def notes(self) -> list[str]:
        """What was and was not checked, one line each, so that a pass is not read as more than it is."""
        if self.macs_checked:
            macs = f"MACs checked with the audit key: {self.authenticated} event(s) authenticated"
            if self.unauthenticated:
                macs += f", {self.unauthenticated} older event(s) without a MAC (unauthenticated)"
        else:
            macs = "MACs not checked: ASSISTANT_AUDIT_KEY is not set, so a consistently rewritten chain would pass"
        if self.checkpoint is not None:
            anchor = f"compared with the checkpoint of {self.checkpoint} ({self.checkpoint_cases} cases)"
        else:
            anchor = "no checkpoint compared: newest events deleted with the case row set back would pass (--against)"
        return [macs, anchor]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        checkpoint = None
        if self.checkpoint is not None:
            checkpoint = {"created_at": self.checkpoint, "cases": self.checkpoint_cases}
        return {
            "ok": self.ok,
            "cases": self.cases,
            "events": self.events,
            "macs_checked": self.macs_checked,
            "authenticated": self.authenticated,
            "unauthenticated": self.unauthenticated,
            "checkpoint": checkpoint,
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


# -- MACs: an anchor outside the database --------------------------------------------------------------------


class SignedEvent(StoredEvent, Protocol):
    """A stored event with its MAC (None when it was written without the audit key)."""

    @property
    def mac(self) -> str | None: ...


def audit_key(secret: str) -> bytes | None:
    """The HMAC key from ASSISTANT_AUDIT_KEY's value, or None when it is not set. Refuses short keys."""
    cleaned = secret.strip()
    if not cleaned:
        return None
    if len(cleaned) < MIN_KEY_CHARS:
        raise ConfigError(
            f"ASSISTANT_AUDIT_KEY is too short; use at least {MIN_KEY_CHARS} random characters"
            " (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return cleaned.encode("utf-8")


def _hmac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A public name for a key (an HMAC of a fixed label), so a checkpoint can say which key signed it."""
    return _hmac(key, "assistant audit key id")[:16]


def event_mac(key: bytes, ref: str, event_hash: str) -> str:
    """The HMAC-SHA256 (hex) that authenticates one event: its hash covers its contents and place in the
    chain, the reference binds it to its case."""
    return _hmac(key, canonical_json({"v": SCHEME_VERSION, "ref": ref, "hash": event_hash}))


@dataclass(frozen=True)
class MacCheck:
    """The MAC findings for one case's chain."""

    problems: list[VerifyProblem]
    authenticated: int
    unauthenticated: int


def check_macs(ref: str, events: Sequence[SignedEvent], key: bytes) -> MacCheck:
    """Each event's MAC under `key`. `events` must be sorted by `seq`.

    Events without a MAC before the first signed one were written before the key was set: unauthenticated,
    not a finding. One without a MAC after a signed one is a finding, or stripping MACs would hide a rewrite.
    """
    problems: list[VerifyProblem] = []
    authenticated = unauthenticated = 0
    signed_before = False
    for event in events:
        if event.mac is None:
            if not signed_before:
                unauthenticated += 1
                continue
            detail = "carries no MAC although an earlier event of this case does (stripped, or written without the key)"
            problems.append(VerifyProblem(ref, event.seq, "mac_missing", detail))
            continue
        signed_before = True
        if hmac.compare_digest(event.mac, event_mac(key, ref, event.hash)):
            authenticated += 1
        else:
            detail = "its MAC does not match: it was written or rewritten by someone without the audit key"
            problems.append(VerifyProblem(ref, event.seq, "forged", detail))
    return MacCheck(problems, authenticated, unauthenticated)


# -- checkpoints ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseHead:
    """Where one case's trail ended when a checkpoint was taken."""

    ref: str
    events: int
    head: str


def make_checkpoint(heads: Iterable[CaseHead], key: bytes, now: datetime) -> dict[str, Any]:
    """A signed digest of every case's head, as JSON-ready data (`mac` signs all the other fields)."""
    body: dict[str, Any] = {
        "kind": CHECKPOINT_KIND,
        "version": CHECKPOINT_VERSION,
        "created_at": timestamp(now),
        "key_id": key_id(key),
        "cases": [{"ref": h.ref, "events": h.events, "head": h.head} for h in sorted(heads, key=lambda h: h.ref)],
    }
    return {**body, "mac": _hmac(key, canonical_json(body))}


def _is_head(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    count = entry.get("events")
    return (
        isinstance(entry.get("ref"), str)
        and isinstance(count, int)
        and not isinstance(count, bool)
        and count >= 1
        and isinstance(entry.get("head"), str)
    )


def read_checkpoint(text: str, source: str = "the checkpoint") -> dict[str, Any]:
    """A checkpoint's contents, checked for shape (its signature is checked by `check_checkpoint`)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseInputError(f"{source} is not JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(doc, dict) or doc.get("kind") != CHECKPOINT_KIND:
        raise CaseInputError(f"{source} is not an audit checkpoint (those come from `assistant cases checkpoint`)")
    if doc.get("version") != CHECKPOINT_VERSION:
        raise CaseInputError(f"{source} is checkpoint version {doc.get('version')!r}; this version reads 1")
    cases = doc.get("cases")
    fields_ok = isinstance(doc.get("created_at"), str) and isinstance(doc.get("mac"), str)
    if not (fields_ok and isinstance(cases, list) and all(_is_head(entry) for entry in cases)):
        raise CaseInputError(f"{source} is damaged: its time, signature or list of cases is missing or malformed")
    return doc


def check_checkpoint(
    doc: Mapping[str, Any], key: bytes, trails: Mapping[str, Mapping[int, str]]
) -> list[VerifyProblem]:
    """What changed since a checkpoint (from `read_checkpoint`) in ways the application never makes.

    `trails` maps every case's reference to its stored events' hashes by `seq`. Each case the checkpoint
    lists must still exist and still hold the event it saw last; cases opened later are not its business.
    An unsigned or foreign checkpoint is reported and nothing is compared with it.
    """
    body = {name: value for name, value in doc.items() if name != "mac"}
    if not hmac.compare_digest(str(doc["mac"]), _hmac(key, canonical_json(body))):
        signer = "it was signed with another audit key" if doc.get("key_id") != key_id(key) else ""
        why = signer or "it was changed after it was signed"
        detail = f"the checkpoint of {doc['created_at']} has no valid signature ({why}); nothing was compared with it"
        return [VerifyProblem("checkpoint", None, "forged_checkpoint", detail)]
    label = f"the checkpoint of {doc['created_at']}"
    problems: list[VerifyProblem] = []
    for entry in doc["cases"]:
        ref, count, head = entry["ref"], entry["events"], entry["head"]
        trail = trails.get(ref)
        if trail is None:
            problems.append(VerifyProblem(ref, None, "missing_case", f"{label} saw it with {count} events; it is gone"))
            continue
        top = max(trail, default=0)
        if top < count:
            detail = f"{label} saw {count} events, {top} remain: the newest were deleted"
            problems.append(VerifyProblem(ref, count, "truncated", detail))
        elif trail.get(count) != head:
            detail = f"this is not the event {label} saw: the trail was rewritten"
            problems.append(VerifyProblem(ref, count, "rewritten", detail))
    return problems
