"""Recognising numbered headings (principles, articles, clauses) and turning them into locators."""

from __future__ import annotations

import re
from dataclasses import replace

from .documents import Element

# "Principle 17", "Article 5(1)(h)", "Step 3", "Section 2.1", "Annex III"
_NAMED = re.compile(
    r"^(?P<label>(?:Principle|Article|Art\.|Section|Clause|Step|Rule|Annex|Part|Chapter|Recital)\s+"
    r"(?:\d+[A-Za-z]?(?:\.\d+)*(?:\(\w{1,4}\))*|[IVXLC]+))(?=$|[\s:.,—–-])",
    re.IGNORECASE,
)
# "4.2 Title", "4. Title", "§ 4.2 Title"
_NUMBERED = re.compile(r"^(?:§\s*)?(?P<label>\d{1,3}(?:\.\d{1,3})*)(?:\.|\))?(?=\s+\S|$)")


def named_heading_label(heading: str) -> str | None:
    """The label of a heading that names its part in words ('Principle 17', 'Article 5(2)'), or None."""
    named = _NAMED.match(heading.strip())
    if not named:
        return None
    word, _, rest = named.group("label").partition(" ")
    return f"{word[0].upper()}{word[1:].lower()} {rest.strip()}"


def heading_label(heading: str) -> str | None:
    """The citable number in a heading ('Principle 17', 'Article 5(2)', '4.2'), or None."""
    text = heading.strip()
    named = named_heading_label(text)
    if named:
        return named
    numbered = _NUMBERED.match(text)
    if numbered:
        return numbered.group("label")
    return None


def looks_like_heading_line(line: str) -> bool:
    """For layout-free text (PDF, plain text): is this line a heading or the start of a numbered clause?"""
    text = line.strip()
    if not text or len(text) > 160:
        return False
    named = _NAMED.match(text)
    if named and len(text) <= 120:
        # "Principle 17 of their own codes ..." is a sentence wrapped onto a new line, not a heading.
        return not text[named.end() :].lstrip(" :.,—–-")[:1].islower()
    numbered = _NUMBERED.match(text)
    if not numbered:
        return False
    label = numbered.group("label")
    rest = text[numbered.end() :].strip()
    if not rest or not rest[0].isupper():
        return False
    if "." in label:  # "4.2 Partners must ..." starts a clause even when it runs on
        return True
    # "3. Title" counts only when short and heading-like, so numbered lists stay lists.
    return len(text) <= 80 and not text.endswith((".", ";", ","))


def make_locator(cite_as: str, label: str | None, heading: str | None, page: int | None) -> str:
    """Human-readable locator: 'UNGP Principle 17', 'HREU 4.2', 'Guide › Scope, p. 3'."""
    if label:
        base = f"{cite_as} {label}".strip()
    elif heading and heading != cite_as:
        base = f"{cite_as} › {heading}" if cite_as else heading
    else:
        base = cite_as
    if page is not None:
        return f"{base}, p. {page}" if base else f"p. {page}"
    return base


# "17. In order to identify ..." (a numbered paragraph's first line; a numbered heading looks the same)
_NUMBERED_PARAGRAPH = re.compile(r"^(?P<number>\d{1,3})\.\s+(?=[A-Z“\"‘'(])")
_BARE_NUMBER = re.compile(r"\d{1,3}(?:\.\d{1,3})*")
_PRINCIPLES = re.compile(r"\bprinciples\b", re.IGNORECASE)
_PARAGRAPH_SKIP = 2  # a numbered paragraph may follow one the extraction lost, not more


def numbered_paragraph(text: str) -> int | None:
    """The number a numbered paragraph opens with ('17. In order to ...' -> 17), or None."""
    match = _NUMBERED_PARAGRAPH.match(text.strip())
    return int(match.group("number")) if match else None


def name_numbered_parts(elements: list[Element], title: str) -> list[Element]:
    """Name numbered parts as a document without front matter names them.

    Words the document uses are kept ("Article 5", "Section 3.2"); a bare-numbered heading reads
    "Section 3.2"; a numbered paragraph that runs on gets a heading of its own, "Principle 17" in a
    document of principles (its title says so), else "para. 17". Paragraph numbers must run in sequence,
    so a numbered list inside a paragraph ("1. ... 2. ...") is not taken for paragraphs 1 and 2. In a
    document of principles a "Commentary" line heads the commentary of the principle above it.
    """
    principles = bool(_PRINCIPLES.search(title))
    named: list[Element] = []
    expected = 1
    for element in elements:
        if element.note:
            named.append(element)
        elif element.is_heading:
            label = element.label or heading_label(element.text)
            if label and _BARE_NUMBER.fullmatch(label) and element.label is None:
                word = "Principle" if principles and "." not in label else "Section"
                element = replace(element, label=f"{word} {label}")
            named.append(element)
        elif principles and element.text.strip().casefold() == "commentary":
            named.append(replace(element, level=4))
        else:
            number = numbered_paragraph(element.text)
            if number is not None and expected <= number <= expected + _PARAGRAPH_SKIP:
                name = f"Principle {number}" if principles else f"para. {number}"
                named.append(Element(text=name, level=3, page=element.page, label=name))
                expected = number + 1
            named.append(element)
    return named
