"""The retrieval contract on both lexical back-ends: an SQLite FTS5 file and a real PostgreSQL, same assertions.

Each test gets a service whose lexical index is the SQLite file under its home (case database: SQLite) or
the tables of a fresh PostgreSQL schema (case database: PostgreSQL), over real Chroma and the real model.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from assistant.identity import User
from assistant.knowledge.embeddings import Embedder
from assistant.knowledge.ingest import Ingestor
from assistant.knowledge.lexical import LexicalRow, sync
from assistant.service import AssistantService, create_service

from .conftest import make_settings

FRONT = (
    "---\nid: {id}\ntitle: {title}\nsource_type: policy\naudience: {audience}\ncite_as: {cite}\n---\n\n# {title}\n\n"
)
POLICY = """## 4. Targeting

### 4.1 Location tracking

Partners must not enable location tracking of named people without a court order reviewed by compliance.

### 4.2 Vulnerable groups

Products must not be used to spy on journalists, lawyers or human rights defenders. Partners may not sell
analytics where the likely effect is such targeting.

### 4.3 Record keeping

Keep the signed end-user statement for seven years after the last delivery.
"""
NOTES = """## 1. Margin floors

Internal margin floor for camera deals with a police force: escalate any discount above forty percent to
the regional director before quoting. Journalists covering the deal must not be told the floor.

## 2. Watch list

