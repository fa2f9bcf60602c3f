"""Incremental ingestion: files in, chunks embedded and written; only what changed is touched."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import logging
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SourceError
from .chunking import chunk_document
from .documents import AUDIENCES, Chunk, ParsedDocument
from .embeddings import Embedder
from .limits import IngestLimits, over_size
from .loaders import SUPPORTED_SUFFIXES, load_file
from .store import StoredChunk, VectorStore

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What an ingest run did; printed as the closing summary."""

    files_seen: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.chunks_added or self.chunks_updated or self.chunks_removed or self.files_changed)

    def summary(self) -> str:
        """One-paragraph human summary."""
        lines = [
            f"files: {self.files_seen} seen, {self.files_changed} changed, {self.files_unchanged} unchanged, "
            f"{self.files_removed} removed, {len(self.errors)} failed",
            f"chunks: {self.chunks_added} added, {self.chunks_updated} updated, {self.chunks_removed} removed, "
            f"{self.chunks_unchanged} unchanged",
            f"time: {self.seconds:.2f}s",
        ]
        lines += [f"error: {e}" for e in self.errors]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def discover(paths: Sequence[Path], report: IngestReport) -> tuple[list[Path], list[Path]]:
    """Expand files and folders into supported files; returns (files, folder roots).

    A path named on the command line is taken as given, even through a link. Inside a folder, symbolic
    links (to files or folders) are reported and not followed: a link could pull in anything the
    ingesting user can read, under the folder's audience.
    """
    files: list[Path] = []
    roots: list[Path] = []
    for raw in paths:
        path = raw.expanduser().resolve()
        if path.is_dir():
            roots.append(path)
            files.extend(_walk(path, report))
        elif path.is_file():
            files.append(path)
        else:
            report.errors.append(f"{raw}: no such file or folder")
    unique = list(dict.fromkeys(files))
    return unique, roots


def _walk(folder: Path, report: IngestReport) -> list[Path]:
    """Supported files under a folder in path order, without entering hidden entries or following links."""
    found: list[Path] = []
    pending = [folder]
    while pending:  # a stack, not recursion: folder depth is not ours to choose
        entry = pending.pop()
        if entry.is_symlink():
            report.errors.append(f"{entry}: is a symbolic link; links inside a folder are not followed")
        elif entry.is_dir():
            try:
                children = sorted(child for child in entry.iterdir() if not child.name.startswith("."))
            except OSError as exc:
                report.errors.append(f"{entry}: cannot be read ({exc.strerror or exc})")
                continue
            pending.extend(reversed(children))
        elif not entry.is_file() or entry.name.lower().startswith("readme"):
            continue  # a folder's README describes the folder; it is not guidance
        elif entry.suffix.lower() in SUPPORTED_SUFFIXES:
            found.append(entry)
        else:
            report.skipped.append(str(entry))
    return found


def _read_capped(path: Path, limits: IngestLimits) -> bytes:
    """A file's bytes, refusing one over the byte cap before reading it whole.

    O_NOFOLLOW keeps a file swapped for a link after discovery from being read through the link."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    with os.fdopen(os.open(path, flags), "rb") as handle:
        too_big = over_size(path, os.fstat(handle.fileno()).st_size, limits)
        if too_big is None:
            data = handle.read(limits.max_file_bytes + 1)  # +1: a file that grew since fstat is still caught
            too_big = over_size(path, len(data), limits)
    if too_big is not None:
        raise too_big
    return data


def _audience_key(ceiling: str | None) -> str:
    # "internal" for no ceiling keeps the hashes of indexes built before the ceiling existed.
    return "internal" if ceiling is None else f"ceiling:{ceiling}"


def _within_ceiling(parsed: ParsedDocument, ceiling: str | None) -> ParsedDocument:
    """Narrow the document's audience to the ceiling: front matter may narrow it, never widen it."""
    if ceiling is None or AUDIENCES.index(parsed.info.audience) >= AUDIENCES.index(ceiling):
        return parsed
    return dataclasses.replace(parsed, info=dataclasses.replace(parsed.info, audience=ceiling))


PARSER_VERSION = 2
"""Raise when loaders or chunking read the same bytes differently (titles, page furniture, locators), so that
the next ingest re-reads files whose bytes did not change instead of keeping their old passages."""


def _file_hash(data: bytes, audience_key: str) -> str:
    # The audience setting is part of the identity: re-ingesting with another --audience must re-label.
    key = audience_key if PARSER_VERSION == 1 else f"{audience_key}|parser:{PARSER_VERSION}"
    return hashlib.sha256(data + b"\x00" + key.encode()).hexdigest()[:16]


def _progress(iterable: Iterable[Any], total: int, desc: str, enabled: bool) -> Iterable[Any]:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="file" if desc == "parse" else "batch", file=sys.stderr)


