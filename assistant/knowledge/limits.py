"""Per-file caps at ingest: bytes read, bytes unpacked, PDF pages and seconds of parsing.

One hostile or broken file must not stall or exhaust the whole ingest, so each cap turns into a
one-line SourceError for that file and the run goes on with the others.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..errors import SourceError

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(frozen=True)
class IngestLimits:
    """Caps applied to every file an ingest reads (defaults match the settings' defaults)."""

    max_file_bytes: int = 50_000_000
    max_pdf_pages: int = 2_000
    max_parse_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestLimits:
        """The caps configured by ASSISTANT_INGEST_MAX_FILE_BYTES, _MAX_PDF_PAGES and _MAX_PARSE_SECONDS."""
        return cls(
            max_file_bytes=settings.ingest_max_file_bytes,
            max_pdf_pages=settings.ingest_max_pdf_pages,
            max_parse_seconds=settings.ingest_max_parse_seconds,
        )


class ParseBudget:
    """What one file may still spend while it is parsed; loaders check it as they go."""

    def __init__(self, path: Path, limits: IngestLimits) -> None:
        self.path = path
        self.limits = limits
        self._deadline = time.monotonic() + limits.max_parse_seconds

    def over_time(self) -> SourceError:
        """The error for a file whose parse ran out of time."""
        seconds = f"{self.limits.max_parse_seconds:g}"
        return SourceError(
            f"{self.path}: parsing took longer than {seconds} s (ASSISTANT_INGEST_MAX_PARSE_SECONDS); skipped"
        )

    def check_time(self) -> None:
        """Raise once the parse has used up its seconds (called between pages, paragraphs, lines)."""
        if time.monotonic() > self._deadline:
            raise self.over_time()

    def check_pages(self, pages: int) -> None:
        """Refuse a PDF with more pages than the cap, before any page is read."""
        if pages > self.limits.max_pdf_pages:
            raise SourceError(
                f"{self.path}: {pages} pages is over the limit of {self.limits.max_pdf_pages} pages "
                "(ASSISTANT_INGEST_MAX_PDF_PAGES)"
            )

    def check_unpacked(self, unpacked: int) -> None:
        """Refuse an archive (DOCX) whose members would unpack to more than the byte cap: a zip bomb."""
        if unpacked > self.limits.max_file_bytes:
            raise SourceError(
                f"{self.path}: unpacked size {unpacked} bytes is over the limit of {self.limits.max_file_bytes} "
                "bytes (ASSISTANT_INGEST_MAX_FILE_BYTES)"
            )


def over_size(path: Path, size: int, limits: IngestLimits) -> SourceError | None:
    """The error for a file larger than the byte cap, or None when it fits."""
    if size <= limits.max_file_bytes:
        return None
    return SourceError(
        f"{path}: {size} bytes is over the limit of {limits.max_file_bytes} bytes (ASSISTANT_INGEST_MAX_FILE_BYTES)"
    )


class _ParseInterrupted(BaseException):
    """Raised by the alarm inside a parser. A BaseException, so parsers' `except Exception` cannot swallow it."""


@contextmanager
def parse_time_limit(budget: ParseBudget) -> Iterator[None]:
    """Interrupt the parse when its seconds run out, even inside one long call into a parser.

    Loaders also check the budget between elements; the alarm covers single calls that run long
    (building a huge HTML tree, extracting one hostile PDF page). Signals only reach the main thread
    and exist only on POSIX; elsewhere the checks between elements are the limit.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    armed = True

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if armed:  # a signal already on its way when the parse finished must not fire later
            raise _ParseInterrupted

    started = time.monotonic()
    previous_handler: Any = signal.signal(signal.SIGALRM, interrupt)
    previous_timer, _ = signal.setitimer(signal.ITIMER_REAL, budget.limits.max_parse_seconds)
    try:
        yield
    except _ParseInterrupted:
        raise budget.over_time() from None
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        # None means the old handler was not set from Python; the default is the closest we can restore.
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous_handler is None else previous_handler)
        if previous_timer > 0:  # someone else's alarm (a test timeout, say) keeps its remaining time
            signal.setitimer(signal.ITIMER_REAL, max(previous_timer - (time.monotonic() - started), 0.001))


__all__ = ["IngestLimits", "ParseBudget", "over_size", "parse_time_limit"]
