"""Incremental ingestion against real Chroma: only what changed is touched; failures lose nothing."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.service import AssistantService

from .conftest import CORPUS, run_cli

DOC = """---
id: {id}
title: {title}
source_type: practice
audience: {audience}
cite_as: {cite}
---
# {title}

Intro for {title}.

## 1. Screening

Screen every end user against the restricted-party list before quoting.

## 2. Records

Keep the end-user statement on file for five years.
"""


def write(folder: Path, name: str, audience: str = "partner", **fields: str) -> Path:
    path = folder / name
    stem = name.split(".")[0]
    path.write_text(
        DOC.format(
            id=stem, title=fields.get("title", stem.title()), audience=audience, cite=fields.get("cite", stem.upper())
        ),
        encoding="utf-8",
    )
    return path


def test_reingest_touches_only_what_changed(service: AssistantService, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write(docs, "alpha.md")
    write(docs, "beta.md")
    first = service.ingest([docs])
    assert (first.chunks_added, first.chunks_updated, first.chunks_removed) == (6, 0, 0)

    again = service.ingest([docs])
    assert (again.chunks_added, again.chunks_updated, again.chunks_removed, again.chunks_unchanged) == (0, 0, 0, 6)
    assert again.files_unchanged == 2 and not again.changed

    path = docs / "alpha.md"
    path.write_text(path.read_text().replace("five years", "seven years"), encoding="utf-8")
    changed = service.ingest([docs])
    assert (changed.chunks_added, changed.chunks_updated, changed.chunks_unchanged) == (0, 1, 5)

    (docs / "beta.md").unlink()
    removed = service.ingest([docs])
    assert removed.chunks_removed == 3 and removed.files_removed == 1
    assert {s.doc_id for s in service.sources()} == {"alpha"}
    answer = service.ask("How long must the end-user statement be kept on file?", _staff())
    assert not answer.refused and "seven years" in answer.answer


def test_bad_files_are_reported_and_others_still_ingested(service: AssistantService, tmp_path: Path) -> None:
    docs = tmp_path / "mixed"
    docs.mkdir()
    write(docs, "good.md")
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.7\n garbage garbage")
    (docs / "binary.txt").write_bytes(b"\x00\x00\xff\xfe")
    (docs / "latin.md").write_bytes("r\u00e9sum\u00e9".encode("latin-1"))
    report = service.ingest([docs, tmp_path / "missing-folder"])
    assert report.chunks_added == 3
    assert len(report.errors) == 4
    joined = "\n".join(report.errors)
    assert "corrupt.pdf" in joined and "binary" in joined and "UTF-8" in joined and "no such file" in joined


def test_undeclared_audience_defaults_to_internal(service: AssistantService, tmp_path: Path) -> None:
    note = tmp_path / "memo.md"
    note.write_text("# Memo\n\nInternal pricing floor for camera bundles in the northern region.\n", encoding="utf-8")
    service.ingest([note])
    partner_sources = service.sources(_partner())
    assert "memo" not in {s.doc_id for s in partner_sources}
    assert "memo" in {s.doc_id for s in service.sources(_staff())}
    # Re-ingesting with another audience re-labels the document.
    service.ingest([note], audience="partner")
    assert "memo" in {s.doc_id for s in service.sources(_partner())}


def test_duplicate_document_ids_are_refused(service: AssistantService, tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write(a, "same.md")
    write(b, "same.md")
    report = service.ingest([a, b])
    assert any("already used" in e for e in report.errors)
    assert report.chunks_added == 3


def test_interrupted_ingest_can_be_rerun(tmp_path: Path, cli_home: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    reference = run_cli("ingest", "--json", str(corpus), home=tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr

    env_proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ingest", str(corpus)],
        env={**_env(cli_home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it while it writes: as soon as the store file starts growing (embedding is done by then).
    store_file = cli_home / "chroma" / "chroma.sqlite3"
    deadline = time.time() + 120
    while time.time() < deadline and not store_file.exists():
        time.sleep(0.02)
    initial = store_file.stat().st_size
    while time.time() < deadline and env_proc.poll() is None and store_file.stat().st_size == initial:
        time.sleep(0.01)
    assert env_proc.poll() is None, "ingest finished before it could be interrupted"
    env_proc.send_signal(signal.SIGKILL)
    env_proc.wait()

    rerun = run_cli("ingest", "--json", str(corpus), home=cli_home)
    assert rerun.returncode == 0, rerun.stderr
    final = run_cli("sources", "--json", home=cli_home)
    expected = run_cli("sources", "--json", home=tmp_path / "reference")
    assert _counts(final.stdout) == _counts(expected.stdout)
    again = run_cli("ingest", "--json", str(corpus), home=cli_home)
    assert '"chunks_added": 0' in again.stdout and '"chunks_updated": 0' in again.stdout


def _counts(sources_json: str) -> dict[str, int]:
    import json

    return {s["doc_id"]: s["chunks"] for s in json.loads(sources_json)}


def _env(home: Path) -> dict[str, str]:
    import os

    return {**os.environ, "ASSISTANT_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parent / "netblock")}


def _staff():
    from assistant.identity import User

    return User.for_audience("internal")


def _partner():
    from assistant.identity import User

    return User.for_audience("partner")
