"""`assistant cases ...` end to end through the CLI's own main(), on a real SQLite file under ASSISTANT_HOME."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from assistant import cli
from assistant.cases import CaseStore, Requester, create_case_store
from assistant.cli.cases import register
from assistant.config import Settings
from assistant.errors import NotFound


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "")
    # Until cli.py registers `cases` itself, add it to the parser that cli.main builds.
    build = cli.build_parser

    def build_with_cases() -> argparse.ArgumentParser:
        parser = build()
        commands = _subparsers(parser)
        if "cases" not in commands.choices:
            register(commands)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_with_cases)
    return tmp_path / "home"


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise AssertionError("the CLI has no sub-commands")


@pytest.fixture
def store(home: Path) -> Iterator[CaseStore]:
    with create_case_store(Settings()) as opened:
        yield opened


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(["cases", *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def seed(store: CaseStore) -> tuple[str, str]:
    internal = store.create(
        level="prohibited",
        summary="Intrusion software for a ministry of interior",
        requester=Requester("U-1", "slack", "internal"),
        facts={"country": "XX"},
        reasons=[{"text": "Purpose-built intrusion tool", "rule": "P-1", "citations": [2]}],
    ).ref
    partner = store.create(
        level="enhanced_due_diligence",
        summary="Routers for a regional ISP",
        requester=Requester("P-1", "web", "acme-resellers"),
    ).ref
    return internal, partner


def test_list_shows_the_queue_as_text_and_json(store: CaseStore, capsys: pytest.CaptureFixture[str]) -> None:
    internal, partner = seed(store)
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert internal in out and partner in out and "2 case(s)" in out

    code, out, _ = run(capsys, "list", "--json", "--org", "acme-resellers")
    assert code == 0
    assert [c["ref"] for c in json.loads(out)] == [partner]

    code, _, err = run(capsys, "list", "--status", "pending")
    assert code == 2 and "invalid choice" in err


def test_show_prints_the_case_and_its_trail(store: CaseStore, capsys: pytest.CaptureFixture[str]) -> None:
    internal, _ = seed(store)
    store.assign(internal, actor="lead", assignee="carol")
    code, out, _ = run(capsys, "show", internal.lower())
    assert code == 0
    assert "Purpose-built intrusion tool [P-1]" in out
    assert "lead  assign  open -> in_review" in out

    code, out, _ = run(capsys, "show", internal, "--json")
    data = json.loads(out)
    assert (data["ref"], data["status"], [e["action"] for e in data["events"]]) == (
        internal,
        "in_review",
        ["created", "assign"],
    )


def test_decide_assign_close_and_reopen(store: CaseStore, capsys: pytest.CaptureFixture[str]) -> None:
    internal, _ = seed(store)
    assert run(capsys, "assign", internal, "--to", "carol", "--by", "lead")[:2] == (
        0,
        f"{internal} is now in_review, assigned to carol (by lead)\n",
    )
    code, out, _ = run(capsys, "decide", internal, "needs-info", "--by", "carol", "--comment", "End-user statement?")
    assert code == 0 and "needs_info" in out
    code, out, _ = run(capsys, "decide", internal, "reject", "--by", "carol", "--comment", "Security-sector use.")
    assert code == 0 and "rejected" in out
    assert run(capsys, "close", internal, "--by", "carol")[0] == 0
    assert run(capsys, "reopen", internal, "--by", "dpo", "--comment", "Appeal from sales")[0] == 0
    assert [e.action for e in store.events(internal)] == [
        "created",
        "assign",
        "needs_info",
        "reject",
        "close",
        "reopen",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decide", "DD-2026-0999", "approve", "--by", "carol", "--comment", "ok"], "no case DD-2026-0999"),
        (["decide", "{internal}", "approve", "--by", "carol"], "a comment is required to approve"),
        (["decide", "{internal}", "reject", "--by", "carol", "--comment", "  "], "a comment is required"),
        (["decide", "{closed}", "approve", "--by", "carol", "--comment", "ok now"], "is closed; reopen it"),
        (["reopen", "{closed}", "--by", "carol"], "a comment is required to reopen"),
        (["decide", "{internal}", "approve", "--comment", "who?"], "required: --by"),
        (["show", "case-one"], "references look like DD-2026-0001"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    store: CaseStore, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    internal, closed = seed(store)
    store.decide(closed, "approve", actor="carol", comment="fine")
    store.close(closed, actor="carol")
    before = store.export("json")

    code, out, err = run(capsys, *(arg.format(internal=internal, closed=closed) for arg in argv))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""
    assert store.export("json") == before


def test_export_to_stdout_and_to_a_file(store: CaseStore, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    internal, partner = seed(store)
    code, out, _ = run(capsys, "export", "--format", "csv")
    assert code == 0
    assert [row["ref"] for row in csv.DictReader(io.StringIO(out))] == [internal, partner]

    target = tmp_path / "export.json"
    code, out, _ = run(capsys, "export", "--format", "json", "--output", str(target))
    assert (code, out) == (0, "")
    assert [c["events"][0]["action"] for c in json.loads(target.read_text(encoding="utf-8"))] == ["created"] * 2
    assert not list(tmp_path.glob("*.partial"))

    code, _, err = run(capsys, "export", "--format", "json", "--output", str(tmp_path / "missing" / "x.json"))
    assert code == 2 and "cannot write" in err


def test_verify_passes_then_names_the_tampered_case(store: CaseStore, capsys: pytest.CaptureFixture[str]) -> None:
    internal, partner = seed(store)
    code, out, _ = run(capsys, "verify")
    assert code == 0 and "audit trail intact: 2 cases, 2 events" in out

    with store.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET level = 'proceed' WHERE ref = :ref"), {"ref": internal})
    code, out, _ = run(capsys, "verify")
    assert code == 1
    assert f"{internal}: case_edited:" in out and "level is 'proceed' in the table" in out
    assert partner not in out

    code, out, _ = run(capsys, "verify", "--json")
    report = json.loads(out)
    assert (code, report["ok"], [p["ref"] for p in report["problems"]]) == (1, False, [internal])


def test_handlers_work_from_a_bare_parser(home: Path) -> None:
    parser = argparse.ArgumentParser(prog="t")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["cases", "show", "DD-2026-0042"])
    with pytest.raises(NotFound, match="no case DD-2026-0042"):
        args.func(args)
    assert (home / "cases.db").is_file()
