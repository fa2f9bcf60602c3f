"""Footnotes, endnotes and the markers that point to them, in layout-free text (PDF pages, plain text).

Extraction glues a superscript marker to the word before it ("rights.12", "obligations12 and",
"from 26 July 2029.32"). A marker is only taken out when a note with that number exists: a footnote at the
bottom of the same page, or an endnote whose number comes next in the text's run of markers. So
"Article 5.2", "version 3.5", "2,000 units", "in 2024. The" and "Principle 17" are never touched: they are
not glued that way, or no note carries their number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A note's own line: "32 Regulation (EU) 2024/1689 of ...", "84See the guidance", "7. Ibid." in a notes section.
_NOTE_START = re.compile(r"^(?P<number>\d{1,3})(?:\s+|(?=[A-Z“\"‘'(]))(?=\S)")
_NOTE_START_IN_SECTION = re.compile(r"^(?P<number>\d{1,3})(?:[.)]?\s+|(?=[A-Z“\"‘'(]))(?=\S)")
_MARKER = re.compile(
    r"(?:(?<=[^\W\d_][a-z])"  # glued to a word: "obligations12"
    r"|(?<=[^\W\d_][.,;:!?)\]”’\"'])"  # after a word's punctuation: "rights.12", "(EU)3"
    r"|(?<=\b\d{4}\.))"  # after a year that ends a sentence: "2029.32"
    r"(?P<number>\d{1,3})(?=[\s,;:.)\]]|$)"
)
_NOTES_HEADING = re.compile(
    r"^(?:\d{1,2}\.?\s+)?(?:end\s?notes|notes|foot\s?notes|references|bibliography|works cited|sources|"
    r"notes and references|references and notes)\s*:?$",
    re.IGNORECASE,
)
_FOOTNOTE_SCAN_LINES = 60  # footnotes sit in the last lines of a page; a bigger block is body text
_NOTE_LINES = 8  # continuation lines of one footnote
_MARKER_STEP = 5  # an endnote marker may skip a few numbers the extraction lost, not more


def is_notes_heading(line: str) -> bool:
    """Is this line the heading of a notes, endnotes, references or bibliography section?"""
    return bool(_NOTES_HEADING.match(line.strip()))


def note_number(line: str, in_notes_section: bool = False) -> int | None:
    """The number a note's first line starts with ('32 Regulation ...' -> 32), or None."""
    pattern = _NOTE_START_IN_SECTION if in_notes_section else _NOTE_START
    match = pattern.match(line.strip())
    return int(match.group("number")) if match else None


def marker_numbers(text: str) -> set[int]:
    """Every number glued to a word the way a footnote marker is (whether or not a note has it)."""
    return {int(m.group("number")) for m in _MARKER.finditer(text)}


@dataclass
class FootnoteSplit:
    """One page's lines cut into body and the footnotes at its bottom."""

    body: list[str]
    notes: list[str]  # one entry per footnote, its lines joined
    numbers: set[int]


def split_footnotes(lines: list[str]) -> FootnoteSplit:
    """Find the footnotes at the bottom of a page: lines numbered n, n+1, ... (continuation lines between)
    whose numbers appear as markers in the body above them. Without a matching marker nothing is cut."""
    first = max(0, len(lines) - _FOOTNOTE_SCAN_LINES)
    best: int | None = None
    for index in range(len(lines) - 1, first - 1, -1):
        number = note_number(lines[index])
        if number is None:
            continue
        numbers = _consecutive_notes(lines[index:], number)
        if numbers is None:
            continue
        if number in marker_numbers(" ".join(lines[:index])):
            best = index
    if best is None:
        return FootnoteSplit(body=list(lines), notes=[], numbers=set())
    notes: list[list[str]] = []
    expected = note_number(lines[best])
    for line in lines[best:]:
        if note_number(line) == expected and expected is not None:
            notes.append([line.strip()])
            expected += 1
        elif line.strip():
            notes[-1].append(line.strip())
    return FootnoteSplit(
        body=lines[:best],
        notes=[_join(note) for note in notes],
        numbers=set(range(note_number(lines[best]) or 0, expected or 0)),
    )


def _consecutive_notes(block: list[str], first: int) -> set[int] | None:
    """The note numbers of a block that starts with note `first`, or None when a note runs on longer than
    a footnote does (then the block has reached into the body). Numbers out of sequence are continuation
    lines ('13 June 2024 laying down ...')."""
    expected = first
    run = 0
    for line in block:
        if note_number(line) == expected:
            expected += 1
            run = 0
        else:
            run += 1
            if run > _NOTE_LINES:
                return None
    return set(range(first, expected))


def _join(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        text = text[:-1] + line if text.endswith("-") and line[:1].islower() else f"{text} {line}"
    return text


class MarkerStripper:
    """Takes footnote and endnote markers out of body lines, in reading order."""

    def __init__(self, endnotes: set[int]) -> None:
        self._endnotes = endnotes
        self._last_endnote = 0

    def strip(self, line: str, footnotes: set[int]) -> str:
        """The line without the markers of `footnotes` (this page's) or of the endnotes, in sequence."""

        def replace(match: re.Match[str]) -> str:
            number = int(match.group("number"))
            if number in footnotes:
                return ""
            if number in self._endnotes and self._last_endnote < number <= self._last_endnote + _MARKER_STEP:
                self._last_endnote = number
                return ""
            return match.group(0)

        if not footnotes and not self._endnotes:
            return line
        return _MARKER.sub(replace, line)


__all__ = [
    "FootnoteSplit",
    "MarkerStripper",
    "is_notes_heading",
    "marker_numbers",
    "note_number",
    "split_footnotes",
]
