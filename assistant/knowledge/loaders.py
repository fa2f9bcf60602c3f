"""Loaders turn one file (Markdown, PDF, HTML, DOCX, plain text) into a ParsedDocument.

Each loader only finds structure (headings, paragraphs, pages); locators and chunks are made later,
the same way for every format.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..errors import SourceError
from .documents import AUDIENCES, DocumentInfo, Element, ParsedDocument
from .limits import IngestLimits, ParseBudget, parse_time_limit
from .plaintext import PageLines, clean_pages, lines_to_elements
from .structure import heading_label, looks_like_heading_line, name_numbered_parts
from .titles import short_title, title_from_first_lines, title_from_font_sizes, usable_title

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".text", ".pdf", ".html", ".htm", ".docx")
REQUIRED_FRONT_MATTER = ("id", "title", "source_type", "audience")
_ID_SAFE = re.compile(r"[^a-z0-9]+")


def load_file(
    path: Path,
    data: bytes,
    default_audience: str,
    root: Path | None = None,
    limits: IngestLimits | None = None,
) -> ParsedDocument:
    """Parse one file's bytes within the page, unpacked-size and time caps of `limits`.

    Raises SourceError with a one-line reason when the file is unusable or over a cap.
    """
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise SourceError(f"{path}: unsupported file type '{suffix or 'none'}'")
    budget = ParseBudget(path, limits or IngestLimits())
    try:
        with parse_time_limit(budget):
            parsed = loader(path, data, default_audience, root, budget)
    except SourceError:
        raise
    except Exception as exc:  # third-party parsers raise anything on corrupt input
        raise SourceError(f"{path}: cannot be parsed as {suffix[1:].upper()} ({type(exc).__name__})") from exc
    budget.check_time()  # where no alarm is available, a parse that ran long is still refused
    return parsed


def _decode_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not valid UTF-8 (bad byte at offset {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fallback_info(path: Path, root: Path | None, title: str, audience: str) -> DocumentInfo:
    """Document info for a file without front matter: its own title, the file name only as a last resort."""
    rel = path.name if root is None else str(path.relative_to(root)) if path.is_relative_to(root) else path.name
    doc_id = _ID_SAFE.sub("-", str(Path(rel).with_suffix("")).lower()).strip("-") or "document"
    clean_title = title.strip() or path.stem.replace("_", " ").replace("-", " ").strip().capitalize()
    return DocumentInfo(
        id=doc_id,
        title=clean_title,
        source_type="document",
        audience=audience,
        cite_as=short_title(clean_title),
        source_path=str(path),
    )


class _AliasRefused(Exception):
    """An anchor or alias in front matter; `line` is 0-based within the YAML block."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases: nested aliases expand exponentially ("billion laughs"),
    and front matter never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasRefused(event.start_mark.line)
        return super().compose_node(parent, index)


def _front_matter(path: Path, text: str) -> tuple[dict[str, Any] | None, str, int]:
    """Split YAML front matter from the body; returns (meta or None, body, body's first line number)."""
    if not text.startswith("---\n"):
        return None, text, 1
    end = text.find("\n---", 3)
    if end == -1:
        raise SourceError(f"{path}: front matter starts with '---' but never ends")
    raw = text[4:end]
    try:
        meta = yaml.load(raw, Loader=_FrontMatterLoader) or {}  # a SafeLoader subclass: no arbitrary objects
    except _AliasRefused as exc:
        raise SourceError(
            f"{path}: line {exc.line + 2}: YAML anchors and aliases (&name, *name) are not allowed in front matter"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 2}" if mark is not None else ""
        raise SourceError(f"{path}:{line} invalid YAML front matter") from exc
    if not isinstance(meta, dict):
        raise SourceError(f"{path}: front matter must be a mapping of keys to values")
    body_start = text.find("\n", end + 1)
    body = text[body_start + 1 :] if body_start != -1 else ""
    return meta, body, raw.count("\n") + 3


