"""The case store against real databases: SQLite in a temporary folder, and PostgreSQL when
ASSISTANT_TEST_POSTGRES_URL points at one (`eval "$(bash .ci/postgres.sh)"` starts one locally)."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

import assistant.records.rows  # noqa: F401  (its tables are part of the one schema)
from assistant.cases import (
    CaseClosed,
    CaseInputError,
    CaseNotFound,
    CaseStore,
    CaseStoreUnavailable,
    CommentRequired,
    InvalidTransition,
    Requester,
    create_case_store,
    database_url,
)
from assistant.cases.models import CaseEventRow
from assistant.config import Settings
from assistant.database import migrations
from assistant.database.schema import VERSION_TABLE, Base
from assistant.errors import BadInput

ALICE = Requester("U-alice", "slack", "internal")
PARTNER = Requester("P-7", "web", "acme-resellers")


class Clock:
    """A clock the test moves by hand (tick() advances one second per reading, like real time would)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 4, 9, 0, tzinfo=UTC))  # a Wednesday


@pytest.fixture
def store(db_url: str, clock: Clock) -> Iterator[CaseStore]:
    with CaseStore.from_url(db_url, clock=clock) as opened:
        yield opened


def open_case(store: CaseStore, key: str | None = None, **overrides) -> str:
    fields = {
        "level": "escalate",
        "summary": "Video analytics platform for a state telecom; end user undisclosed.",
        "requester": ALICE,
        "facts": {"country": "XX", "product": "video analytics", "value_eur": 125000.5},
        "reasons": [{"text": "Undisclosed end user on a surveillance-capable deal", "rule": "R-7", "citations": [1]}],
        "idempotency_key": key,
    }
    fields.update(overrides)
    return store.create(**fields).ref


def table_counts(store: CaseStore) -> tuple[int, int]:
    with store.engine.connect() as conn:
        cases = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM case_events")).scalar_one()
    return int(cases), int(events)


# -- life cycle ----------------------------------------------------------------------------------------------


def test_full_life_cycle_is_recorded_in_a_verifiable_chain(store: CaseStore) -> None:
    ref = open_case(store)
    assert ref == "DD-2026-0001"
    case = store.get(ref)
    assert (case.status, case.level, case.org, case.assignee) == ("open", "escalate", "internal", None)
    assert case.created_at.tzinfo is not None and case.created_at.utcoffset() == timedelta(0)
    assert case.facts == {"country": "XX", "product": "video analytics", "value_eur": 125000.5}
    assert case.reasons[0] == {
        "text": "Undisclosed end user on a surveillance-capable deal",
        "rule": "R-7",
        "citations": [1],
    }

    assert store.assign(ref, actor="lead", assignee="carol").status == "in_review"
    assert store.decide(ref, "needs-info", actor="carol", comment="Need the end-user statement.").status == "needs_info"
    assert store.assign(ref, actor="carol", assignee="carol", comment="Statement received").status == "in_review"
    approved = store.decide(ref, "approve", actor="carol", comment="Statement covers the use; approved.")
    assert approved.status == "approved"
    assert approved.updated_at > case.updated_at
    assert store.close(ref, actor="carol").status == "closed"
    reopened = store.reopen(ref, actor="dpo", comment="New press reports about the end user.")
    assert (reopened.status, reopened.assignee) == ("in_review", "carol")

    events = store.events(ref)
    assert [(e.seq, e.action, e.from_status, e.to_status) for e in events] == [
        (1, "created", None, "open"),
        (2, "assign", "open", "in_review"),
        (3, "needs_info", "in_review", "needs_info"),
        (4, "assign", "needs_info", "in_review"),
        (5, "approve", "in_review", "approved"),
        (6, "close", "approved", "closed"),
        (7, "reopen", "closed", "in_review"),
    ]
    assert [e.actor for e in events] == ["U-alice", "lead", "carol", "carol", "carol", "carol", "dpo"]
    assert events[2].comment == "Need the end-user statement."
    assert events[1].payload["assignee"] == "carol"
    assert events[0].prev_hash == "0" * 64
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    report = store.verify()
    assert report.ok, report.problems
    assert (report.cases, report.events) == (1, 7)


