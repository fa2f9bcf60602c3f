"""The case store under stress: concurrent creators, writers killed mid-transaction, and rows edited behind
the application's back. Real SQLite files, and the PostgreSQL test server when ASSISTANT_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import text

from assistant.cases import CaseStore, Requester

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 50
REQUESTER = Requester("U-load", "slack", "internal")


def key_for(worker: int) -> str:
    """30 workers share 10 keys (three retries each); the other 20 have keys of their own."""
    return f"shared-{worker % 10}" if worker < 30 else f"own-{worker}"


DISTINCT_KEYS = len({key_for(n) for n in range(WORKERS)})


def create_one(store: CaseStore, worker: int) -> tuple[str, str]:
    case = store.create(
        level="escalate",
        summary=f"Deal {key_for(worker)}: lawful-intercept gateway for a state operator",
        requester=REQUESTER,
        facts={"worker": worker},
        idempotency_key=key_for(worker),
    )
    return key_for(worker), case.ref


def assert_exactly_one_case_per_key(store: CaseStore, results: list[tuple[str, str]]) -> None:
    refs_by_key: dict[str, set[str]] = defaultdict(set)
    for key, ref in results:
        refs_by_key[key].add(ref)
    assert len(results) == WORKERS
    assert len(refs_by_key) == DISTINCT_KEYS
    assert all(len(refs) == 1 for refs in refs_by_key.values()), refs_by_key

    cases = store.list(limit=None)
    year = cases[0].created_at.year
    assert [c.ref for c in cases] == [f"DD-{year}-{n:04d}" for n in range(1, DISTINCT_KEYS + 1)]
    assert {c.idempotency_key: c.ref for c in cases} == {k: refs.pop() for k, refs in refs_by_key.items()}
    for case in cases:
        assert [e.action for e in store.events(case.ref)] == ["created"]
    report = store.verify()
    assert report.ok, report.problems
    assert (report.cases, report.events) == (DISTINCT_KEYS, DISTINCT_KEYS)


# -- concurrency -----------------------------------------------------------------------------------------------


def test_fifty_threads_create_one_case_per_idempotency_key(db_url: str) -> None:
    with CaseStore.from_url(db_url) as store:
        start = threading.Barrier(WORKERS, timeout=60)
        results: list[tuple[str, str]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            try:
                start.wait()
                outcome = create_one(store, n)
                with lock:
                    results.append(outcome)
            except BaseException as exc:  # reported below; a thread cannot fail the test itself
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert_exactly_one_case_per_key(store, results)


def _process_worker(url: str, n: int, start, out) -> None:
    try:
        # Each process opens the (still empty) database itself, so the schema migration races too.
        with CaseStore.from_url(url) as store:
            start.wait()
            out.put(create_one(store, n))
    except BaseException as exc:
        out.put(("error", repr(exc)))
        raise


def test_fifty_processes_create_one_case_per_idempotency_key_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    # Children fork from a clean server process (never from this one, which may hold threads and
    # connections), with SQLAlchemy and this module imported once beforehand.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["assistant.cases.store", __name__])
    start = ctx.Barrier(WORKERS, timeout=90)
    out = ctx.Queue()
    processes = [ctx.Process(target=_process_worker, args=(url, n, start, out)) for n in range(WORKERS)]
    for process in processes:
        process.start()
    results = [out.get(timeout=120) for _ in range(WORKERS)]
    for process in processes:
        process.join(timeout=30)
    assert [r for r in results if r[0] == "error"] == []
    assert all(p.exitcode == 0 for p in processes)
    with CaseStore.from_url(url) as store:
        assert_exactly_one_case_per_key(store, results)


# -- crashes ----------------------------------------------------------------------------------------------------

# A writer that opens cases (and moves each one step on) as fast as it can, printing each committed ref.
# With PAUSE_AT=n it stops inside the transaction of its n-th case, after the case row and its 'created'
# event were written but before COMMIT, and waits there to be killed.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from assistant.cases import CaseStore, Requester
    from assistant.cases.models import CaseEventRow

    store = CaseStore.from_url(os.environ["CASES_URL"])
    pause_at = int(os.environ.get("PAUSE_AT", "0"))
    created = 0

    def after_flush(session, _context):
        global created
        if any(isinstance(o, CaseEventRow) and o.action == "created" for o in session.new):
            created += 1
            if created == pause_at:
                print("PAUSED", flush=True)
                time.sleep(60)

    event.listen(Session, "after_flush", after_flush)
    n = 0
    while True:
        n += 1
        case = store.create(level="prohibited", summary=f"crash test {n}", requester=Requester("U-crash"),
                            idempotency_key=f"crash-{n}")
        store.assign(case.ref, actor="lead", assignee="carol")
        print(case.ref, flush=True)
    """
)