def _info_from_meta(path: Path, meta: dict[str, Any]) -> DocumentInfo:
    missing = [key for key in REQUIRED_FRONT_MATTER if not meta.get(key)]
    if missing:
        raise SourceError(f"{path}: front matter lacks {', '.join(missing)}")
    audience = str(meta["audience"]).strip().lower()
    if audience not in AUDIENCES:
        raise SourceError(f"{path}: audience '{audience}' is not one of {', '.join(AUDIENCES)}")
    effective = meta.get("effective_date", "")
    if isinstance(effective, dt.date):
        effective = effective.isoformat()
    title = str(meta["title"]).strip()
    return DocumentInfo(
        id=str(meta["id"]).strip(),
        title=title,
        source_type=str(meta["source_type"]).strip().lower(),
        audience=audience,
        cite_as=str(meta.get("cite_as") or title).strip(),
        version=str(meta.get("version", "") or ""),
        effective_date=str(effective or ""),
        source_url=str(meta.get("source_url", "") or ""),
        owner=str(meta.get("owner", "") or ""),
        source_path=str(path),
    )


# Linear on purpose: the closing #s are stripped in Python. A pattern that matches them (`(.+?)\s*#*\s*$`)
# backtracks cubically on a long line of spaces, and one such line stalled the whole ingest.
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _heading_text(raw: str) -> str:
    """A heading's text without surrounding spaces and its optional closing run of #s."""
    return raw.strip().rstrip("#").strip()


def _markdown_elements(body: str, budget: ParseBudget) -> list[Element]:
    elements: list[Element] = []
    para: list[str] = []
    in_fence = False

    def flush() -> None:
        if para:
            text = "\n".join(para).strip()
            if text:
                elements.append(Element(text=text))
            para.clear()

    for line in body.split("\n"):
        budget.check_time()
        if _FENCE.match(line):
            in_fence = not in_fence
            para.append(line)
            continue
        heading = None if in_fence else _MD_HEADING.match(line)
        if heading:
            flush()
            elements.append(Element(text=_heading_text(heading.group(2)), level=len(heading.group(1))))
        elif not line.strip() and not in_fence:
            flush()
        else:
            para.append(line.rstrip())
    flush()
    return elements


def load_markdown(
    path: Path, data: bytes, default_audience: str, root: Path | None, budget: ParseBudget
) -> ParsedDocument:
    text = _decode_text(path, data)
    meta, body, _ = _front_matter(path, text)
    elements = _markdown_elements(body, budget)
    if meta is not None:
        info = _info_from_meta(path, meta)
    else:
        first = usable_title(next((e.text for e in elements if e.level == 1), ""))
        info = _fallback_info(path, root, first, default_audience)
        elements = name_numbered_parts(elements, info.title)
    return ParsedDocument(info=info, elements=elements)


def load_text(path: Path, data: bytes, default_audience: str, root: Path | None, budget: ParseBudget) -> ParsedDocument:
    text = _decode_text(path, data)
    meta, body, _ = _front_matter(path, text)
    lines = body.split("\n")
    elements = lines_to_elements([PageLines(number=None, lines=lines)], budget)
    if meta is not None:
        return ParsedDocument(info=_info_from_meta(path, meta), elements=elements)
    info = _fallback_info(path, root, _first_line_title(lines), default_audience)
    return ParsedDocument(info=info, elements=name_numbered_parts(elements, info.title))


def _first_line_title(lines: list[str]) -> str:
    """The first line as a title, unless it is already a numbered heading or clause."""
    first = next((line.strip() for line in lines if line.strip()), "")
    return "" if heading_label(first) else title_from_first_lines([first])


def load_pdf(path: Path, data: bytes, default_audience: str, root: Path | None, budget: ParseBudget) -> ParsedDocument:
    from pypdf import PdfReader

    if not data.startswith(b"%PDF"):
        raise SourceError(f"{path}: not a PDF file (missing %PDF header)")
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise SourceError(f"{path}: PDF is encrypted")
    budget.check_pages(len(reader.pages))
    first_page_fonts: list[tuple[str, float]] = []
    raw_pages: list[list[str]] = []
    for number, page in enumerate(reader.pages, start=1):
        budget.check_time()
        visitor = _font_size_visitor(first_page_fonts) if number == 1 else None
        raw_pages.append((page.extract_text(visitor_text=visitor) or "").split("\n"))
    pages = clean_pages(raw_pages)
    elements = lines_to_elements(pages, budget)
    if not elements:
        raise SourceError(f"{path}: PDF has no extractable text (scanned images need OCR first)")
    title = (
        usable_title(str(reader.metadata.title or "") if reader.metadata is not None else "")
        or title_from_font_sizes(first_page_fonts)
        or _first_line_title(pages[0].lines)
    )
    info = _fallback_info(path, root, title, default_audience)
    return ParsedDocument(info=info, elements=name_numbered_parts(elements, info.title))


