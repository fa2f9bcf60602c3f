"""Shared fixtures: the real model (loaded once), real Chroma in temp dirs, the network blocked off loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings, shipped_model_path
from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService, create_service

from .netblock import sitecustomize as netblock

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
EVALS = REPO / "evals"

netblock.install()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole run."""
    model = Embedder(shipped_model_path())
    model.model()
    return model


def make_settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"chroma_url": "", "database_url": "", **overrides}
    return Settings(home=home, corpus=CORPUS, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture
def service(settings: Settings, embedder: Embedder) -> AssistantService:
    """A service over an empty index in a temp dir."""
    return create_service(settings, embedder=embedder)


@pytest.fixture(scope="session")
def corpus_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> AssistantService:
    """A service with the shipped corpus indexed once for the session (read-only use)."""
    home = tmp_path_factory.mktemp("corpus-home")
    svc = create_service(make_settings(home), embedder=embedder)
    report = svc.ingest([CORPUS])
    assert not report.errors, report.errors
    return svc


def run_cli(
    *args: str, home: Path, input_text: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `python -m assistant ...` in a subprocess with the network blocked off loopback."""
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_CORPUS": str(CORPUS),
        "PYTHONPATH": str(Path(__file__).resolve().parent / "netblock"),
    }
    env.pop("ASSISTANT_CHROMA_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=env,
        input=input_text,
        timeout=timeout,
        cwd=str(REPO),
    )


@pytest.fixture
def cli_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "cli-home"
    home.mkdir()
    yield home


def postgres_url_or_skip() -> str:
    """The PostgreSQL test server's URL; skip (or fail, when CI requires PostgreSQL) if there is none."""
    url = os.environ.get("ASSISTANT_TEST_POSTGRES_URL", "")
    reason = 'ASSISTANT_TEST_POSTGRES_URL is not set; `eval "$(bash .ci/postgres.sh)"` starts a local server'
    if not url:
        if os.environ.get("ASSISTANT_REQUIRE_POSTGRES"):
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty case database: a SQLite file, or a fresh schema on the PostgreSQL test server (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL test server unreachable: {exc.orig}"
        if os.environ.get("ASSISTANT_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
