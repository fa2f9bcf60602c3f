"""Loaders turn one file (Markdown, PDF, HTML, DOCX, plain text) into a ParsedDocument.

Each loader only finds structure (headings, paragraphs, pages); locators and chunks are made later,
the same way for every format.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..errors import SourceError
from .documents import AUDIENCES, DocumentInfo, Element, ParsedDocument
from .structure import looks_like_heading_line

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".text", ".pdf", ".html", ".htm", ".docx")
REQUIRED_FRONT_MATTER = ("id", "title", "source_type", "audience")
_ID_SAFE = re.compile(r"[^a-z0-9]+")


def load_file(path: Path, data: bytes, default_audience: str, root: Path | None = None) -> ParsedDocument:
    """Parse one file's bytes. Raises SourceError with a one-line reason when the file is unusable."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise SourceError(f"{path}: unsupported file type '{suffix or 'none'}'")
    try:
        return loader(path, data, default_audience, root)
    except SourceError:
        raise
    except Exception as exc:  # third-party parsers raise anything on corrupt input
        raise SourceError(f"{path}: cannot be parsed as {suffix[1:].upper()} ({type(exc).__name__})") from exc


def _decode_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not valid UTF-8 (bad byte at offset {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fallback_info(path: Path, root: Path | None, title: str, audience: str) -> DocumentInfo:
    rel = path.name if root is None else str(path.relative_to(root)) if path.is_relative_to(root) else path.name
    doc_id = _ID_SAFE.sub("-", str(Path(rel).with_suffix("")).lower()).strip("-") or "document"
    clean_title = title.strip() or path.stem.replace("_", " ").replace("-", " ").strip().capitalize()
    return DocumentInfo(
        id=doc_id,
        title=clean_title,
        source_type="document",
        audience=audience,
        cite_as=clean_title,
        source_path=str(path),
    )


def _front_matter(path: Path, text: str) -> tuple[dict[str, Any] | None, str, int]:
    """Split YAML front matter from the body; returns (meta or None, body, body's first line number)."""
    if not text.startswith("---\n"):
        return None, text, 1
    end = text.find("\n---", 3)
    if end == -1:
        raise SourceError(f"{path}: front matter starts with '---' but never ends")
    raw = text[4:end]
    try:
        meta = yaml.safe_load(raw) or {}
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


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _markdown_elements(body: str) -> list[Element]:
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
        if _FENCE.match(line):
            in_fence = not in_fence
            para.append(line)
            continue
        heading = None if in_fence else _MD_HEADING.match(line)
        if heading:
            flush()
            elements.append(Element(text=heading.group(2).strip(), level=len(heading.group(1))))
        elif not line.strip() and not in_fence:
            flush()
        else:
            para.append(line.rstrip())
    flush()
    return elements


def load_markdown(path: Path, data: bytes, default_audience: str, root: Path | None) -> ParsedDocument:
    text = _decode_text(path, data)
    meta, body, _ = _front_matter(path, text)
    elements = _markdown_elements(body)
    if meta is not None:
        info = _info_from_meta(path, meta)
    else:
        first = next((e.text for e in elements if e.level == 1), "")
        info = _fallback_info(path, root, first, default_audience)
    return ParsedDocument(info=info, elements=elements)


def _plain_lines_to_elements(lines: list[str], page: int | None, elements: list[Element]) -> None:
    """Group layout-free lines into headings and paragraphs (PDF pages and .txt files)."""
    para: list[str] = []

    def flush() -> None:
        if para:
            elements.append(Element(text=" ".join(para).strip(), page=page))
            para.clear()

    for raw in lines:
        line = raw.strip()
        if not line:
            flush()
            continue
        if looks_like_heading_line(line):
            flush()
            if len(line) <= 100 and not line.endswith("."):
                elements.append(Element(text=line, level=2, page=page))
            else:  # a numbered clause that runs on: the number heads it, the sentence is its body
                elements.append(Element(text=line.split(" ", 1)[0].rstrip("."), level=2, page=page))
                para.append(line)
            continue
        if para and para[-1].endswith("-") and line[:1].islower():
            para[-1] = para[-1][:-1] + line  # re-join a word hyphenated at a line break
        else:
            para.append(line)
    flush()


def load_text(path: Path, data: bytes, default_audience: str, root: Path | None) -> ParsedDocument:
    text = _decode_text(path, data)
    meta, body, _ = _front_matter(path, text)
    elements: list[Element] = []
    _plain_lines_to_elements(body.split("\n"), None, elements)
    info = _info_from_meta(path, meta) if meta is not None else _fallback_info(path, root, "", default_audience)
    return ParsedDocument(info=info, elements=elements)


def load_pdf(path: Path, data: bytes, default_audience: str, root: Path | None) -> ParsedDocument:
    from pypdf import PdfReader

    if not data.startswith(b"%PDF"):
        raise SourceError(f"{path}: not a PDF file (missing %PDF header)")
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise SourceError(f"{path}: PDF is encrypted")
    elements: list[Element] = []
    for number, page in enumerate(reader.pages, start=1):
        _plain_lines_to_elements((page.extract_text() or "").split("\n"), number, elements)
    if not elements:
        raise SourceError(f"{path}: PDF has no extractable text (scanned images need OCR first)")
    title = ""
    if reader.metadata is not None and reader.metadata.title:
        title = str(reader.metadata.title)
    return ParsedDocument(info=_fallback_info(path, root, title, default_audience), elements=elements)


_HTML_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dd", "dt")


def load_html(path: Path, data: bytes, default_audience: str, root: Path | None) -> ParsedDocument:
    from bs4 import BeautifulSoup

    text = _decode_text(path, data)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template"]):
        tag.decompose()
    elements: list[Element] = []
    for tag in soup.find_all(_HTML_BLOCKS):
        # Nested blocks (a <p> inside an <li>) are read once, through their outermost block.
        if tag.find_parent(_HTML_BLOCKS[6:]) is not None:
            continue
        content = " ".join(tag.get_text(" ", strip=True).split())
        if not content:
            continue
        level = int(tag.name[1]) if tag.name[0] == "h" and tag.name[1:].isdigit() else 0
        elements.append(Element(text=content, level=level))
    title_tag = soup.find("title")
    title = title_tag.get_text(strip=True) if title_tag else ""
    if not title:
        title = next((e.text for e in elements if e.level == 1), "")
    return ParsedDocument(info=_fallback_info(path, root, title, default_audience), elements=elements)


def load_docx(path: Path, data: bytes, default_audience: str, root: Path | None) -> ParsedDocument:
    import docx

    document = docx.Document(io.BytesIO(data))
    elements: list[Element] = []
    for para in document.paragraphs:
        content = para.text.strip()
        if not content:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = 0
        if style == "Title":
            level = 1
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
    title = document.core_properties.title or next((e.text for e in elements if e.level == 1), "")
    return ParsedDocument(info=_fallback_info(path, root, title, default_audience), elements=elements)


_LOADERS: dict[str, Callable[[Path, bytes, str, Path | None], ParsedDocument]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".text": load_text,
    ".pdf": load_pdf,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
}