class Ingestor:
    """Brings a set of files into the vector store, touching only what changed."""

    def __init__(self, store: VectorStore, embedder: Embedder, limits: IngestLimits | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.limits = limits or IngestLimits()

    def run(self, paths: Sequence[Path], audience: str | None = None, progress: bool = False) -> IngestReport:
        """Ingest files and folders. Per-file problems are reported, never fatal to the other files.

        `audience` is a ceiling (widest to narrowest: public, partner, internal): files without front
        matter get it, and front matter may narrow it but never widen it. Without one, front matter
        decides and files without front matter are internal.
        """
        if audience is not None and audience not in AUDIENCES:
            raise SourceError(f"audience '{audience}' is not one of {', '.join(AUDIENCES)}")
        default_audience = audience or "internal"
        started = time.perf_counter()
        report = IngestReport()
        files, roots = discover(paths, report)
        report.files_seen = len(files)
        existing = self._existing_by_source()
        doc_owner = {m["doc_id"]: src for src, chunks in existing.items() for m in chunks.values()}

        plans: list[tuple[str, list[Chunk], dict[str, dict[str, Any]]]] = []
        claimed: dict[str, str] = {}
        show = progress and sys.stderr.isatty() and len(files) >= 20
        for path in _progress(files, len(files), "parse", show):
            source = str(path)
            try:
                data = _read_capped(path, self.limits)
            except SourceError as exc:
                report.errors.append(str(exc))
                continue
            except OSError as exc:
                reason = "is a symbolic link; not followed" if exc.errno == errno.ELOOP else "cannot be read"
                report.errors.append(f"{path}: {reason} ({exc.strerror or exc})")
                continue
            file_hash = _file_hash(data, _audience_key(audience))
            old = existing.get(source, {})
            if old and all(m.get("file_hash") == file_hash and m.get("file_chunks") == len(old) for m in old.values()):
                report.files_unchanged += 1
                report.chunks_unchanged += len(old)
                continue
            try:
                loaded = load_file(path, data, default_audience, root=_root_of(path, roots), limits=self.limits)
                parsed = _within_ceiling(loaded, audience)
                chunks = chunk_document(parsed, file_hash)
            except SourceError as exc:
                report.errors.append(str(exc))
                continue
            if not chunks:
                report.errors.append(f"{path}: no text found")
                continue
            doc_id = parsed.info.id
            other = claimed.get(doc_id) or doc_owner.get(doc_id)
            if other and other != source and (other in claimed.values() or Path(other).exists()):
                report.errors.append(f"{path}: document id '{doc_id}' is already used by {other}")
                continue
            claimed[doc_id] = source
            # Chunks of a file that moved (same id, old path gone) are taken over, not duplicated.
            if other and other != source:
                old = {**existing.pop(other, {}), **old}
            plans.append((source, chunks, old))

        to_embed = [
            c for _, chunks, old in plans for c in chunks if old.get(c.id, {}).get("content_hash") != c.content_hash
        ]
        vectors = self._embed(
            [c.embed_text for c in to_embed], progress and sys.stderr.isatty() and len(to_embed) >= 256
        )
        vector_of = {c.id: vectors[i] for i, c in enumerate(to_embed)}
        written: set[str] = set()
        for _source, chunks, old in plans:
            self._write_file(chunks, old, vector_of, report)
            written.update(c.id for c in chunks)
            report.files_changed += 1

        seen_sources = {str(f) for f in files}
        for source, old in existing.items():
            under_root = any(Path(source).is_relative_to(root) for root in roots)
            if under_root and source not in seen_sources:
                stale = [ident for ident in old if ident not in written]
                self.store.delete(stale)
                report.chunks_removed += len(stale)
                report.files_removed += 1
        report.seconds = time.perf_counter() - started
        log.info("ingest finished", extra={"report": report.as_dict()})
        return report

    def _existing_by_source(self) -> dict[str, dict[str, dict[str, Any]]]:
        grouped: dict[str, dict[str, dict[str, Any]]] = {}
        for stored in self.store.all_chunks(with_text=False):
            grouped.setdefault(str(stored.metadata.get("source_path", "")), {})[stored.id] = stored.metadata
        return grouped

    def _embed(self, texts: list[str], show: bool) -> Any:
        if not texts:
            return []
        return self.embedder.embed_documents(texts, show_progress=show)

    def _write_file(
        self, chunks: list[Chunk], old: dict[str, dict[str, Any]], vector_of: dict[str, Any], report: IngestReport
    ) -> None:
        changed = [c for c in chunks if c.id in vector_of]
        same = [c for c in chunks if c.id not in vector_of]
        # Order matters for crash safety: new content first, then bookkeeping, then removals. A run cut
        # short leaves chunks whose file hash or count disagrees, so the next run redoes this file.
        if changed:
            import numpy as np

            self.store.upsert(
                [c.id for c in changed],
                [c.text for c in changed],
                [c.metadata() for c in changed],
                np.stack([vector_of[c.id] for c in changed]),
            )
        if same:
            self.store.update_metadata([c.id for c in same], [c.metadata() for c in same])
        stale = [ident for ident in old if ident not in {c.id for c in chunks}]
        self.store.delete(stale)
        report.chunks_added += sum(1 for c in changed if c.id not in old)
        report.chunks_updated += sum(1 for c in changed if c.id in old)
        report.chunks_unchanged += len(same)
        report.chunks_removed += len(stale)


def _root_of(path: Path, roots: Sequence[Path]) -> Path | None:
    for root in roots:
        if path.is_relative_to(root):
            return root
    return None


__all__ = ["IngestReport", "Ingestor", "StoredChunk", "discover"]