The internal watch list of resellers under review is kept by compliance and never shared with partners.
"""


def _write_corpus(folder: Path, notes_audience: str = "internal") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "policy.md").write_text(
        FRONT.format(id="hreu", title="End-Use Policy", audience="partner", cite="HREU") + POLICY, encoding="utf-8"
    )
    (folder / "notes.md").write_text(
        FRONT.format(id="notes", title="Internal Notes", audience=notes_audience, cite="NOTE") + NOTES,
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def indexed(tmp_path: Path, db_url: str, embedder: Embedder) -> AssistantService:
    """A service on this back-end with the small corpus ingested."""
    service = create_service(make_settings(tmp_path / "home", database_url=db_url), embedder=embedder)
    report = service.ingest([_write_corpus(tmp_path / "docs")])
    assert not report.errors, report.errors
    return service


def _backend(service: AssistantService) -> str:
    return type(service.lexical).__name__


PARTNER = User.for_audience("partner").audiences
STAFF = User.for_audience("internal").audiences


def test_the_backend_is_the_one_the_settings_name(indexed: AssistantService, db_url: str) -> None:
    expected = "PostgresLexicalIndex" if db_url.startswith("postgresql") else "SqliteLexicalIndex"
    assert _backend(indexed) == expected
    assert indexed.lexical.count() == indexed.store.count() > 0


def test_an_exact_clause_number_is_found_first(indexed: AssistantService) -> None:
    hits = indexed.lexical.search("HREU 4.2", 5, STAFF)
    first = indexed.store.fetch([hits[0][0]], vectors=False)[hits[0][0]][0]
    assert first.metadata["locator"] == "HREU 4.2"
    retrieval = indexed.retriever.retrieve("What does HREU 4.2 say?", PARTNER, k=3)
    assert retrieval.passages[0].locator == "HREU 4.2"


def test_a_partner_never_receives_a_passage_of_another_audience(indexed: AssistantService) -> None:
    # "journalists" is in both documents; "margin floor" only in the internal notes.
    for question in ("journalists", "margin floor for camera deals with a police force", "watch list of resellers"):
        for ident, _ in indexed.lexical.search(question, 30, PARTNER):
            stored = indexed.store.fetch([ident], vectors=False)[ident][0]
            assert stored.metadata["audience"] in PARTNER
        passages = indexed.retriever.retrieve(question, PARTNER, k=8).passages
        assert all(p.metadata["audience"] in PARTNER for p in passages)
        assert "notes" not in {p.doc_id for p in passages}
    staff = indexed.retriever.retrieve("margin floor for camera deals with a police force", STAFF, k=3)
    assert staff.passages[0].doc_id == "notes"


def test_ranking_is_bm25_over_stemmed_terms(indexed: AssistantService) -> None:
    # 'statements' and 'keeping' stem to the indexed 'statement' and 'keep'.
    hits = indexed.lexical.search("statements keeping", 3, STAFF)
    top = indexed.store.fetch([hits[0][0]], vectors=False)[hits[0][0]][0]
    assert top.metadata["locator"] == "HREU 4.3"
    assert hits[0][1] > 0 and all(a[1] >= b[1] for a, b in itertools.pairwise(hits))
    assert indexed.lexical.search("zebra quokka", 5, STAFF) == []
    # A rare term weighs more than a common one; an unseen term weighs as if seen once.
    assert indexed.lexical.term_idf("quokka") >= indexed.lexical.term_idf("seven") > indexed.lexical.term_idf("partner")


def test_locators_map_to_their_documents(indexed: AssistantService) -> None:
    assert indexed.lexical.doc_of_locator("HREU 4.2") == "hreu"
    assert indexed.lexical.doc_of_locator("NOTE 2") == "notes"
    assert indexed.lexical.doc_of_locator("NOPE 9") is None


def test_relabelling_a_document_relabels_its_lexical_rows(indexed: AssistantService, tmp_path: Path) -> None:
    assert indexed.lexical.search("watch list", 5, PARTNER) == []
    indexed.ingest([_write_corpus(tmp_path / "docs", notes_audience="partner")])
    assert indexed.lexical.search("watch list", 5, PARTNER)
    indexed.ingest([_write_corpus(tmp_path / "docs", notes_audience="internal")])
    assert indexed.lexical.search("watch list", 5, PARTNER) == []


def test_an_ingest_cut_short_leaves_the_old_index_readable_and_the_next_run_finishes_it(
    indexed: AssistantService, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    (docs / "notes.md").write_text(
        FRONT.format(id="notes", title="Internal Notes", audience="internal", cite="NOTE")
        + "## 1. Tariffs\n\nThe quokka tariff applies to every shipment.\n",
        encoding="utf-8",
    )
    # The store is written, then the process stops before the lexical index is brought in step.
    Ingestor(indexed.store, indexed.embedder).run([docs])
    assert indexed.lexical.search("quokka tariff", 5, STAFF) == []
    old = indexed.lexical.search("margin floor", 5, STAFF)
    assert old  # the old rows still answer; their passages are gone from the store, so retrieval skips them
    assert all(p.doc_id != "notes" or "quokka" in p.text for p in indexed.retriever.retrieve("margin", STAFF).passages)
    indexed.ingest([docs])
    assert indexed.lexical.search("quokka tariff", 5, STAFF)
    assert indexed.lexical.search("margin floor", 5, STAFF) == []
    assert indexed.lexical.count() == indexed.store.count()


def test_a_failed_write_changes_nothing(indexed: AssistantService) -> None:
    before = indexed.lexical.fingerprints()
    good = LexicalRow("new-1", "fp", "partner", "X 1", "x", ["quokka"])
    broken = LexicalRow(None, "fp", "partner", "X 2", "x", ["quokka"])  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whichever back-end
        indexed.lexical.apply([good, broken], [next(iter(before))])
    assert indexed.lexical.fingerprints() == before
    assert indexed.lexical.search("quokka", 5, STAFF) == []


def test_reading_processes_share_one_index(indexed: AssistantService, embedder: Embedder) -> None:
    other = create_service(indexed.settings, embedder=embedder)  # a second replica, same settings
    assert other.lexical.search("HREU 4.2", 3, STAFF) == indexed.lexical.search("HREU 4.2", 3, STAFF)
    assert sync(other.store, other.lexical) == (0, 0)  # nothing to do: the first process's writes are there


def test_the_sqlite_index_is_one_file_under_the_home(tmp_path: Path, embedder: Embedder) -> None:
    service = create_service(make_settings(tmp_path / "home"), embedder=embedder)
    service.ingest([_write_corpus(tmp_path / "docs")])
    path = tmp_path / "home" / "lexical" / "guidance.sqlite"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM passages").fetchone()[0] == service.store.count()


def test_citations_by_locator_stay_within_the_audience(indexed: AssistantService) -> None:
    from assistant.answers.citations import LocatorIndex

    locators = LocatorIndex(indexed.store, indexed.lexical)
    staff = locators.cite(["NOTE 1", "HREU 4.2"], STAFF)
    assert [c.locator for c in staff] == ["NOTE 1", "HREU 4.2"]
    assert staff[1].quote.startswith("Products must not be used")
    partner = locators.cite(["NOTE 1", "HREU 4.2"], PARTNER)
    assert [c.locator for c in partner] == ["HREU 4.2"]


@pytest.mark.postgres
def test_an_index_written_before_the_postings_stays_searchable_after_the_upgrade() -> None:
    """A deployment that upgrades past migration 0008 keeps its index: the postings are backfilled."""
    import uuid

    from alembic import command
    from sqlalchemy import create_engine, text

    from assistant.database.migrations import alembic_config
    from assistant.knowledge.lexical_postgres import PostgresLexicalIndex, tsvector_literal

    from .conftest import postgres_url_or_skip

    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    try:
        command.upgrade(alembic_config(url), "0007_lexical_index")
        terms = ["keep", "sign", "statement", "seven", "year"]
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO lexical_passages VALUES ('c', 'p1', 'f', 'partner', 'HREU 4.3', 'HREU 4.3', 'hreu', "
                    ":n, CAST(:tsv AS tsvector))"
                ),
                {"n": len(terms), "tsv": tsvector_literal(terms)},
            )
            conn.execute(text("INSERT INTO lexical_stats VALUES ('c', 1, :n)"), {"n": len(terms)})
            conn.execute(
                text("INSERT INTO lexical_terms SELECT 'c', t, 1 FROM unnest(CAST(:t AS text[])) AS t"), {"t": terms}
            )
        command.upgrade(alembic_config(url), "head")
        index = PostgresLexicalIndex(engine, "c")
        assert [ident for ident, _ in index.search("signed statements", 3, ["partner"])] == ["p1"]
        assert index.search("signed statements", 3, ["internal"]) == []
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
