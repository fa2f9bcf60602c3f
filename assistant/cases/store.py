"""The case store: opens, decides and audits compliance cases in SQLite or PostgreSQL.

Every change runs in one short write transaction that updates the case row and appends its audit event
together, so a crash leaves either both or neither. On SQLite those transactions start with
`BEGIN IMMEDIATE`, so concurrent writers queue on the busy timeout instead of failing half-way; on
PostgreSQL the case row (or the year's reference counter) is locked for the duration.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy import Select, func, literal, select, text, tuple_, update
from sqlalchemy import case as sql_case
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..database import WRITE_OPTION, database_url, make_engine, migrations
from ..database.schema import UTCDateTime
from ..enums import LEVELS, STATUSES, UNDECIDED
from ..errors import CaseInputError, CaseNotFound, CaseStoreUnavailable, ConfigError, IdempotencyConflict
from . import audit, workflow
from .export import csv_export
from .models import Case, CaseEvent, CaseEventRow, CaseRow, RefCounterRow, Requester

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

REF_FORMAT: Final = "DD-{year}-{seq:04d}"
EXPORT_FORMATS: Final = ("csv", "json")
_MIGRATE_ATTEMPTS: Final = 3

MAX_SUMMARY_CHARS: Final = 20_000
MAX_COMMENT_CHARS: Final = 10_000
MAX_NAME_CHARS: Final = 200
MAX_JSON_CHARS: Final = 200_000
MAX_PAGE: Final = 200

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")

_REF_PATTERN = re.compile(r"DD-(\d{4})-(\d{1,9})")
# Any constant works; it only has to be the same for every process that migrates this database.
_MIGRATION_LOCK_KEY = 0x63617365


def _same_request(existing: Case, fingerprint: str | None) -> Case:
    """The case a retry gets back; refused when the key was first used for another request."""
    stored = existing.facts.get("request_fingerprint")
    if fingerprint is not None and stored is not None and stored != fingerprint:
        raise IdempotencyConflict(
            "this idempotency key was already used for a different request; use a new key for a new deal"
        )
    return existing


def _encode_cursor(group: int, due: datetime, position: int) -> str:
    raw = json.dumps([group, due.astimezone(UTC).isoformat(), position]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        group, due, position = json.loads(raw)
        return int(group), datetime.fromisoformat(due), int(position)
    except (ValueError, TypeError) as exc:
        raise CaseInputError("the cursor is not one this queue gave out") from exc


# -- input checks --------------------------------------------------------------------------------------------


def _text(value: object, what: str, limit: int, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CaseInputError(f"{what} is required")
        return None
    if not isinstance(value, str):
        raise CaseInputError(f"{what} must be text")
    cleaned = value.strip()
    if len(cleaned) > limit:
        raise CaseInputError(f"{what} is {len(cleaned)} characters long; the limit is {limit}")
    if "\x00" in cleaned:
        raise CaseInputError(f"{what} contains a NUL character")
    return cleaned


def _name(value: object, what: str) -> str:
    result = _text(value, what, MAX_NAME_CHARS)
    assert result is not None
    return result


def _plain(value: Any) -> Any:
    """Pydantic models and dataclasses as plain dicts; anything else as it is."""
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _json_value(value: Any, what: str) -> Any:
    """`value` as it will read back from the database, so that hashes agree before and after storage."""
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise CaseInputError(f"{what} must be JSON data: {exc}") from exc
    if len(encoded) > MAX_JSON_CHARS:
        raise CaseInputError(f"{what} is too large ({len(encoded)} characters of JSON; the limit is {MAX_JSON_CHARS})")
    return json.loads(encoded)


def _json_default(value: Any) -> Any:
    plain = _plain(value)
    if plain is value:
        raise TypeError(f"{type(value).__name__} is not JSON data")
    return plain


def _reasons(reasons: Sequence[Any]) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    for number, reason in enumerate(reasons, 1):
        item = _plain(reason)
        if not isinstance(item, Mapping):
            raise CaseInputError(f"reason {number} must be an object with text, rule and citations")
        text_ = _text(item.get("text"), f"reason {number} text", MAX_SUMMARY_CHARS)
        rule = item.get("rule") or ""
        citations = item.get("citations") or []
        if not isinstance(rule, str) or not isinstance(citations, Sequence) or isinstance(citations, str):
            raise CaseInputError(f"reason {number}: rule must be text and citations a list")
        entry: dict[str, Any] = {"text": text_, "rule": rule, "citations": [_plain(c) for c in citations]}
        evidence = item.get("evidence") or []
        if not isinstance(evidence, Sequence) or isinstance(evidence, str):
            raise CaseInputError(f"reason {number}: evidence must be a list of quoted words")
        if evidence:
            entry["evidence"] = [str(words) for words in evidence]
        partner_text = item.get("partner_text")
        if partner_text:  # what a partner reading the case is told instead of `text`
            entry["partner_text"] = _text(partner_text, f"reason {number} partner text", MAX_SUMMARY_CHARS)
        cleaned.append(entry)
    result: list[dict[str, Any]] = _json_value(cleaned, "reasons")
    return result


def normalise_ref(ref: object) -> str:
    """A case reference in its canonical form (`dd-2026-1` reads as DD-2026-0001), or CaseNotFound."""
    if isinstance(ref, str):
        match = _REF_PATTERN.fullmatch(ref.strip().upper())
        if match:
            return REF_FORMAT.format(year=int(match.group(1)), seq=int(match.group(2)))
    raise CaseNotFound(f"no case {ref!r}: references look like DD-2026-0001")


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- row <-> record ------------------------------------------------------------------------------------------


def _case(row: CaseRow) -> Case:
    return Case(
        ref=row.ref,
        status=row.status,
        level=row.level,
        summary=row.summary,
        facts=row.facts,
        reasons=row.reasons,
        requester=Requester(row.requester_user, row.requester_channel, row.requester_org),
        org=row.org,
        assignee=row.assignee,
        sla_due_at=row.sla_due_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        idempotency_key=row.idempotency_key,
    )


def _event(ref: str, row: CaseEventRow) -> CaseEvent:
    return CaseEvent(
        ref=ref,
        seq=row.seq,
        actor=row.actor,
        action=row.action,
        from_status=row.from_status,
        to_status=row.to_status,
        comment=row.comment,
        created_at=row.created_at,
        payload=row.payload,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _state(row: CaseRow) -> dict[str, Any]:
    """The case fields an audit event vouches for, as JSON values."""
    return {
        "ref": row.ref,
        "status": row.status,
        "level": row.level,
        "summary": row.summary,
        "facts": row.facts,
        "reasons": row.reasons,
        "requester": {"user_id": row.requester_user, "channel": row.requester_channel, "org": row.requester_org},
        "org": row.org,
        "assignee": row.assignee,
        "sla_due_at": None if row.sla_due_at is None else audit.timestamp(row.sla_due_at),
        "created_at": audit.timestamp(row.created_at),
        "idempotency_key": row.idempotency_key,
    }


# -- the store -----------------------------------------------------------------------------------------------


class CaseStore:
    """Compliance cases and their audit trail, in one SQL database.

    Build it with `CaseStore.from_url(url)` or `create_case_store(settings)`; the schema is migrated to
    the current revision when the store opens. Methods return detached records (`Case`, `CaseEvent`)
    and raise `CaseInputError` subclasses for requests they refuse, having changed nothing.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        sla_business_days: Mapping[str, int | None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        migrate: bool = True,
        audit_key: bytes | None = None,
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._sla = {**workflow.DEFAULT_SLA_BUSINESS_DAYS, **(sla_business_days or {})}
        self._clock = clock
        # Held outside the database (ASSISTANT_AUDIT_KEY): what makes events and checkpoints unforgeable.
        self._audit_key = audit_key
        if migrate:
            self._migrate()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        sla_business_days: Mapping[str, int | None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        audit_key: bytes | None = None,
    ) -> CaseStore:
        """Open (and migrate) the case database at a SQLAlchemy URL; `audit_key` signs the audit trail."""
        return cls(make_engine(url), sla_business_days=sla_business_days, clock=clock, audit_key=audit_key)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for operators' tools and tests."""
        return self._engine

    def dispose(self) -> None:
        """Release the database connections (`close` is the case action)."""
        self._engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()

    # -- sessions --------------------------------------------------------------------------------------------

    @contextmanager
    def _session(self, *, write: bool = False, snapshot: bool = False) -> Iterator[Session]:
        """One transaction. `write` takes the write lock up front; `snapshot` makes every query in it
        see the same state (PostgreSQL's READ COMMITTED would otherwise give each statement its own)."""
        bind = self._writer if write else self._engine
        if snapshot and bind.dialect.name == "postgresql":
            bind = bind.execution_options(isolation_level="REPEATABLE READ")
        try:
            with Session(bind, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as exc:
            message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise CaseStoreUnavailable(f"case database {self._display_url} unavailable: {message}") from exc

    @property
    def _display_url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    def _migrate(self) -> None:
        # Many processes opening a new SQLite database at once queue for its write lock (switching to WAL,
        # then the schema); on a loaded machine the queue can outlast one busy timeout, so wait out a few.
        for attempt in range(_MIGRATE_ATTEMPTS):
            try:
                self._migrate_once()
                return
            except CaseStoreUnavailable as exc:
                if "locked" not in str(exc) or attempt == _MIGRATE_ATTEMPTS - 1:
                    raise
                log.warning("case database busy while opening; trying again", extra={"attempt": attempt + 1})

    def _migrate_once(self) -> None:
        try:
            head = migrations.head_revision()
            with self._engine.connect() as conn:
                if migrations.current_revision(conn) == head:
                    return
            with self._writer.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                # Whoever waited for the lock usually finds the work done; checking first keeps the lock short.
                if migrations.current_revision(conn) == head:
                    return
                migrations.upgrade(conn)
        except OperationalError as exc:
            raise CaseStoreUnavailable(f"cannot open the case database {self._display_url}: {exc.orig or exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("alembic"):
                raise CaseStoreUnavailable(f"cannot migrate the case database: {exc}") from exc
            raise
        log.info("case database migrated to %s", head)

    # -- writing ---------------------------------------------------------------------------------------------

    def create(
        self,
        *,
        level: str,
        summary: str,
        requester: Requester,
        facts: Mapping[str, Any] | None = None,
        reasons: Sequence[Any] = (),
        org: str | None = None,
        idempotency_key: str | None = None,
        actor: str | None = None,
        request_fingerprint: str | None = None,
    ) -> Case:
        """Open a case, or return the one already opened with the same idempotency key.

        A retried request with the same key writes nothing and returns the existing case, even when
        the retry races the original (the unique key decides, the loser reads the winner's case).
        `request_fingerprint` says what the key stands for (requester and deal): the same key with another
        fingerprint is IdempotencyConflict, never the other request's case.
        `org` defaults to the requester's organisation; `actor` to the requester.
        """
        if level not in LEVELS:
            raise CaseInputError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
        clean_summary = _text(summary, "the summary", MAX_SUMMARY_CHARS)
        fact_values = dict(facts or {})
        if request_fingerprint is not None:
            fact_values["request_fingerprint"] = request_fingerprint
        clean_facts = _json_value(fact_values, "the deal facts")
        clean_reasons = _reasons(reasons)
        user = _name(requester.user_id, "the requester")
        channel = _name(requester.channel, "the requester's channel")
        requester_org = _name(requester.org, "the requester's organisation")
        case_org = _name(org if org is not None else requester_org, "the organisation")
        by = _name(actor if actor is not None else user, "the actor")
        key = _text(idempotency_key, "the idempotency key", MAX_NAME_CHARS, required=False)
        assert clean_summary is not None

        if key is not None and (existing := self._by_key(key)) is not None:
            return _same_request(existing, request_fingerprint)
        try:
            with self._session(write=True) as session:
                if key is not None:
                    # Checked again under the write lock: the common retry path ends here without an error.
                    row = session.scalar(select(CaseRow).where(CaseRow.idempotency_key == key))
                    if row is not None:
                        return _same_request(_case(row), request_fingerprint)
                now = self._clock()
                seq = self._next_seq(session, now.year)
                row = CaseRow(
                    ref=REF_FORMAT.format(year=now.year, seq=seq),
                    ref_year=now.year,
                    ref_seq=seq,
                    status="open",
                    level=level,
                    summary=clean_summary,
                    facts=clean_facts,
                    reasons=clean_reasons,
                    requester_user=user,
                    requester_channel=channel,
                    requester_org=requester_org,
                    org=case_org,
                    assignee=None,
                    sla_due_at=workflow.sla_due_at(level, now, self._sla),
                    created_at=now,
                    updated_at=now,
                    idempotency_key=key,
                    event_count=0,
                    head_hash=audit.GENESIS,
                )
                session.add(row)
                session.flush()
                self._append(session, row, by, "created", None, None, now, {"level": level})
                case = _case(row)
        except IntegrityError:
            # A concurrent request with the same key won the race; its case is the answer.
            if key is not None and (existing := self._by_key(key)) is not None:
                return _same_request(existing, request_fingerprint)
            raise
        log.info("case opened", extra={"case_ref": case.ref, "level": level, "org": case_org})
        return case

    def assign(self, ref: str, actor: str, assignee: str, comment: str | None = None) -> Case:
        """Give the case to a reviewer; an open or waiting case moves to in_review."""
        who = _name(assignee, "the assignee")

        def apply(row: CaseRow) -> dict[str, Any]:
            previous, row.assignee = row.assignee, who
            return {"assignee": who, "previous_assignee": previous}

        return self._change(ref, "assign", actor, comment, apply)

    def decide(self, ref: str, decision: str, actor: str, comment: str, *, corrected_level: str | None = None) -> Case:
        """Approve, reject or ask for more information (`needs_info` or `needs-info`); a comment is required.

        `corrected_level` records that compliance judges the deal at another level than triage gave
        ("triage was wrong: should be escalate"); `assistant eval --decided-cases` scores triage on it.
        """
        if corrected_level is not None and corrected_level not in LEVELS:
            raise CaseInputError(f"unknown level {corrected_level!r}; one of {', '.join(LEVELS)}")
        action = workflow.normalise_decision(decision)
        if corrected_level is None:
            return self._change(ref, action, actor, comment)
        return self._change(ref, action, actor, comment, lambda row: {"corrected_level": corrected_level})

    def first_approval(self, ref: str, actor: str, comment: str) -> Case:
        """Record the first of two approvals a prohibited case needs; the case stays in review."""
        return self._change(ref, "first_approval", actor, comment)

    def close(self, ref: str, actor: str, comment: str | None = None) -> Case:
        """Close the case. Closing an undecided case is a withdrawal and needs a comment."""
        return self._change(ref, "close", actor, comment)

    def reopen(self, ref: str, actor: str, comment: str) -> Case:
        """Send a decided or closed case back to in_review; a comment is required."""
        return self._change(ref, "reopen", actor, comment)

    def _change(
        self,
        ref: str,
        action: str,
        actor: str,
        comment: str | None,
        apply: Callable[[CaseRow], dict[str, Any]] | None = None,
    ) -> Case:
        canonical = normalise_ref(ref)
        by = _name(actor, "the actor")
        note = _text(comment, "the comment", MAX_COMMENT_CHARS, required=False)
        with self._session(write=True) as session:
            row = session.scalar(select(CaseRow).where(CaseRow.ref == canonical).with_for_update())
            if row is None:
                raise CaseNotFound(f"no case {canonical}")
            from_status = row.status
            to_status = workflow.next_status(row.ref, action, from_status, note)
            extra = apply(row) if apply else {}
            row.status = to_status
            self._append(session, row, by, action, from_status, note, self._clock(), extra)
            case = _case(row)
        log.info("case %s", action, extra={"case_ref": canonical, "from": from_status, "to": to_status})
        return case

    def _next_seq(self, session: Session, year: int) -> int:
        table = RefCounterRow.metadata.tables[RefCounterRow.__tablename__]
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            session.execute(pg_insert(table).values(year=year, last_seq=0).on_conflict_do_nothing())
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            session.execute(sqlite_insert(table).values(year=year, last_seq=0).on_conflict_do_nothing())
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise ConfigError(f"the case store supports SQLite and PostgreSQL, not {dialect}")
        # The UPDATE holds the counter's row lock until commit, so numbers are unique, and a rolled-back
        # create gives its number back, so they stay gap-free.
        bumped = (
            update(table).where(table.c.year == year).values(last_seq=table.c.last_seq + 1).returning(table.c.last_seq)
        )
        return int(session.execute(bumped).scalar_one())

    def _append(
        self,
        session: Session,
        row: CaseRow,
        actor: str,
        action: str,
        from_status: str | None,
        comment: str | None,
        now: datetime,
        extra: Mapping[str, Any],
    ) -> None:
        seq = row.event_count + 1
        row.updated_at = now
        payload = _json_value({**extra, "case": audit.case_snapshot(_state(row))}, "the event payload")
        digest = audit.event_hash(
            seq=seq,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=row.status,
            comment=comment,
            created_at=now,
            payload=payload,
            prev_hash=row.head_hash,
        )
        session.add(
            CaseEventRow(
                case_id=row.id,
                seq=seq,
                actor=actor,
                action=action,
                from_status=from_status,
                to_status=row.status,
                comment=comment,
                created_at=now,
                payload=payload,
                prev_hash=row.head_hash,
                hash=digest,
                mac=None if self._audit_key is None else audit.event_mac(self._audit_key, row.ref, digest),
            )
        )
        row.event_count = seq
        row.head_hash = digest

    # -- reading ---------------------------------------------------------------------------------------------

    def _by_key(self, key: str) -> Case | None:
        with self._session() as session:
            row = session.scalar(select(CaseRow).where(CaseRow.idempotency_key == key))
            return None if row is None else _case(row)

    def _row(self, session: Session, ref: str, org: str | None) -> CaseRow:
        canonical = normalise_ref(ref)
        row = session.scalar(select(CaseRow).where(CaseRow.ref == canonical))
        # A partner asking about another organisation's case learns nothing, not even that it exists.
        if row is None or (org is not None and row.org != org):
            raise CaseNotFound(f"no case {canonical}")
        return row

    def get(self, ref: str, *, org: str | None = None) -> Case:
        """The case with this reference; with `org`, only if it belongs to that organisation."""
        with self._session() as session:
            return _case(self._row(session, ref, org))

    def events(self, ref: str, *, org: str | None = None) -> builtins.list[CaseEvent]:
        """The case's audit trail, oldest first."""
        with self._session() as session:
            row = self._row(session, ref, org)
            rows = session.scalars(
                select(CaseEventRow).where(CaseEventRow.case_id == row.id).order_by(CaseEventRow.seq)
            )
            return [_event(row.ref, event_row) for event_row in rows]

    def list(
        self,
        *,
        status: str | None = None,
        org: str | None = None,
        level: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[Case]:
        """Cases in reference order, filtered by status, organisation and level (all of them by default)."""
        query = self._filtered(select(CaseRow), status, org, level).order_by(CaseRow.ref_year, CaseRow.ref_seq)
        if limit is not None:
            if limit < 1:
                raise CaseInputError("the limit must be at least 1")
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self._session() as session:
            return [_case(row) for row in session.scalars(query)]

    def count_since(self, org: str, since: datetime) -> int:
        """How many cases `org` opened at or after `since`."""
        query = select(func.count()).select_from(CaseRow).where(CaseRow.org == org, CaseRow.created_at >= since)
        with self._session() as session:
            return int(session.scalar(query) or 0)

    def page(
        self,
        *,
        status: str | None = None,
        org: str | None = None,
        level: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[builtins.list[Case], str | None]:
        """One page of the queue and the cursor of the next (None at the end).

        Undecided cases come first, the soonest SLA due date first; then every other case, newest first.
        The order is computed by the database (no case is ever left out however many there are), and the
        cursor is the position after the last case of the page, so new cases never shift a page.
        """
        if limit < 1 or limit > MAX_PAGE:
            raise CaseInputError(f"the limit must be between 1 and {MAX_PAGE}")
        undecided = CaseRow.status.in_(UNDECIDED)
        group = sql_case((undecided, 0), else_=1)
        # Undecided: by due date (no date last), then reference. Decided: newest reference first.
        due = sql_case((undecided, CaseRow.sla_due_at), else_=None)
        far = datetime(9999, 12, 31, tzinfo=UTC)
        due_key = func.coalesce(due, literal(far, UTCDateTime()))
        order = [group, due_key, sql_case((undecided, CaseRow.id), else_=-CaseRow.id)]
        query = self._filtered(select(CaseRow), status, org, level)
        if cursor is not None:
            after_group, after_due, after_id = _decode_cursor(cursor)
            after = tuple_(literal(after_group), literal(after_due, UTCDateTime()), literal(after_id))
            query = query.where(tuple_(*order) > after)
        query = query.order_by(*order).limit(limit + 1)
        with self._session() as session:
            rows = builtins.list(session.scalars(query))
        more = len(rows) > limit
        rows = rows[:limit]
        cases = [_case(row) for row in rows]
        if not more or not rows:
            return cases, None
        last = rows[-1]
        is_open = last.status in UNDECIDED
        last_due = (last.sla_due_at or far) if is_open else far
        return cases, _encode_cursor(0 if is_open else 1, last_due, last.id if is_open else -last.id)

    @staticmethod
    def _filtered(query: _Query, status: str | None, org: str | None, level: str | None) -> _Query:
        if status is not None:
            if status not in STATUSES:
                raise CaseInputError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
            query = query.where(CaseRow.status == status)
        if level is not None:
            if level not in LEVELS:
                raise CaseInputError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
            query = query.where(CaseRow.level == level)
        if org is not None:
            query = query.where(CaseRow.org == org)
        return query

    # -- audit -----------------------------------------------------------------------------------------------

    def verify(self, checkpoint: Mapping[str, Any] | None = None) -> audit.VerifyReport:
        """Recompute every case's hash chain and compare each case row with its trail.

        With the audit key, every event's MAC is checked too. With `checkpoint` (made by `checkpoint()`,
        read back by `audit.read_checkpoint`), every case it lists must still hold the event it saw last.
        """
        if checkpoint is not None and self._audit_key is None:
            raise CaseInputError("ASSISTANT_AUDIT_KEY is not set: the checkpoint's signature cannot be checked")
        report, trails = self._audit()
        if checkpoint is None or self._audit_key is None:
            return report
        found = audit.check_checkpoint(checkpoint, self._audit_key, trails)
        return dataclasses.replace(
            report,
            problems=[*report.problems, *found],
            checkpoint=str(checkpoint["created_at"]),
            checkpoint_cases=len(checkpoint["cases"]),
        )

    def checkpoint(self) -> tuple[audit.VerifyReport, dict[str, Any]]:
        """A digest of every case's head signed with the audit key, and the verify report of the same snapshot.

        Keep the digest where the database's writers cannot change it. Do not keep one whose report is not
        ok: it would sign the damage as the truth.
        """
        if self._audit_key is None:
            raise CaseInputError("ASSISTANT_AUDIT_KEY is not set: checkpoints are signed with the audit key")
        report, trails = self._audit()
        heads = [audit.CaseHead(ref, max(trail), trail[max(trail)]) for ref, trail in trails.items() if trail]
        return report, audit.make_checkpoint(heads, self._audit_key, self._clock())

    def _audit(self) -> tuple[audit.VerifyReport, dict[str, dict[int, str]]]:
        """Every chain, row and MAC checked in one snapshot, and each case's event hashes by seq."""
        key = self._audit_key
        authenticated = unauthenticated = 0
        trails: dict[str, dict[int, str]] = {}
        with self._session(snapshot=True) as session:
            cases = builtins.list(session.scalars(select(CaseRow).order_by(CaseRow.id)))
            counters = {
                year: last for year, last in session.execute(select(RefCounterRow.year, RefCounterRow.last_seq))
            }
            by_case: dict[int, builtins.list[CaseEventRow]] = defaultdict(builtins.list)
            for event_row in session.scalars(select(CaseEventRow).order_by(CaseEventRow.case_id, CaseEventRow.seq)):
                by_case[event_row.case_id].append(event_row)
            total_events = sum(len(trail) for trail in by_case.values())
            problems: builtins.list[audit.VerifyProblem] = []
            issued: dict[int, builtins.list[int]] = defaultdict(builtins.list)
            for row in cases:
                issued[row.ref_year].append(row.ref_seq)
                trail = by_case.pop(row.id, [])
                trails[row.ref] = {event_row.seq: event_row.hash for event_row in trail}
                problems += audit.check_case(row.ref, _state(row), row.event_count, row.head_hash, trail)
                if key is not None:
                    macs = audit.check_macs(row.ref, trail, key)
                    problems += macs.problems
                    authenticated += macs.authenticated
                    unauthenticated += macs.unauthenticated
        problems += audit.check_refs(REF_FORMAT, issued, counters)
        # Only possible where foreign keys were off (e.g. the sqlite3 shell): events whose case row is gone.
        for case_id, orphans in by_case.items():
            detail = f"{len(orphans)} events remain of a deleted case row"
            problems.append(audit.VerifyProblem(f"case #{case_id}", None, "missing_case", detail))
        report = audit.VerifyReport(
            cases=len(cases),
            events=total_events,
            problems=problems,
            macs_checked=key is not None,
            authenticated=authenticated,
            unauthenticated=unauthenticated,
        )
        return report, trails

    # -- export ----------------------------------------------------------------------------------------------

    def export(self, fmt: str, *, status: str | None = None, org: str | None = None) -> str:
        """All matching cases with their events, as JSON (a list of cases) or CSV (one row per event)."""
        if fmt not in EXPORT_FORMATS:
            raise CaseInputError(f"unknown export format {fmt!r}; use csv or json")
        order = (CaseRow.ref_year, CaseRow.ref_seq)
        with self._session(snapshot=True) as session:
            cases = [
                _case(row)
                for row in session.scalars(self._filtered(select(CaseRow), status, org, None).order_by(*order))
            ]
            joined = select(CaseRow.ref, CaseEventRow).join(CaseEventRow, CaseEventRow.case_id == CaseRow.id)
            trail: dict[str, builtins.list[CaseEvent]] = defaultdict(builtins.list)
            for ref, event_row in session.execute(
                self._filtered(joined, status, org, None).order_by(*order, CaseEventRow.seq)
            ).tuples():
                trail[ref].append(_event(ref, event_row))
        if fmt == "json":
            data = [{**case.to_dict(), "events": [e.to_dict() for e in trail[case.ref]]} for case in cases]
            return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        return csv_export(cases, trail)


def create_case_store(settings: Settings, *, sla_business_days: Mapping[str, int | None] | None = None) -> CaseStore:
    """The case store the settings describe, migrated and ready."""
    if not settings.database_url:
        try:
            Path(settings.home).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create ASSISTANT_HOME {settings.home}: {exc.strerror or exc}") from exc
    key = audit.audit_key(settings.audit_key.get_secret_value())
    return CaseStore.from_url(database_url(settings), sla_business_days=sla_business_days, audit_key=key)
