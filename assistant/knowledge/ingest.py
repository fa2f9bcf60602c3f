"""Incremental ingestion: files in, chunks embedded and written; only what changed is touched."""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SourceError
from .chunking import chunk_document
from .documents import AUDIENCES, Chunk
from .embeddings import Embedder
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
    """Expand files and folders into supported files; returns (files, folder roots)."""
    files: list[Path] = []
    roots: list[Path] = []
    for raw in paths:
        path = raw.expanduser().resolve()
        if path.is_dir():
            roots.append(path)
            for candidate in sorted(path.rglob("*")):
                rel_parts = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in rel_parts) or not candidate.is_file():
                    continue
                # A folder's README describes the folder; it is not guidance.
                if candidate.name.lower().startswith("readme"):
                    continue
                if candidate.suffix.lower() in SUPPORTED_SUFFIXES:
                    files.append(candidate)
                else:
                    report.skipped.append(str(candidate))
        elif path.is_file():
            files.append(path)
        else:
            report.errors.append(f"{raw}: no such file or folder")
    unique = list(dict.fromkeys(files))
    return unique, roots


def _file_hash(data: bytes, audience: str) -> str:
    # The default audience is part of the identity: re-ingesting with another --audience must re-label.
    return hashlib.sha256(data + b"\x00" + audience.encode()).hexdigest()[:16]


def _progress(iterable: Iterable[Any], total: int, desc: str, enabled: bool) -> Iterable[Any]:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="file" if desc == "parse" else "batch", file=sys.stderr)


class Ingestor:
    """Brings a set of files into the vector store, touching only what changed."""

    def __init__(self, store: VectorStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def run(self, paths: Sequence[Path], default_audience: str = "internal", progress: bool = False) -> IngestReport:
        """Ingest files and folders. Per-file problems are reported, never fatal to the other files."""
        if default_audience not in AUDIENCES:
            raise SourceError(f"audience '{default_audience}' is not one of {', '.join(AUDIENCES)}")
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
                data = path.read_bytes()
            except OSError as exc:
                report.errors.append(f"{path}: cannot be read ({exc.strerror or exc})")
                continue
            file_hash = _file_hash(data, default_audience)
            old = existing.get(source, {})
            if old and all(m.get("file_hash") == file_hash and m.get("file_chunks") == len(old) for m in old.values()):
                report.files_unchanged += 1
                report.chunks_unchanged += len(old)
                continue
            try:
                parsed = load_file(path, data, default_audience, root=_root_of(path, roots))
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
