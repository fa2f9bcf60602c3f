"""The ask and screen JSON contracts, as pydantic models."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field


class Citation(BaseModel):
    """A numbered source: the [n] in an answer points here. `quote` is verbatim from the chunk."""

    n: int
    doc_id: str
    title: str
    locator: str
    source_type: str
    audience: str
    url: str = ""
    quote: str
    chunk_id: str

    @classmethod
    def of_chunk(cls, n: int, chunk_id: str, metadata: dict[str, Any], quote: str) -> Citation:
        """The citation of a stored chunk, from its metadata; `quote` must be verbatim from its text."""
        return cls(
            n=n,
            doc_id=str(metadata.get("doc_id", "")),
            title=str(metadata.get("title", "")),
            locator=str(metadata.get("locator", "")),
            source_type=str(metadata.get("source_type", "")),
            audience=str(metadata.get("audience", "")),
            url=str(metadata.get("url", "")),
            quote=quote,
            chunk_id=chunk_id,
        )


class Risk(BaseModel):
    """The triage outcome attached to an answer when the question describes a deal."""

    level: str
    reasons: list[dict[str, Any]] = Field(default_factory=list)


class Answer(BaseModel):
    """One answer to one question (the `assistant ask --json` object)."""

    id: str | None = None
    answer_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    question: str
    answer: str
    refused: bool
    refusal_reason: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    risk: Risk | None = None
    case_ref: str | None = None
    elapsed_ms: float = 0.0
    generator: str = "extractive"
    fallback_reason: str | None = None
    prompt_version: str | None = None  # the prompt set an LLM was given (None when no LLM was asked)

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        if data["id"] is None:
            del data["id"]
        return data


# -- the screen contract -------------------------------------------------------------------------------


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