def _font_size_visitor(fragments: list[tuple[str, float]]) -> Callable[..., None]:
    """A pypdf text visitor that records each fragment with its size on the page (font size times scale)."""

    def visit(text: str, cm: list[float], tm: list[float], font: Any, font_size: float) -> None:
        if text.strip():
            # The text matrix is applied inside the current transformation matrix: combine their vertical scales.
            c = tm[2] * cm[0] + tm[3] * cm[2]
            d = tm[2] * cm[1] + tm[3] * cm[3]
            fragments.append((text, abs(font_size) * math.hypot(c, d)))

    return visit


_HTML_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dd", "dt")


def load_html(path: Path, data: bytes, default_audience: str, root: Path | None, budget: ParseBudget) -> ParsedDocument:
    from bs4 import BeautifulSoup

    text = _decode_text(path, data)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template"]):
        tag.decompose()
    elements: list[Element] = []
    for tag in soup.find_all(_HTML_BLOCKS):
        budget.check_time()
        # Nested blocks (a <p> inside an <li>) are read once, through their outermost block.
        if tag.find_parent(_HTML_BLOCKS[6:]) is not None:
            continue
        content = " ".join(tag.get_text(" ", strip=True).split())
        if not content:
            continue
        level = int(tag.name[1]) if tag.name[0] == "h" and tag.name[1:].isdigit() else 0
        elements.append(Element(text=content, level=level))
    title_tag = soup.find("title")
    page_title = usable_title(title_tag.get_text(" ", strip=True) if title_tag else "")
    h1 = usable_title(next((e.text for e in elements if e.level == 1), ""))
    # "Reseller Guide | Northwind" in <title> with "Reseller Guide" as h1: the h1 is the document's own title.
    title = h1 if h1 and (not page_title or h1.casefold() in page_title.casefold()) else page_title or h1
    info = _fallback_info(path, root, title, default_audience)
    return ParsedDocument(info=info, elements=name_numbered_parts(elements, info.title))


def _check_unpacked_size(data: bytes, budget: ParseBudget) -> None:
    """Refuse a zip that would unpack to more than the byte cap, before python-docx reads any part whole.

    The sizes come from the zip's directory; zipfile never unpacks a member past its stated size, so a
    member that lies about it fails its CRC check instead of growing."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        budget.check_unpacked(sum(member.file_size for member in archive.infolist()))


def load_docx(path: Path, data: bytes, default_audience: str, root: Path | None, budget: ParseBudget) -> ParsedDocument:
    import docx

    _check_unpacked_size(data, budget)
    document = docx.Document(io.BytesIO(data))
    elements: list[Element] = []
    title_style = ""
    for para in document.paragraphs:
        budget.check_time()
        content = para.text.strip()
        if not content:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = 0
        if style == "Title":
            level = 1
            title_style = title_style or content
        elif style.startswith("Heading"):
            digits = style.removeprefix("Heading").strip()
            level = int(digits) if digits.isdigit() else 1
        elif looks_like_heading_line(content) and len(content) <= 100:
            level = 2
        elements.append(Element(text=content, level=level))
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
            if cells:
                elements.append(Element(text=" | ".join(cells)))
    title = (
        usable_title(document.core_properties.title)
        or usable_title(title_style)
        or usable_title(next((e.text for e in elements if e.level == 1), ""))
    )
    info = _fallback_info(path, root, title, default_audience)
    return ParsedDocument(info=info, elements=name_numbered_parts(elements, info.title))


_LOADERS: dict[str, Callable[[Path, bytes, str, Path | None, ParseBudget], ParsedDocument]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".text": load_text,
    ".pdf": load_pdf,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
}
