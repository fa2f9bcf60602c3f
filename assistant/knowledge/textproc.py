"""Tokenising, light stemming and sentence spans, shared by the lexical index and the answer composer."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "us",
        "let",
        "lets",
        "get",
        "got",
        "also",
        "may",
        "might",
        "must",
        "shall",
        "one",
        "two",
    ]
)

# Words that carry meaning in this domain even though general stopword lists drop them.
_KEEP = frozenset({"not", "no", "nor"})


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A small suffix stripper: enough to match 'resellers'/'reseller', 'screening'/'screen'."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (
        ("ational", "ate"),
        ("ization", "ize"),
        ("iveness", "ive"),
        ("fulness", "ful"),
        ("ousness", "ous"),
        ("ies", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: len(word) - len(suffix)] + repl
            if suffix == "s" and word.endswith("ss"):
                return word
            if suffix in ("ing", "ed") and len(base) > 2 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            if suffix == "es" and not re.search(r"(s|x|z|ch|sh)$", base):
                base = base + "e"
            return _normalise_e(base)
    return _normalise_e(word)


def _normalise_e(word: str) -> str:
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def tokens(text: str, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased, stemmed word tokens; stopwords dropped unless asked to keep them."""
    out: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        if not keep_stopwords and word in STOPWORDS and word not in _KEEP:
            continue
        out.append(stem(word))
    return out


# Abbreviations whose full stop does not end a sentence ("Art. 5", "No. 3", "para. 17", "e.g. a router").
# Python's look-behinds are fixed-width, so each is its own assertion.
ABBREVIATIONS = (
    "Art", "No", "Nos", "vs", "cf", "Sec", "para", "paras", "pp",
    "e.g", "i.e", "etc", "approx", "Mr", "Ms", "Dr", "St",
)  # fmt: skip
NOT_AFTER_ABBREVIATION = "".join(f"(?<!\\b{re.escape(a)}\\.)" for a in ABBREVIATIONS) + r"(?<!\b[A-Za-z]\.)"
"""Look-behinds that refuse a sentence break after an abbreviation or a single letter ("p.", initials)."""
_SENTENCE_END = re.compile(r"(?<=[.!?;:])" + NOT_AFTER_ABBREVIATION + r"\s+(?=[\"'(\[]?[A-Z0-9])")
CITATION_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")


def citation_numbers(text: str) -> list[int]:
    """Every citation number in a text, in order of appearance: "[1]", "[1, 2]", "[1; 3]", "[ 2 ]"."""
    return [int(n) for group in CITATION_MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group) if n]


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M)


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) offsets of sentences and list items in text; text[start:end] is verbatim."""
    for line_start, line in _lines_with_offsets(text):
        marker = _LIST_ITEM.match(line)
        body_start = marker.end() if marker else 0
        body = line[body_start:]
        if not body.strip():
            continue
        pos = 0
        for m in _SENTENCE_END.finditer(body):
            yield from _trimmed(text, line_start + body_start + pos, line_start + body_start + m.start())
            pos = m.end()
        yield from _trimmed(text, line_start + body_start + pos, line_start + body_start + len(body))


def _lines_with_offsets(text: str) -> Iterator[tuple[int, str]]:
    # Paragraph lines are joined so that a sentence wrapped over two lines stays one sentence.
    start = 0
    for block in re.split(r"(\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s))", text):
        if block and not block.isspace():
            yield start, block
        start += len(block)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start >= 3:
        yield start, end


_UNDECOMPOSABLE = {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "s", "Æ": "A", "æ": "a",
                   "Œ": "O", "œ": "o", "Þ": "T", "þ": "t", "ı": "i", "Ħ": "H", "ħ": "h"}  # fmt: skip
"""Letters Unicode does not decompose into a base letter, with the ASCII letter a reader would type."""


def strip_diacritics(text: str) -> str:
    """`text` with diacritics removed character by character (same length, so offsets stay valid)."""
    out = []
    for char in text:
        if ord(char) < 128:
            out.append(char)
            continue
        if char in _UNDECOMPOSABLE:
            out.append(_UNDECOMPOSABLE[char])
            continue
        base = unicodedata.normalize("NFKD", char)[:1]
        out.append(base if base and ord(base) < 128 else ("'" if char == "’" else char))
    return "".join(out)
