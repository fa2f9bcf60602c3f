"""Audience filtering in retrieval, including the over-fetch path and its fallback to Chroma's filter."""

from __future__ import annotations

from pathlib import Path

from assistant.identity import User
from assistant.knowledge.embeddings import Embedder
from assistant.service import create_service

from .conftest import make_settings

FRONT = "---\nid: {id}\ntitle: {title}\nsource_type: policy\naudience: {audience}\ncite_as: {cite}\n---\n"


def _corpus(folder: Path, internal_sections: int) -> None:
    folder.mkdir()
    body = "\n".join(
        f"## {i}. Camera deals for police, note {i}\n\nInternal note {i}: camera deals for a city police force need "
        f"an end-user statement and a compliance case before any quote.\n"
        for i in range(1, internal_sections + 1)
    )
    (folder / "internal.md").write_text(
        FRONT.format(id="notes", title="Internal notes", audience="internal", cite="NOTE") + body, encoding="utf-8"
    )
    (folder / "partner.md").write_text(
        FRONT.format(id="guide", title="Partner guide", audience="partner", cite="GUIDE")
        + "## 1. Camera deals\n\nPartners selling cameras to a police force must name the end user first.\n",
        encoding="utf-8",
    )


def test_partner_retrieval_falls_back_to_the_filtered_query(tmp_path: Path, embedder: Embedder) -> None:
    _corpus(tmp_path / "docs", internal_sections=12)
    # A small dense_k, so the over-fetched neighbours are all internal and the filtered query must run.
    service = create_service(make_settings(tmp_path / "home", dense_k=3), embedder=embedder)
    service.ingest([tmp_path / "docs"])
    question = "What do we need before quoting cameras to a city police force?"
    partner = service.retriever.retrieve(question, User.for_audience("partner").audiences, k=5)
    assert [p.doc_id for p in partner.passages] == ["guide"]
    staff = service.retriever.retrieve(question, User.for_audience("internal").audiences, k=5)
    assert "notes" in {p.doc_id for p in staff.passages}
    # Twelve near-identical internal notes collapse to one passage: near-duplicates are removed.
    assert sum(p.doc_id == "notes" for p in staff.passages) < 12
