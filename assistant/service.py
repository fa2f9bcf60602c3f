"""The assistant service: one object that the CLI, the web app and the Slack app all call.

Flow of `ask`: validate → guard → retrieve (audience-filtered) → compose → answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .answers.extractive import ExtractiveComposer, refusal
from .answers.guard import check as guard_check
from .answers.models import Answer
from .config import MAX_QUESTION_CHARS, Settings
from .errors import QuestionError
from .identity import User
from .knowledge.embeddings import Embedder
from .knowledge.ingest import Ingestor, IngestReport
from .knowledge.retrieval import LexicalCache, Retriever
from .knowledge.store import VectorStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceInfo:
    """One indexed document, as `assistant sources` lists it."""

    doc_id: str
    title: str
    source_type: str
    audience: str
    version: str
    effective_date: str
    url: str
    chunks: int
    source_path: str


def validate_question(question: object) -> str:
    """The question stripped, or QuestionError for empty, over-long or non-text input."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = question.strip()
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}")
    if "\x00" in text:
        raise QuestionError("the question contains a NUL character")
    return text


class AssistantService:
    """Answers questions from the indexed guidance and keeps that index up to date."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.embedding_model)
        self.store = VectorStore(settings)
        self.lexical = LexicalCache(self.store, settings.lexical_path)
        self.retriever = Retriever(self.store, self.lexical, self.embedder, settings.dense_k, settings.lexical_k)
        self.composer = ExtractiveComposer(
            idf=lambda term: self.lexical.get().term_idf(term),
            min_similarity=settings.min_similarity,
            max_passages=settings.answer_passages,
        )

    # -- indexing -----------------------------------------------------------------------------------------

    def ingest(self, paths: Sequence[Path], audience: str = "internal", progress: bool = False) -> IngestReport:
        """Ingest files/folders incrementally and bring the lexical index in step."""
        report = Ingestor(self.store, self.embedder).run(paths, audience, progress=progress)
        self.lexical.refresh(force=report.changed)
        return report

    def ensure_indexed(self) -> IngestReport | None:
        """Index the shipped corpus when the index is empty (first use)."""
        if self.store.count() > 0:
            return None
        log.info("index is empty; indexing the shipped corpus", extra={"corpus": str(self.settings.corpus)})
        return self.ingest([self.settings.corpus], audience="internal")

    def warm_up(self) -> None:
        """Load the model and the lexical index now, so the first question is not slow."""
        self.embedder.model()
        self.lexical.get()

    def sources(self, user: User | None = None) -> list[SourceInfo]:
        """The indexed documents (only those the user may read, when a user is given)."""
        docs: dict[str, SourceInfo] = {}
        counts: dict[str, int] = {}
        for chunk in self.store.all_chunks(with_text=False):
            meta = chunk.metadata
            if user is not None and meta.get("audience") not in user.audiences:
                continue
            doc_id = str(meta.get("doc_id"))
            counts[doc_id] = counts.get(doc_id, 0) + 1
            docs.setdefault(
                doc_id,
                SourceInfo(
                    doc_id=doc_id,
                    title=str(meta.get("title", "")),
                    source_type=str(meta.get("source_type", "")),
                    audience=str(meta.get("audience", "")),
                    version=str(meta.get("version", "")),
                    effective_date=str(meta.get("effective_date", "")),
                    url=str(meta.get("url", "")),
                    chunks=0,
                    source_path=str(meta.get("source_path", "")),
                ),
            )
        return sorted(
            (SourceInfo(**{**d.__dict__, "chunks": counts[k]}) for k, d in docs.items()),
            key=lambda s: (s.source_type, s.doc_id),
        )

    # -- answering ----------------------------------------------------------------------------------------

    def ask(self, question: str, user: User) -> Answer:
        """Answer one question from the guidance the user may read, with citations, or refuse."""
        text = validate_question(question)
        started = time.perf_counter()
        verdict = guard_check(text, user.is_partner)
        if verdict is not None:
            composed = refusal(verdict.reason, verdict.message)
        else:
            retrieval = self.retriever.retrieve(text, user.audiences, k=8)
            composed = self.composer.compose(retrieval)
        elapsed = (time.perf_counter() - started) * 1000
        log.info("answered", extra={"user": user.id, "refused": composed.refused, "elapsed_ms": round(elapsed, 1)})
        return Answer(
            question=text,
            answer=composed.text,
            refused=composed.refused,
            refusal_reason=composed.refusal_reason,
            citations=composed.citations,
            next_steps=composed.next_steps,
            elapsed_ms=round(elapsed, 2),
        )


def create_service(settings: Settings | None = None, embedder: Embedder | None = None) -> AssistantService:
    """Build the service from settings (read from the environment when not given)."""
    return AssistantService(settings or Settings(), embedder=embedder)
