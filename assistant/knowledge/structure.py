"""Recognising numbered headings (principles, articles, clauses) and turning them into locators."""

from __future__ import annotations

import re

# "Principle 17", "Article 5(1)(h)", "Step 3", "Section 2.1", "Annex III"
_NAMED = re.compile(
    r"^(?P<label>(?:Principle|Article|Art\.|Section|Clause|Step|Rule|Annex|Part|Chapter|Recital)\s+"
    r"(?:\d+[A-Za-z]?(?:\.\d+)*(?:\(\w{1,4}\))*|[IVXLC]+))(?=$|[\s:.,—–-])",
    re.IGNORECASE,
)
# "4.2 Title", "4. Title", "§ 4.2 Title"
_NUMBERED = re.compile(r"^(?:§\s*)?(?P<label>\d{1,3}(?:\.\d{1,3})*)(?:\.|\))?(?=\s+\S|$)")


def heading_label(heading: str) -> str | None:
    """The citable number in a heading ('Principle 17', 'Article 5(2)', '4.2'), or None."""
    text = heading.strip()
    named = _NAMED.match(text)
    if named:
        label = named.group("label")
        word, _, rest = label.partition(" ")
        return f"{word[0].upper()}{word[1:].lower()} {rest.strip()}"
    numbered = _NUMBERED.match(text)
    if numbered:
        return numbered.group("label")
    return None


def looks_like_heading_line(line: str) -> bool:
    """For layout-free text (PDF, plain text): is this line a heading or the start of a numbered clause?"""
    text = line.strip()
    if not text or len(text) > 160:
        return False
    if _NAMED.match(text) and len(text) <= 120:
        return True
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
