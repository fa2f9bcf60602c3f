"""Plain data types shared by loaders, chunking, indexing and retrieval."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AUDIENCES = ("public", "partner", "internal")
SOURCE_TYPES = ("ungp", "policy", "practice", "regulation", "document")


@dataclass(frozen=True)
class DocumentInfo:
    """Front matter of one guidance document (or what we infer when it has none)."""

    id: str
    title: str
    source_type: str
    audience: str
    cite_as: str
    version: str = ""
    effective_date: str = ""
    source_url: str = ""
    owner: str = ""
    source_path: str = ""


@dataclass(frozen=True)
class Element:
    """One structural element a loader found: a heading (level >= 1) or a paragraph (level 0).

    `label` names a heading's number when the loader knows better than its text ("para. 17",
    "Section 3.2"); without it the label is read from the text. `note` marks a footnote: it is
    kept as a passage of its own and never becomes part of the section it sits in.
    """

    text: str
    level: int = 0
    page: int | None = None
    label: str | None = None
    note: bool = False

    @property
    def is_heading(self) -> bool:
        return self.level > 0


@dataclass
class ParsedDocument:
    """A loaded file: its document info and its elements in reading order."""

    info: DocumentInfo
    elements: list[Element] = field(default_factory=list)


@dataclass(frozen=True)
class Chunk:
    """A citable passage: text plus where it sits (heading path, locator, page)."""

    id: str
    doc: DocumentInfo
    text: str
    heading_path: tuple[str, ...]
    locator: str
    page: int | None
    seq: int
    file_hash: str
    file_chunks: int
    content_hash: str

    @property
    def embed_text(self) -> str:
        """What is embedded and indexed lexically: context line plus the passage itself."""
        context = " › ".join((self.doc.title, *self.heading_path))
        return f"{self.locator}. {context}\n{self.text}"

    def metadata(self) -> dict[str, Any]:
        """Flat metadata stored beside the vector (Chroma accepts scalars only)."""
        d = self.doc
        return {
            "doc_id": d.id,
            "title": d.title,
            "source_type": d.source_type,
            "audience": d.audience,
            "version": d.version,
            "effective_date": d.effective_date,
            "url": d.source_url,
            "owner": d.owner,
            "cite_as": d.cite_as,
            "source_path": d.source_path,
            "locator": self.locator,
            "heading_path": " › ".join(self.heading_path),
            "page": self.page if self.page is not None else -1,
            "seq": self.seq,
            "file_hash": self.file_hash,
            "file_chunks": self.file_chunks,
            "content_hash": self.content_hash,
        }
