"""Reading layout-free lines (PDF pages, plain text files) into headings, paragraphs and notes.

PDF pages go through `clean_pages` first: page furniture off, footnotes cut from the page bottoms,
footnote and endnote markers out of the body. `lines_to_elements` then finds the structure, the same
way for PDF pages and text files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .documents import Element
from .limits import ParseBudget
from .notes import MarkerStripper, is_notes_heading, note_number, split_footnotes
from .page_furniture import strip_page_furniture
from .structure import heading_label, looks_like_heading_line, named_heading_label, numbered_paragraph

_DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*\d+\s*$")  # a table of contents line: "2.1 Scope . . . . 7"
_INTEGER_LABEL = re.compile(r"\d{1,3}")
_SECTION_NUMBER_STEP = 3  # "84 See the guidance" after section 5 is a note, not section 84
_FIRST_SECTION_NUMBERS = 7
_CAPITALS_TITLE = re.compile(r"[A-Z][A-Z ,'’&-]*")  # "APPLICABILITY AND DEFINITIONS"


@dataclass
class PageLines:
    """One page's body lines, and the footnotes found at its bottom."""

    number: int | None
    lines: list[str]
    footnotes: list[str] = field(default_factory=list)


def clean_pages(raw_pages: list[list[str]]) -> list[PageLines]:
    """PDF pages without furniture, with footnotes apart and markers taken out of the body."""
    pages = strip_page_furniture(raw_pages)
    splits = [split_footnotes(lines) for lines in pages]
    stripper = MarkerStripper(_endnote_numbers([split.body for split in splits]))
    cleaned: list[PageLines] = []
    in_notes = False
    for number, split in enumerate(splits, start=1):
        body: list[str] = []
        for line in split.body:
            in_notes = _notes_state(line, in_notes)
            body.append(line if in_notes else stripper.strip(line, split.numbers))
        cleaned.append(PageLines(number=number, lines=body, footnotes=split.notes))
    return cleaned


def _notes_state(line: str, in_notes: bool) -> bool:
    """Whether the text is inside a notes section after this line."""
    if is_notes_heading(line):
        return True
    if in_notes and named_heading_label(line) and looks_like_heading_line(line):  # "Annex II", "Chapter 5"
        return False
    return in_notes


def _endnote_numbers(pages: list[list[str]]) -> set[int]:
    """The numbers of the notes listed in notes, endnotes or references sections."""
    numbers: set[int] = set()
    in_notes = False
    for lines in pages:
        for line in lines:
            was_in_notes = in_notes
            in_notes = _notes_state(line, in_notes)
            if was_in_notes and in_notes:
                number = note_number(line, in_notes_section=True)
                if number is not None:
                    numbers.add(number)
    return numbers


def _runs_on(line: str, next_line: str) -> bool:
    """Does a numbered line open a paragraph ('17. In order to identify, ...') rather than title a section?"""
    if next_line[:1].islower() or len(line) > 80 or line.endswith((",", ";", "-")):
        return True
    return line.endswith((".", ":")) and len(line.split()) >= 4


class _Reader:
    def __init__(self, budget: ParseBudget) -> None:
        self.budget = budget
        self.elements: list[Element] = []
        self.para: list[str] = []
        self.page: int | None = None
        self.in_notes = False
        self.top_section = 0

    def flush(self) -> None:
        if self.para:
            self.elements.append(Element(text=" ".join(self.para).strip(), page=self.page))
            self.para.clear()

    def append(self, line: str) -> None:
        if self.para and self.para[-1].endswith("-") and line[:1].islower():
            self.para[-1] = self.para[-1][:-1] + line  # re-join a word hyphenated at a line break
        else:
            self.para.append(line)

    def heading(self, line: str) -> None:
        self.flush()
        if len(line) <= 100 and not line.endswith("."):
            self.elements.append(Element(text=line, level=2, page=self.page))
        else:  # a numbered clause that runs on: the number heads it, the sentence is its body
            self.elements.append(Element(text=heading_label(line) or line, level=2, page=self.page))
            self.para.append(line)

    def plausible_section(self, line: str) -> bool:
        """A bare integer heading continues the numbering so far, in words: a note's number ('84 See ...')
        does not, nor does a table row ('4 CARD32 N_PARENTS')."""
        label = heading_label(line)
        if named_heading_label(line) or label is None or not _INTEGER_LABEL.fullmatch(label):
            return True
        rest = line[len(label) :].lstrip(" .)")
        if not any(c.islower() for c in rest) and not _CAPITALS_TITLE.fullmatch(rest):
            return False
        number = int(label)
        if number > max(self.top_section, _FIRST_SECTION_NUMBERS) + _SECTION_NUMBER_STEP:
            return False
        self.top_section = max(self.top_section, number)
        return True

    def line(self, line: str, next_line: str) -> None:
        if not line:
            self.flush()
        elif is_notes_heading(line):
            self.flush()
            self.elements.append(Element(text=line, level=2, page=self.page))
            self.in_notes = True
        elif self.in_notes and not (named_heading_label(line) and looks_like_heading_line(line)):
            if note_number(line, in_notes_section=True) is not None:
                self.flush()  # each note its own paragraph; its number never heads a section
            self.append(line)
        elif _DOT_LEADER.search(line):
            self.append(line)
        elif line.casefold() == "commentary":
            self.flush()
            self.elements.append(Element(text=line, page=self.page))
        elif numbered_paragraph(line) is not None and _runs_on(line, next_line):
            self.flush()
            self.para.append(line)
        elif looks_like_heading_line(line) and self.plausible_section(line):
            self.in_notes = False
            self.heading(line)
        else:
            self.append(line)


def lines_to_elements(pages: list[PageLines], budget: ParseBudget) -> list[Element]:
    """Group layout-free lines into headings, paragraphs and notes, page by page."""
    reader = _Reader(budget)
    for page in pages:
        reader.page = page.number
        lines = [raw.strip() for raw in page.lines]
        for index, line in enumerate(lines):
            budget.check_time()
            reader.line(line, next((later for later in lines[index + 1 : index + 2] if later), ""))
        reader.flush()
        reader.elements.extend(Element(text=note, page=page.number, note=True) for note in page.footnotes)
    return reader.elements


__all__ = ["PageLines", "clean_pages", "lines_to_elements"]
