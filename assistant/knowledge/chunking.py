"""Structure-aware chunking: one passage per heading section, long sections split at paragraph bounds."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .documents import Chunk, ParsedDocument
from .structure import heading_label, make_locator

MAX_CHUNK_CHARS = 1100
_SPLIT_TO = 900
NOTES_PATH = ("Notes",)


@dataclass
class _Section:
    path: tuple[str, ...]
    label: str | None
    page: int | None
    paragraphs: list[str] = field(default_factory=list)


def _sections(parsed: ParsedDocument) -> list[_Section]:
    stack: list[tuple[int, str, str | None]] = []  # (level, heading, label)
    sections: list[_Section] = []
    current = _Section(path=(), label=None, page=None)
    for element in parsed.elements:
        if element.note:
            # Footnotes are retrievable as notes, never as part (or the locator) of the text they annotate.
            sections.append(current)
            previous = sections[-2] if len(sections) > 1 else None
            if previous is not None and previous.path == NOTES_PATH and previous.page == element.page:
                previous.paragraphs.append(element.text)
            else:
                sections.append(_Section(path=NOTES_PATH, label=None, page=element.page, paragraphs=[element.text]))
            current = _Section(path=current.path, label=current.label, page=None)
            continue
        if element.is_heading:
            sections.append(current)
            while stack and stack[-1][0] >= element.level:
                stack.pop()
            stack.append((element.level, element.text, element.label or heading_label(element.text)))
            # H1 is the document title: it heads the intro passage but is not part of the path.
            # (Compared without case: an all-capitals cover title is kept in title case.)
            title = parsed.info.title.casefold()
            path = tuple(h for lvl, h, _ in stack if not (lvl == 1 and h.casefold() == title))
            label = next((lab for _, _, lab in reversed(stack) if lab), None)
            current = _Section(path=path, label=label, page=element.page)
        else:
            if current.paragraphs and element.page is not None and element.page != current.page:
                # A section running over a page break continues as a new passage, so "p. N" stays exact.
                sections.append(current)
                current = _Section(path=current.path, label=current.label, page=element.page)
            if current.page is None:
                current.page = element.page
            current.paragraphs.append(element.text)
    sections.append(current)
    return [s for s in sections if any(p.strip() for p in s.paragraphs)]


def chunk_document(parsed: ParsedDocument, file_hash: str) -> list[Chunk]:
    """Cut a parsed document into chunks with deterministic ids and content hashes."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=_SPLIT_TO, chunk_overlap=0, separators=["\n\n", "\n", ". ", " "], keep_separator="end"
    )
    info = parsed.info
    drafts: list[tuple[_Section, str]] = []
    for section in _sections(parsed):
        body = "\n\n".join(p.strip() for p in section.paragraphs if p.strip())
        pieces = [body] if len(body) <= MAX_CHUNK_CHARS else [p.strip() for p in splitter.split_text(body)]
        drafts.extend((section, piece) for piece in pieces if piece)

    seen: dict[str, int] = {}
    chunks: list[Chunk] = []
    for seq, (section, text) in enumerate(drafts):
        heading = section.path[-1] if section.path else None
        locator = make_locator(info.cite_as, section.label, heading, section.page)
        key = " › ".join(section.path) + f"|p{section.page}"
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        ident = hashlib.sha1(f"{key}#{occurrence}".encode()).hexdigest()[:12]
        chunk_id = f"{info.id}::{ident}"
        content_hash = hashlib.sha256(
            json.dumps(
                [text, locator, list(section.path), info.__dict__ | {"source_path": ""}], sort_keys=True
            ).encode()
        ).hexdigest()[:16]
        chunks.append(
            Chunk(
                id=chunk_id,
                doc=info,
                text=text,
                heading_path=section.path,
                locator=locator,
                page=section.page,
                seq=seq,
                file_hash=file_hash,
                file_chunks=len(drafts),
                content_hash=content_hash,
            )
        )
    return chunks