def test_sla_due_dates_count_business_days_by_level(store: CaseStore, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # a Friday afternoon
    due = {level: store.get(open_case(store, level=level)).sla_due_at for level in ("prohibited", "escalate")}
    assert due["prohibited"] is not None and due["prohibited"].date().isoformat() == "2026-03-09"  # Monday
    assert due["escalate"] is not None and due["escalate"].date().isoformat() == "2026-03-11"  # Wednesday
    assert store.get(open_case(store, level="enhanced_due_diligence")).sla_due_at.date().isoformat() == "2026-03-13"
    assert store.get(open_case(store, level="proceed")).sla_due_at is None


def test_sla_table_is_configurable(db_url: str, clock: Clock) -> None:
    with CaseStore.from_url(db_url, clock=clock, sla_business_days={"escalate": 1, "proceed": 10}) as store:
        created = store.get(open_case(store))
        assert created.sla_due_at is not None
        assert created.sla_due_at - created.created_at == timedelta(days=1)
        proceed = store.get(open_case(store, level="proceed"))
        assert proceed.sla_due_at is not None and proceed.sla_due_at.date().isoformat() == "2026-03-18"


def test_references_restart_each_year(store: CaseStore, clock: Clock) -> None:
    clock.now = datetime(2026, 12, 31, 23, 59, 50, tzinfo=UTC)
    assert [open_case(store) for _ in range(2)] == ["DD-2026-0001", "DD-2026-0002"]
    clock.now = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert open_case(store) == "DD-2027-0001"
    assert store.get("dd-2026-2").ref == "DD-2026-0002"


def test_retried_create_returns_the_same_case_and_writes_nothing(store: CaseStore) -> None:
    first = open_case(store, key="slack:T1:evt-42")
    counts = table_counts(store)
    again = open_case(store, key="slack:T1:evt-42", summary="a retried delivery with other text")
    assert again == first
    assert table_counts(store) == counts
    assert store.get(first).summary.startswith("Video analytics")
    assert open_case(store, key="slack:T1:evt-43") == "DD-2026-0002"


# -- refusals ------------------------------------------------------------------------------------------------


def _closed_case(store: CaseStore) -> str:
    ref = open_case(store)
    store.decide(ref, "reject", actor="carol", comment="Security-sector end user.")
    store.close(ref, actor="carol")
    return ref


REFUSALS = [
    ("unknown ref", lambda s, ref: s.decide("DD-2026-0999", "approve", "carol", "ok"), CaseNotFound),
    ("malformed ref", lambda s, ref: s.get("not-a-ref"), CaseNotFound),
    ("decide closed", lambda s, ref: s.decide(ref, "approve", "carol", "looks fine now"), CaseClosed),
    ("assign closed", lambda s, ref: s.assign(ref, "carol", "dave"), CaseClosed),
    ("close closed", lambda s, ref: s.close(ref, "carol", "again"), CaseClosed),
    ("reopen blank comment", lambda s, ref: s.reopen(ref, "carol", "   "), CommentRequired),
    ("reopen no actor", lambda s, ref: s.reopen(ref, " ", "because"), CaseInputError),
    ("unknown decision", lambda s, ref: s.decide(ref, "maybe", "carol", "hmm"), InvalidTransition),
]


@pytest.mark.parametrize(("name", "action", "error"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_on_a_closed_case_change_nothing(store: CaseStore, name: str, action, error) -> None:
    ref = _closed_case(store)
    before = (store.get(ref), store.events(ref), table_counts(store))
    with pytest.raises(error) as raised:
        action(store, ref)
    assert isinstance(raised.value, BadInput)
    assert (store.get(ref), store.events(ref), table_counts(store)) == before
    assert store.verify().ok


@pytest.mark.parametrize("comment", [None, "", "  \n "])
@pytest.mark.parametrize("decision", ["approve", "reject", "needs-info"])
def test_decisions_need_a_comment(store: CaseStore, decision: str, comment: str | None) -> None:
    ref = open_case(store)
    before = (store.get(ref), store.events(ref))
    with pytest.raises(CommentRequired, match=ref):
        store.decide(ref, decision, actor="carol", comment=comment)  # type: ignore[arg-type]
    assert (store.get(ref), store.events(ref)) == before


def test_only_valid_transitions_are_allowed(store: CaseStore) -> None:
    ref = open_case(store)
    with pytest.raises(InvalidTransition, match="cannot reopen"):
        store.reopen(ref, "carol", "nothing to reopen")
    with pytest.raises(CommentRequired):
        store.close(ref, "carol")  # withdrawing an undecided case needs a reason
    store.decide(ref, "approve", "carol", "fine")
    with pytest.raises(InvalidTransition, match="already approved"):
        store.decide(ref, "reject", "carol", "changed my mind")
    with pytest.raises(InvalidTransition):
        store.assign(ref, "carol", "dave")
    assert [e.action for e in store.events(ref)] == ["created", "approve"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"level": "catastrophic"}, "unknown level"),
        ({"summary": "   "}, "summary is required"),
        ({"summary": "x" * 20_001}, "limit is 20000"),
        ({"summary": "nul \x00 byte"}, "NUL"),
        ({"facts": {"value": float("nan")}}, "JSON"),
        ({"facts": {"when": object()}}, "JSON"),
        ({"reasons": ["just text"]}, "reason 1"),
        ({"reasons": [{"rule": "R-1"}]}, "reason 1 text is required"),
        ({"requester": Requester("", "slack", "internal")}, "requester is required"),
    ],
)
def test_invalid_case_data_is_refused(store: CaseStore, overrides: dict, message: str) -> None:
    with pytest.raises(CaseInputError, match=message):
        open_case(store, **overrides)
    assert table_counts(store) == (0, 0)


