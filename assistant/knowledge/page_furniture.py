"""Page furniture: running headers, footers, page numbers and navigation bands repeated on many pages.

Designed PDFs repeat them on most pages, and text extraction puts them among the body lines, first or
last on the page, in whatever order the layout program drew them (a footer can come out first). A line is
furniture when, with its digits masked, it sits at an edge of many pages. Edges are peeled in rounds, so a
stack of furniture (a header, then a band of chapter names) comes off line by line, while a line that
repeats in the middle of pages (a "Commentary" heading before each principle's commentary) is never
touched. Each round looks at two lines per page, so the pass is linear in the number of lines.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from .structure import named_heading_label

_MIN_PAGES = 3  # with fewer pages nothing can be seen to repeat
_MAX_ROUNDS = 12  # deeper stacks than a header, a band of chapter names and a footer are not furniture
_SHARE = 0.2  # identical text at the edge of a fifth of the pages (a chapter's running header)
_PROSE_SHARE = 0.5  # a full sentence repeated at the edge must be on half the pages to count
_PROSE_MIN_PAGES = 5
_DIGITS = re.compile(r"\d+")
_ROMAN_PAGE = re.compile(r"[ivxlc]{1,6}")
_SENTENCE_END = (".", "!", "?")
_OFFSET_AGREEMENT = 0.6
_RUNNING_HEADER_CHARS = 100


def furniture_key(line: str) -> str:
    """The line with case, spacing and digits masked: '- 12 -' and '- 13 -' share a key."""
    text = " ".join(line.split()).casefold()
    if _ROMAN_PAGE.fullmatch(text):  # front-matter page numbers: "iv"
        return "#"
    return _DIGITS.sub("#", text)


def _is_prose(line: str) -> bool:
    return line.rstrip().endswith(_SENTENCE_END) and len(line.split()) >= 6


@dataclass
class _Seen:
    pages: set[int] = field(default_factory=set)
    lines: set[str] = field(default_factory=set)


def _is_furniture(key: str, seen: _Seen, page_count: int) -> bool:
    count = len(seen.pages)
    if count < _MIN_PAGES:
        return False
    sample = next(iter(seen.lines))
    varies = "#" in key and len(seen.lines) > 1
    if _is_prose(sample):
        # A full sentence is furniture only when repeated word for word ("This page is left blank.");
        # a sentence with a changing number is a templated paragraph, not a footer.
        return not varies and count >= max(_PROSE_MIN_PAGES, math.ceil(_PROSE_SHARE * page_count))
    if varies:
        # Same words, numbers that change from page to page: a page number ("Page 12 of 42",
        # "Chapter 4: Scope 9"). Unless the number is what names the part: "Principle 1" heading
        # page 1 and "Principle 2" heading page 2 are content.
        labels = {named_heading_label(line) for line in seen.lines}
        return None in labels or len(labels) == 1
    return count >= max(_MIN_PAGES, math.ceil(_SHARE * page_count))


def strip_page_furniture(pages: list[list[str]]) -> list[list[str]]:
    """The pages' lines without the furniture repeated at their edges (blank lines at edges go too)."""
    if len(pages) < _MIN_PAGES:
        return [list(page) for page in pages]
    start = [0] * len(pages)
    end = [len(page) for page in pages]
    seen: dict[str, _Seen] = {}
    furniture: set[str] = set()
    removed: list[tuple[int, str]] = []

    def skip_blank(index: int) -> None:
        page = pages[index]
        while start[index] < end[index] and not page[start[index]].strip():
            start[index] += 1
        while start[index] < end[index] and not page[end[index] - 1].strip():
            end[index] -= 1

    for index in range(len(pages)):
        skip_blank(index)
    for _ in range(_MAX_ROUNDS):
        for index, page in enumerate(pages):
            if start[index] < end[index]:
                for line in {page[start[index]], page[end[index] - 1]}:
                    entry = seen.setdefault(furniture_key(line), _Seen())
                    entry.pages.add(index)
                    entry.lines.add(" ".join(line.split()))
        found = {key for key, entry in seen.items() if key not in furniture and _is_furniture(key, entry, len(pages))}
        if not found:
            break
        furniture |= found
        for index, page in enumerate(pages):
            while start[index] < end[index] and furniture_key(page[start[index]]) in furniture:
                removed.append((index, page[start[index]]))
                start[index] += 1
                skip_blank(index)
            while start[index] < end[index] and furniture_key(page[end[index] - 1]) in furniture:
                end[index] -= 1
                removed.append((index, page[end[index]]))
                skip_blank(index)

    # A chapter's running header on only a page or two ("Chapter 3: Utilities 7") is too rare to be seen
    # repeating, but it ends with the printed page number, which the page numbers already found give.
    offset = _page_number_offset(removed)
    if offset is not None:
        for index, page in enumerate(pages):
            printed = str(index - offset)
            while start[index] < end[index] and _ends_with_page_number(page[start[index]], printed):
                start[index] += 1
                skip_blank(index)
            while start[index] < end[index] and _ends_with_page_number(page[end[index] - 1], printed):
                end[index] -= 1
                skip_blank(index)
    return [page[start[index] : end[index]] for index, page in enumerate(pages)]


def _page_number_offset(removed: list[tuple[int, str]]) -> int | None:
    """The difference between a page's index and its printed number, when the furniture agrees on one."""
    votes: Counter[int] = Counter()
    for index, line in removed:
        numbers = _DIGITS.findall(line)
        if numbers:
            votes[index - int(numbers[-1])] += 1
    if not votes:
        return None
    offset, count = votes.most_common(1)[0]
    return offset if count >= _MIN_PAGES and count >= _OFFSET_AGREEMENT * sum(votes.values()) else None


def _ends_with_page_number(line: str, printed: str) -> bool:
    words = line.split()
    if not words or len(line) > _RUNNING_HEADER_CHARS or words[-1] != printed:
        return False
    label = named_heading_label(line)
    return not (label and label.split()[-1] == printed)  # "Principle 3" heading page 3 is content


__all__ = ["furniture_key", "strip_page_furniture"]