def _start_writer(url: str, pause_at: int = 0) -> subprocess.Popen[str]:
    env = {**os.environ, "CASES_URL": url, "PAUSE_AT": str(pause_at)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _read_until(process: subprocess.Popen[str], predicate, timeout: float = 30.0) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            stderr = process.stderr.read() if process.stderr else ""
            pytest.fail(f"writer exited early ({process.poll()}): {stderr[-2000:]}")
        lines.append(line.strip())
        if predicate(lines):
            return lines
    process.kill()
    pytest.fail("writer made no progress")


def _kill(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _assert_consistent_after_crash(url: str, committed: list[str]) -> None:
    with CaseStore.from_url(url) as store:
        report = store.verify()
        assert report.ok, report.problems
        cases = store.list(limit=None)
        refs = [c.ref for c in cases]
        assert refs[: len(committed)] == committed
        for case in cases:
            assert store.events(case.ref)[0].action == "created"
        # The interrupted transaction gave its number back: the next case continues without a gap.
        year = cases[0].created_at.year
        follow_up = store.create(level="escalate", summary="after the crash", requester=REQUESTER)
        assert follow_up.ref == f"DD-{year}-{len(cases) + 1:04d}"
        assert store.verify().ok


def test_writer_killed_inside_a_transaction_leaves_a_consistent_database(db_url: str) -> None:
    writer = _start_writer(db_url, pause_at=4)
    try:
        lines = _read_until(writer, lambda seen: seen[-1] == "PAUSED")
    finally:
        _kill(writer)
    committed = lines[:-1]
    assert len(committed) == 3
    _assert_consistent_after_crash(db_url, committed)
    with CaseStore.from_url(db_url) as store:
        assert len(store.list(limit=None)) == 4  # three from the writer and the follow-up


def test_writer_killed_at_a_random_moment_leaves_a_consistent_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    for round_ in range(3):
        writer = _start_writer(url)
        try:
            lines = _read_until(writer, lambda seen: len(seen) >= 3)
            time.sleep(0.01 + 0.03 * round_)
        finally:
            _kill(writer)
        with CaseStore.from_url(url) as store:
            report = store.verify()
            assert report.ok, report.problems
            refs = {c.ref for c in store.list(limit=None)}
        assert set(lines) <= refs


# -- tampering ------------------------------------------------------------------------------------------------


def _problems(store: CaseStore) -> set[tuple[str, int | None, str]]:
    return {(p.ref, p.seq, p.kind) for p in store.verify().problems}


def _seed(store: CaseStore, count: int) -> list[str]:
    refs = []
    for n in range(count):
        ref = store.create(level="escalate", summary=f"tamper test {n}", requester=REQUESTER).ref
        store.assign(ref, actor="lead", assignee="carol")
        store.decide(ref, "needs_info", actor="carol", comment="Who is the end user?")
        store.assign(ref, actor="carol", assignee="carol")
        store.decide(ref, "reject", actor="carol", comment="Security-sector end user.")
        refs.append(ref)
    return refs


def _sql(store: CaseStore, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _case_id(ref: str) -> str:
    return f"(SELECT id FROM cases WHERE ref = '{ref}')"


def _lift_guards(store: CaseStore) -> None:
    """What a database writer does first: the append-only guards bind the application, not the owner."""
    if store.engine.dialect.name == "sqlite":
        _sql(store, "DROP TRIGGER case_events_no_update")
        _sql(store, "DROP TRIGGER case_events_no_delete")
    else:
        _sql(store, "GRANT UPDATE, DELETE ON case_events TO CURRENT_USER")
        _sql(store, "ALTER TABLE case_events DISABLE TRIGGER USER")


def test_edits_behind_the_applications_back_are_reported_by_case_and_event(db_url: str) -> None:
    with CaseStore.from_url(db_url) as store:
        edited, deleted, status, tail, appended, gone, untouched = _seed(store, 7)
        assert store.verify().ok
        _lift_guards(store)

        _sql(store, f"UPDATE case_events SET comment = 'nothing to see' WHERE case_id = {_case_id(edited)} AND seq = 3")
        assert _problems(store) == {(edited, 3, "edited")}

        _sql(store, f"DELETE FROM case_events WHERE case_id = {_case_id(deleted)} AND seq = 2")
        assert (deleted, 2, "deleted") in _problems(store)

        _sql(store, "UPDATE cases SET status = 'approved' WHERE ref = :ref", ref=status)
        found = [p for p in store.verify().problems if p.ref == status]
        assert [(p.kind, p.seq) for p in found] == [("case_edited", None)]
        assert "status is 'approved' in the table but 'rejected' in the audit trail" in found[0].detail

        _sql(store, f"DELETE FROM case_events WHERE case_id = {_case_id(tail)} AND seq = 5")
        assert (tail, 5, "deleted") in _problems(store)

        _sql(
            store,
            "INSERT INTO case_events (case_id, seq, actor, action, from_status, to_status, comment, created_at,"
            " payload, prev_hash, hash) SELECT case_id, 6, 'mallory', 'approve', 'rejected', 'approved', 'ok',"
            f" created_at, payload, hash, hash FROM case_events WHERE case_id = {_case_id(appended)} AND seq = 5",
        )
        assert (appended, 6, "inserted") in _problems(store)

        _sql(store, f"DELETE FROM case_events WHERE case_id = {_case_id(gone)}")
        _sql(store, "DELETE FROM cases WHERE ref = :ref", ref=gone)
        assert (gone, None, "missing_case") in _problems(store)

        report = store.verify()
        assert {p.ref for p in report.problems} == {edited, deleted, status, tail, appended, gone}
        assert untouched not in {p.ref for p in report.problems}
        assert all(p.ref in str(p) for p in report.problems)