# -- reading ---------------------------------------------------------------------------------------------------


def test_listing_filters_and_partners_see_only_their_own(store: CaseStore) -> None:
    internal = open_case(store)
    partner = open_case(store, requester=PARTNER, level="prohibited")
    other = open_case(store, requester=Requester("P-9", "api", "other-partner"), level="enhanced_due_diligence")
    store.decide(internal, "approve", "carol", "ok")

    assert [c.ref for c in store.list()] == [internal, partner, other]
    assert [c.ref for c in store.list(status="open")] == [partner, other]
    assert [c.ref for c in store.list(level="prohibited")] == [partner]
    assert [c.ref for c in store.list(org="acme-resellers")] == [partner]
    assert [c.ref for c in store.list(limit=1, offset=1)] == [partner]
    assert store.get(partner, org="acme-resellers").requester == PARTNER
    with pytest.raises(CaseNotFound):
        store.get(other, org="acme-resellers")
    with pytest.raises(CaseNotFound):
        store.events(other, org="acme-resellers")
    with pytest.raises(CaseInputError, match="unknown status"):
        store.list(status="pending")


def test_export_json_and_csv_carry_every_event(store: CaseStore) -> None:
    first = open_case(store, summary='=HYPERLINK("http://example.invalid") cameras')
    second = open_case(store, requester=PARTNER)
    store.assign(second, "lead", "carol")

    exported = json.loads(store.export("json"))
    assert [c["ref"] for c in exported] == [first, second]
    assert [e["action"] for e in exported[1]["events"]] == ["created", "assign"]
    assert exported[1]["requester"] == {"user_id": "P-7", "channel": "web", "org": "acme-resellers"}
    assert exported[0]["created_at"].endswith("+00:00")

    rows = list(csv.DictReader(io.StringIO(store.export("csv"))))
    assert [(r["ref"], r["event_seq"], r["event_action"]) for r in rows] == [
        (first, "1", "created"),
        (second, "1", "created"),
        (second, "2", "assign"),
    ]
    assert rows[0]["summary"].startswith("'=HYPERLINK")  # defused for spreadsheets
    assert json.loads(rows[0]["facts"])["country"] == "XX"
    assert [c["ref"] for c in json.loads(store.export("json", org="acme-resellers"))] == [second]
    with pytest.raises(CaseInputError, match="export format"):
        store.export("xlsx")


# -- schema and opening ----------------------------------------------------------------------------------------


def test_migrations_build_exactly_the_modelled_schema(store: CaseStore, db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with CaseStore.from_url(db_url) as again:  # a second start finds the schema current
        assert again.list() == []
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert context.get_current_revision() == migrations.head_revision() == "0008_lexical_postings"
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # The lexical index's tables (PostgreSQL only, migrations 0007 and 0008) belong to knowledge/lexical_postgres.py,
    # which writes them in SQL of its own; they have no ORM model here.
    lexical = {"lexical_passages", "lexical_terms", "lexical_stats", "lexical_postings"}
    assert [
        d
        for d in diff
        if not (d[0] == "remove_table" and d[1].name in {VERSION_TABLE, *lexical})
        and not (d[0] == "remove_index" and d[1].table.name in lexical)
    ] == []


def test_settings_choose_sqlite_under_home_by_default(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home", database_url="")
    assert database_url(settings) == f"sqlite:///{tmp_path / 'home' / 'cases.db'}"
    with create_case_store(settings) as store:
        open_case(store)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    assert (tmp_path / "home" / "cases.db").is_file()
    assert database_url(Settings(home=tmp_path, database_url="postgresql+psycopg://u@h/db")).startswith("postgresql")


@pytest.mark.parametrize(
    "url",
    ["sqlite:////nonexistent-dir/for/cases.db", "postgresql://nobody:pw@127.0.0.1:9/none?connect_timeout=2"],
    ids=["sqlite-bad-path", "postgres-refused"],
)
def test_unreachable_database_is_reported_without_password(url: str) -> None:
    with pytest.raises(CaseStoreUnavailable) as raised:
        CaseStore.from_url(url)
    assert "pw@" not in str(raised.value)


def test_events_are_stored_with_utc_microseconds(store: CaseStore) -> None:
    ref = open_case(store)
    with store.engine.connect() as conn:
        stored = conn.execute(select(CaseEventRow.created_at)).scalar_one()
        assert conn.execute(select(func.count()).select_from(CaseEventRow)).scalar_one() == 1
    assert stored == store.events(ref)[0].created_at
    assert stored.tzinfo is not None
