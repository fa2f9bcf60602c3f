"""A document's title from the document itself, and the short form citations start with.

Order of trust (loaders apply it): a usable metadata title, then what the first page or heading says,
then the file name. Metadata titles are often left over from the authoring tool ("Microsoft Word -
draft3.docx", "untitled"), so those are refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

_JUNK_TITLE = re.compile(
    r"^(?:untitled.*|no title|title|document\s*\d*|new document|draft\s*\d*|presentation\s*\d*|"
    r"powerpoint presentation|slide\s*\d+|microsoft\s+\w+\s*-.*|.*\.(?:docx?|pdf|indd|pptx?|xlsx?|rtf|odt|tex|"
    r"dvi|ps|txt|html?|qxp|ai))$",
    re.IGNORECASE,
)
_MAX_TITLE_CHARS = 200
_SUBTITLE = re.compile(r"\s*(?::|\s[–—-]\s)\s*")
_SHORT_TITLE_CHARS = 60
_SMALL_WORDS = frozenset(
    ["a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with"]
)
_LARGER_THAN_BODY = 1.15  # a title is set clearly larger than the text


def usable_title(raw: str | None) -> str:
    """The title cleaned up, or '' when it is missing or junk an authoring tool left behind."""
    text = " ".join(str(raw or "").split()).strip(" -–—:|")
    if len(text) < 3 or len(text) > _MAX_TITLE_CHARS or sum(c.isalpha() for c in text) < 3:
        return ""
    if _JUNK_TITLE.match(text) or (" " not in text and "_" in text):  # "report_final_v3"
        return ""
    return tidy_title(text)


def tidy_title(title: str) -> str:
    """An all-capitals cover title in title case ('GUIDING PRINCIPLES ON ...' -> 'Guiding Principles on ...')."""
    letters = [c for c in title if c.isalpha()]
    if len(title.split()) < 3 or not all(c.isupper() for c in letters):
        return title
    words = []
    for position, word in enumerate(title.split()):
        lower = word.lower()
        if position and lower in _SMALL_WORDS:
            words.append(lower)
        elif len(word) <= 2:  # "UN", "EU", "AI": acronyms are short
            words.append(word)
        else:
            words.append(word[:1] + word[1:].lower())
    return " ".join(words)


def short_title(title: str) -> str:
    """What a citation starts with: the title, or its main part when a long title has a subtitle."""
    if len(title) <= _SHORT_TITLE_CHARS:
        return title
    head = _SUBTITLE.split(title, maxsplit=1)[0].strip()
    return head if len(head.split()) >= 2 else title


def title_from_font_sizes(fragments: Iterable[tuple[str, float]]) -> str:
    """The first page's title: the first run of text set in the largest size clearly above the body size.

    `fragments` are (text, effective font size) in reading order, as pypdf's visitor reports them."""
    items = [(text, size) for text, size in fragments if text.strip() and size > 0]
    if not items:
        return ""
    chars_by_size: dict[float, int] = {}
    for text, size in items:
        chars_by_size[round(size, 1)] = chars_by_size.get(round(size, 1), 0) + len(text.strip())
    body = max(chars_by_size, key=lambda size: chars_by_size[size])
    for size in sorted((s for s in chars_by_size if s > body * _LARGER_THAN_BODY), reverse=True):
        run: list[str] = []
        for text, fragment_size in items:
            if math.isclose(round(fragment_size, 1), size):
                run.append(text)
            elif run and any(c.isalpha() for c in text):
                break
        title = usable_title(" ".join(run))
        if title and sum(c.isalpha() for c in title) >= 4:
            return title
    return ""


def title_from_first_lines(lines: Iterable[str]) -> str:
    """The first short line of a page that reads like a title, when no font sizes are known."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if len(text) <= 100 and not text.endswith((".", ",", ";")):
            return usable_title(text)
        return ""
    return ""


__all__ = ["short_title", "tidy_title", "title_from_first_lines", "title_from_font_sizes", "usable_title"]
