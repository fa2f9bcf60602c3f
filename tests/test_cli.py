"""The command line as a user runs it: exit codes, one-line errors, JSON contracts."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import run_cli


def test_ask_indexes_on_first_use_and_prints_json(cli_home: Path) -> None:
    result = run_cli("ask", "--json", "What must partners do when an end user refuses to be named?", home=cli_home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "answer", "refused", "citations", "elapsed_ms", "risk", "case_ref"}
    assert data["citations"] and {"n", "doc_id", "title", "locator", "source_type", "audience", "url", "quote"} <= set(
        data["citations"][0]
    )
    assert "Traceback" not in result.stderr

    text = run_cli("ask", "--audience", "partner", "Which red flags matter in a camera deal?", home=cli_home)
    assert text.returncode == 0 and "Sources:" in text.stdout

    sources = run_cli("sources", home=cli_home)
    assert sources.returncode == 0 and "hreu" in sources.stdout


def test_batch_answers_one_line_per_question(cli_home: Path, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        json.dumps({"id": "a", "question": "What is UNGP Principle 17 about?"})
        + "\n"
        + json.dumps({"id": "b", "question": "Best lasagne recipe?", "audience": "partner"})
        + "\n",
        encoding="utf-8",
    )
    result = run_cli("ask", "--batch", str(batch), "--json", home=cli_home)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert lines[0]["refused"] is False and lines[1]["refused"] is True


def _one_line_error(result, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_input_exits_2_with_one_line(cli_home: Path, tmp_path: Path) -> None:
    _one_line_error(run_cli("ask", "", home=cli_home), "empty")
    _one_line_error(run_cli("ask", "q" * 4001, home=cli_home), "limit is 4000")
    _one_line_error(run_cli("ask", home=cli_home), "QUESTION is required")
    _one_line_error(run_cli("ask", "--audience", "everyone", "hi", home=cli_home), "invalid choice")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "ok?"}\n{not json\n', encoding="utf-8")
    _one_line_error(run_cli("ask", "--batch", str(bad), "--json", home=cli_home), "bad.jsonl:2")
    _one_line_error(run_cli("ask", "--batch", str(tmp_path / "none.jsonl"), home=cli_home), "cannot read")
    # Nothing was indexed by the refused commands.
    assert not (cli_home / "chroma").exists()


def test_ingest_reports_failures_and_keeps_the_rest(cli_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.md").write_text("# Note\n\nScreen every customer before quoting.\n", encoding="utf-8")
    (folder / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    result = run_cli("ingest", str(folder), home=cli_home)
    assert result.returncode == 2
    assert "1 changed" in result.stdout and "1 failed" in result.stdout and "bad.pdf" in result.stdout
    missing = run_cli("ingest", str(tmp_path / "nope"), home=cli_home)
    assert missing.returncode == 2 and "no such file" in missing.stdout
