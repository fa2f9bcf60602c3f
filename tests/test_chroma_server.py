"""The scale-out path: the same ingest and ask against a real Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.identity import User
from assistant.knowledge.embeddings import Embedder
from assistant.service import create_service

from .conftest import CORPUS, make_settings

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMA.exists():
        pytest.skip(f"no chroma command at {CHROMA}")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                pytest.fail("chroma server did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_ingest_and_ask_through_a_chroma_server(chroma_url: str, tmp_path: Path, embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS / "ungp", corpus / "ungp")
    shutil.copytree(CORPUS / "policies", corpus / "policies")
    writer = create_service(make_settings(tmp_path / "writer", chroma_url=chroma_url), embedder=embedder)
    first = writer.ingest([corpus])
    assert first.chunks_added > 100 and not first.errors
    assert writer.ingest([corpus]).chunks_unchanged == first.chunks_added

    # A second process (another home, same server) reads what the writer indexed.
    reader = create_service(make_settings(tmp_path / "reader", chroma_url=chroma_url), embedder=embedder)
    answer = reader.ask("What does UNGP Principle 19 say about leverage?", User.for_audience("partner"))
    assert not answer.refused and answer.citations[0].locator == "UNGP Principle 19"
    internal = reader.ask("What are the service levels for an escalated deal?", User.for_audience("partner"))
    assert all(c.audience != "internal" for c in internal.citations)
    staff = reader.ask("What are the service levels for an escalated deal?", User.for_audience("internal"))
    assert any(c.doc_id == "sep" for c in staff.citations)


def test_unreachable_server_is_a_clear_error(tmp_path: Path, embedder: Embedder) -> None:
    from assistant.errors import IndexUnavailable

    with pytest.raises(IndexUnavailable, match="cannot reach the Chroma server"):
        create_service(make_settings(tmp_path / "h", chroma_url=f"http://127.0.0.1:{_free_port()}"), embedder=embedder)
