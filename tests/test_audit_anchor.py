"""The audit trail anchored outside the database (review finding F7), through the real CLI and real databases.

An attacker here has write access to the database (the SQLite file, or the application's PostgreSQL role) and
knows the hash-chain scheme, but not ASSISTANT_AUDIT_KEY and not the checkpoint file kept elsewhere. PostgreSQL
runs when ASSISTANT_TEST_POSTGRES_URL points at a server (`eval "$(bash .ci/postgres.sh)"` starts one).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from assistant import cli
from assistant.cases import CaseStore, Requester, create_case_store
from assistant.cases.audit import CaseHead, canonical_json, hash_of, make_checkpoint
from assistant.config import Settings

# Test-only keys: long enough for the store, and easy to spot if anything ever printed them.
KEY = "audit-key-for-tests-only-" + "K" * 32
OTHER_KEY = "a-different-audit-key-for-tests-" + "X" * 32
REQUESTER = Requester("U-rep", "slack", "internal")


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's environment: this test's database and the audit key. Returns a folder for checkpoint files."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", db_url)
    monkeypatch.setenv("ASSISTANT_AUDIT_KEY", KEY)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`assistant cases ...` through the CLI's main; the key must never appear in what it prints."""
    try:
        code = cli.main(["cases", *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    for secret in (KEY, OTHER_KEY):
        assert secret not in captured.out and secret not in captured.err
    return code, captured.out, captured.err


def open_store() -> CaseStore:
    """The store the CLI would open (settings from the environment, audit key included)."""
    return create_case_store(Settings())


def decided_case(store: CaseStore) -> str:
    """A case with five events, the last a rejection."""
    ref = store.create(
        level="prohibited", summary="IMSI catchers for a state security service", requester=REQUESTER
    ).ref
    store.assign(ref, actor="lead", assignee="carol")
    store.decide(ref, "needs_info", actor="carol", comment="Who is the end user?")
    store.assign(ref, actor="carol", assignee="carol")
    store.decide(ref, "reject", actor="carol", comment="Security-sector end user in a sanctioned country.")
    return ref


def sql(store: CaseStore, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def case_id(ref: str) -> str:
    return f"(SELECT id FROM cases WHERE ref = '{ref}')"


def remove_guards(store: CaseStore) -> None:
    """What a database writer does first: the append-only guards bind the application, not the owner."""
    if store.engine.dialect.name == "sqlite":
        sql(store, "DROP TRIGGER IF EXISTS case_events_no_update")
        sql(store, "DROP TRIGGER IF EXISTS case_events_no_delete")
    else:
        sql(store, "GRANT UPDATE, DELETE ON case_events TO CURRENT_USER")
        sql(store, "ALTER TABLE case_events DISABLE TRIGGER USER")


# -- MACs ------------------------------------------------------------------------------------------------------


def test_every_event_carries_a_mac_that_verify_checks(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store() as store:
        ref = decided_case(store)
        with store.engine.connect() as conn:
            macs = conn.execute(text(f"SELECT mac FROM case_events WHERE case_id = {case_id(ref)}")).scalars().all()
    assert len(macs) == 5 and all(re.fullmatch(r"[0-9a-f]{64}", mac or "") for mac in macs)

    code, out, _ = run(capsys, "verify")
    assert code == 0 and "audit trail intact: 1 cases, 5 events" in out
    assert "MACs checked with the audit key: 5 event(s) authenticated" in out
    code, out, _ = run(capsys, "verify", "--json")
    report = json.loads(out)
    assert code == 0 and report["macs_checked"] is True and report["unauthenticated"] == 0
    assert KEY not in repr(Settings())


def test_a_consistently_rewritten_event_passes_the_chain_but_not_its_mac(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store() as store:
        ref = decided_case(store)
        remove_guards(store)
        # Who rejected the deal, and why, rewritten with every hash recomputed, as anyone who reads audit.py can.
        newest = store.events(ref)[-1]
        forged = dataclasses.replace(newest, actor="mallory", comment="Rejected by mistake; see email.")
        forged_hash = hash_of(forged)
        sql(
            store,
            f"UPDATE case_events SET actor = :actor, comment = :comment, hash = :hash"
            f" WHERE case_id = {case_id(ref)} AND seq = 5",
            actor=forged.actor,
            comment=forged.comment,
            hash=forged_hash,
        )
        sql(store, "UPDATE cases SET head_hash = :hash WHERE ref = :ref", hash=forged_hash, ref=ref)

        # The hash chain alone cannot tell: this is the gap the MAC closes.
        monkeypatch.delenv("ASSISTANT_AUDIT_KEY")
        code, out, _ = run(capsys, "verify")
        assert code == 0 and "audit trail intact" in out
        assert "MACs not checked: ASSISTANT_AUDIT_KEY is not set" in out

        monkeypatch.setenv("ASSISTANT_AUDIT_KEY", KEY)
        code, out, _ = run(capsys, "verify")
        assert code == 1 and f"{ref} event 5: forged" in out

        # A MAC made with a guessed key is no better than the stale one.
        guessed = hmac.new(OTHER_KEY.encode(), canonical_json({"ref": ref, "hash": forged_hash}).encode(), "sha256")
        sql(
            store,
            f"UPDATE case_events SET mac = :mac WHERE case_id = {case_id(ref)} AND seq = 5",
            mac=guessed.hexdigest(),
        )
        code, out, _ = run(capsys, "verify")
        assert code == 1 and f"{ref} event 5: forged" in out

        # Nor is removing the MAC: an event after a signed one must be signed too.
        sql(store, f"UPDATE case_events SET mac = NULL WHERE case_id = {case_id(ref)} AND seq = 5")
        code, out, _ = run(capsys, "verify", "--json")
        assert code == 1
        assert [(p["ref"], p["seq"], p["kind"]) for p in json.loads(out)["problems"]] == [(ref, 5, "mac_missing")]


def test_older_events_without_a_mac_are_unauthenticated_not_tampered(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSISTANT_AUDIT_KEY")
    with open_store() as store:  # written before the audit key was set
        ref = store.create(level="escalate", summary="Routers for a regional ISP", requester=REQUESTER).ref
        store.assign(ref, actor="lead", assignee="carol")
    code, out, _ = run(capsys, "verify")
    assert code == 0 and "MACs not checked: ASSISTANT_AUDIT_KEY is not set" in out

    monkeypatch.setenv("ASSISTANT_AUDIT_KEY", KEY)
    with open_store() as store:
        store.decide(ref, "approve", actor="carol", comment="End-user statement received.")
    code, out, _ = run(capsys, "verify")
    assert code == 0, out
    assert "1 event(s) authenticated, 2 older event(s) without a MAC (unauthenticated)" in out
    assert "forged" not in out
    report = json.loads(run(capsys, "verify", "--json")[1])
    assert report["ok"] is True and report["unauthenticated"] == 2 and report["problems"] == []


# -- checkpoints -----------------------------------------------------------------------------------------------


def test_checkpoint_catches_the_newest_events_deleted_and_the_case_rolled_back(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = env / "checkpoint.json"
    with open_store() as store:
        ref = decided_case(store)
        newest = store.create(level="escalate", summary="Lawful-intercept gateway", requester=REQUESTER).ref

    code, _, err = run(capsys, "checkpoint", "--out", str(checkpoint))
    assert code == 0 and "2 cases" in err
    doc = json.loads(checkpoint.read_text(encoding="utf-8"))
    assert {(c["ref"], c["events"]) for c in doc["cases"]} == {(ref, 5), (newest, 1)}
    assert re.fullmatch(r"[0-9a-f]{64}", doc["mac"])
    assert KEY not in checkpoint.read_text(encoding="utf-8")

    # F7: the rejection and the decision before it deleted, the case row set back to event 3's state, the
    # newest case deleted and its number handed back. Every remaining event keeps its valid hash and MAC.
    with open_store() as store:
        remove_guards(store)
        third = store.events(ref)[2]
        sql(store, f"DELETE FROM case_events WHERE case_id = {case_id(ref)} AND seq > 3")
        sql(
            store,
            "UPDATE cases SET event_count = 3, head_hash = :hash, status = :status, assignee = :assignee"
            " WHERE ref = :ref",
            hash=third.hash,
            status=third.payload["case"]["status"],
            assignee=third.payload["case"]["assignee"],
            ref=ref,
        )
        sql(store, f"DELETE FROM case_events WHERE case_id = {case_id(newest)}")
        sql(store, "DELETE FROM cases WHERE ref = :ref", ref=newest)
        sql(store, "UPDATE case_ref_counters SET last_seq = last_seq - 1")
        assert store.get(ref).status == "needs_info"

    code, out, _ = run(capsys, "verify")
    assert code == 0 and "audit trail intact" in out  # without the anchor, nothing shows

    code, out, _ = run(capsys, "verify", "--against", str(checkpoint))
    assert code == 1
    assert f"{ref} event 5: truncated" in out and f"{newest}: missing_case" in out
    report = json.loads(run(capsys, "verify", "--against", str(checkpoint), "--json")[1])
    assert {(p["ref"], p["kind"]) for p in report["problems"]} == {(ref, "truncated"), (newest, "missing_case")}


def test_cases_that_moved_on_or_were_opened_after_the_checkpoint_are_fine(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = env / "checkpoint.json"
    with open_store() as store:
        ref = store.create(level="escalate", summary="Routers for a regional ISP", requester=REQUESTER).ref
    assert run(capsys, "checkpoint", "--out", str(checkpoint))[0] == 0
    with open_store() as store:
        store.assign(ref, actor="lead", assignee="carol")
        store.decide(ref, "approve", actor="carol", comment="End-user statement received.")
        later = store.create(level="prohibited", summary="Spyware for a police unit", requester=REQUESTER).ref

    code, out, _ = run(capsys, "verify", "--against", str(checkpoint))
    assert code == 0, out
    assert "compared with the checkpoint of" in out and "(1 cases)" in out
    assert later not in out


def test_a_rewritten_trail_does_not_match_its_checkpoint(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = env / "checkpoint.json"
    with open_store() as store:
        ref = decided_case(store)
    code, out, _ = run(capsys, "checkpoint")  # to stdout
    assert code == 0
    checkpoint.write_text(out, encoding="utf-8")
    with open_store() as store:
        remove_guards(store)
        newest = store.events(ref)[-1]
        forged_hash = hash_of(dataclasses.replace(newest, comment="Approved informally."))
        sql(
            store,
            f"UPDATE case_events SET comment = 'Approved informally.', hash = :hash"
            f" WHERE case_id = {case_id(ref)} AND seq = 5",
            hash=forged_hash,
        )
        sql(store, "UPDATE cases SET head_hash = :hash WHERE ref = :ref", hash=forged_hash, ref=ref)
    code, out, _ = run(capsys, "verify", "--against", str(checkpoint))
    assert code == 1 and f"{ref} event 5: rewritten" in out


def test_a_changed_or_foreign_checkpoint_is_not_trusted(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = env / "checkpoint.json"
    with open_store() as store:
        ref = decided_case(store)
    assert run(capsys, "checkpoint", "--out", str(checkpoint))[0] == 0

    # Lowering a count in the file, to cover a later truncation, breaks its signature.
    doc = json.loads(checkpoint.read_text(encoding="utf-8"))
    doc["cases"][0]["events"] = 3
    edited = env / "edited.json"
    edited.write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = run(capsys, "verify", "--against", str(edited))
    assert code == 1 and "checkpoint: forged_checkpoint" in out and "changed after it was signed" in out

    # The true heads, signed with a key other than this deployment's: from elsewhere, or made up.
    original = json.loads(checkpoint.read_text(encoding="utf-8"))
    heads = [CaseHead(c["ref"], c["events"], c["head"]) for c in original["cases"]]
    foreign = env / "foreign.json"
    foreign.write_text(json.dumps(make_checkpoint(heads, OTHER_KEY.encode(), datetime.now(UTC))), encoding="utf-8")
    code, out, _ = run(capsys, "verify", "--against", str(foreign))
    assert code == 1 and "signed with another audit key" in out
    assert heads[0].ref == ref and run(capsys, "verify", "--against", str(checkpoint))[0] == 0


def test_checkpoints_need_the_key_and_a_readable_file(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store() as store:
        decided_case(store)
    good = env / "checkpoint.json"
    assert run(capsys, "checkpoint", "--out", str(good))[0] == 0
    (env / "not-json.json").write_text("{not json", encoding="utf-8")
    (env / "other.json").write_text(json.dumps({"kind": "something else"}), encoding="utf-8")

    argvs: list[tuple[str, ...]] = [
        ("verify", "--against", str(env / "missing.json")),
        ("verify", "--against", str(env / "not-json.json")),
        ("verify", "--against", str(env / "other.json")),
        ("checkpoint", "--out", str(env / "no-such-dir" / "c.json")),
    ]
    for argv in argvs:
        code, out, err = run(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, (argv, err)

    monkeypatch.delenv("ASSISTANT_AUDIT_KEY")
    for argv in [("checkpoint",), ("verify", "--against", str(good))]:
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "ASSISTANT_AUDIT_KEY is not set" in err

    monkeypatch.setenv("ASSISTANT_AUDIT_KEY", "too-short")
    code, out, err = run(capsys, "verify")
    assert code == 2 and "ASSISTANT_AUDIT_KEY" in err and "too-short" not in err
    assert len(err.strip().splitlines()) == 1


def test_checkpoint_of_a_damaged_trail_is_refused(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store() as store:
        ref = decided_case(store)
        sql(store, "UPDATE cases SET status = 'approved' WHERE ref = :ref", ref=ref)
    target = env / "checkpoint.json"
    code, out, err = run(capsys, "checkpoint", "--out", str(target))
    assert code == 1 and f"{ref}: case_edited" in out and "no checkpoint written" in err
    assert not target.exists()


# -- append-only table ------------------------------------------------------------------------------------------


def test_audit_events_cannot_be_updated_or_deleted(env: Path) -> None:
    with open_store() as store:
        ref = decided_case(store)
        before = store.events(ref)
        attempts = [
            f"UPDATE case_events SET comment = 'nothing to see' WHERE case_id = {case_id(ref)} AND seq = 5",
            f"DELETE FROM case_events WHERE case_id = {case_id(ref)} AND seq = 5",
            "DELETE FROM case_events",
        ]
        if store.engine.dialect.name == "postgresql":
            attempts.append("TRUNCATE case_events")
        for statement in attempts:
            with pytest.raises(DBAPIError):
                sql(store, statement)
        assert store.events(ref) == before
        # The application itself only appends, so it goes on working.
        store.reopen(ref, actor="lead", comment="New facts from the partner.")
        assert len(store.events(ref)) == 6 and store.verify().ok


def test_postgresql_revokes_update_and_delete_from_the_application_role(env: Path, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("privileges are a PostgreSQL matter")
    with open_store() as store, store.engine.connect() as conn:
        superuser = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()
        if superuser:
            pytest.skip("privileges do not bind a superuser; the trigger test covers it")
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            query = text("SELECT has_table_privilege(current_user, 'case_events', :p)")
            assert conn.execute(query, {"p": privilege}).scalar_one() is False
        assert conn.execute(text("SELECT has_table_privilege(current_user, 'case_events', 'INSERT')")).scalar_one()
