"""The screen JSON contract and how triage reasons become citations a user may read."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .answers.models import Citation
from .knowledge.lexical import LexicalIndex
from .knowledge.store import StoredChunk, VectorStore
from .knowledge.textproc import sentence_spans


class ScreenReason(BaseModel):
    """One reason for the level, with the guidance that justifies it."""

    text: str
    rule: str
    citations: list[Citation] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    """The words of the deal that triggered this reason, quoted as written."""


class Screening(BaseModel):
    """The outcome of screening one deal (the `assistant screen --json` object)."""

    id: str | None = None
    level: str
    reasons: list[ScreenReason] = Field(default_factory=list)
    signals: dict[str, Any] = Field(default_factory=dict)
    next_steps: list[str] = Field(default_factory=list)
    case_ref: str | None = None
    describes_deal: bool = True
    missing_facts: list[dict[str, str]] = Field(default_factory=list)
    """Facts the deal does not state: {"fact", "assumed", "question"} for each."""
    elapsed_ms: float = 0.0

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        if data["id"] is None:
            del data["id"]
        return data


class LocatorIndex:
    """Finds the passage behind a locator such as 'RAS 6.2', within the audiences a user may read.

    It asks each time rather than holding a table of every locator (a reading process keeps nothing that
    grows with the corpus): the lexical index finds the ids, filtered by audience in its query, and the store
    returns those passages by id.
    """

    def __init__(self, store: VectorStore, lexical: LexicalIndex) -> None:
        self.store = store
        self.lexical = lexical

    def cite(self, locators: list[str], audiences: tuple[str, ...], start: int = 1) -> list[Citation]:
        """Citations for the locators the user may read; the quote is the passage's opening sentence."""
        first: dict[str, StoredChunk] = {}
        ids = self.lexical.locator_ids(sorted(set(locators)), audiences)
        for chunk, _ in self.store.fetch(ids, vectors=False).values():
            if chunk.metadata.get("audience") not in audiences:
                continue  # the store is the record: a row relabelled since the lexical sync is not cited
            locator = str(chunk.metadata.get("locator", ""))
            held = first.get(locator)
            if held is None or _order(chunk) < _order(held):
                first[locator] = chunk
        out: list[Citation] = []
        for locator in locators:
            if locator not in first:
                continue
            chunk = first[locator]
            spans = list(sentence_spans(chunk.text))
            quote = chunk.text[spans[0][0] : spans[0][1]] if spans else chunk.text[:300]
            # The locator the policy cites, even when the chunk's own locator carries a page.
            citation = Citation.of_chunk(start + len(out), chunk.id, chunk.metadata, quote)
            out.append(citation.model_copy(update={"locator": locator}))
        return out


def _order(chunk: StoredChunk) -> tuple[int, str]:
    # The first passage of a section opens with its rule; ties (the same seq in two files) go by id.
    return int(chunk.metadata.get("seq", 0)), chunk.id
