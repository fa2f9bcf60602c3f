"""A domain vocabulary of equivalents: the words people ask in, mapped to the words the guidance uses.

Kept as data beside the corpus (`corpus/vocabulary.yaml`), so corpus owners extend it without code. Retrieval
searches for a question's own words and, when the question holds an everyday phrase of the vocabulary, for the
guidance's words too ("cut the partner off" also looks for "end the relationship").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

VOCABULARY_FILE = "vocabulary.yaml"


@dataclass(frozen=True)
class Equivalent:
    """Everyday phrases (one pattern) and the guidance words they stand for."""

    pattern: re.Pattern[str]
    means: str


@dataclass(frozen=True)
class Vocabulary:
    """The equivalents of one corpus; empty when the corpus has no vocabulary file."""

    entries: tuple[Equivalent, ...] = ()

    def expansion(self, question: str) -> str:
        """The guidance words for the everyday phrases in `question`, in file order, each once ('' for none)."""
        found: list[str] = []
        for entry in self.entries:
            if entry.means not in found and entry.pattern.search(question):
                found.append(entry.means)
        return " ".join(found)


def _phrases(raw: Any, where: str) -> list[str]:
    phrases = raw.split(" | ") if isinstance(raw, str) else raw
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
        raise ConfigError(f"{where}: 'say' must be a phrase or a list of phrases")
    return [p.strip() for p in phrases]


def load_vocabulary(path: Path) -> Vocabulary:
    """Read the vocabulary file; a missing file is an empty vocabulary, a malformed one a ConfigError."""
    if not path.is_file():
        return Vocabulary()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the vocabulary: {exc}") from exc
    items = data.get("equivalents") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a list under 'equivalents'")
    entries: list[Equivalent] = []
    for number, item in enumerate(items, 1):
        where = f"{path}: entry {number}"
        if not isinstance(item, dict) or not isinstance(item.get("means"), str) or not item["means"].strip():
            raise ConfigError(f"{where}: needs 'say' and 'means'")
        phrases = _phrases(item.get("say"), where)
        try:
            pattern = re.compile(r"(?<![\w-])(?:" + "|".join(f"(?:{p})" for p in phrases) + r")(?![\w-])", re.I)
        except re.error as exc:
            raise ConfigError(f"{where}: bad phrase pattern ({exc})") from exc
        entries.append(Equivalent(pattern, " ".join(item["means"].split())))
    return Vocabulary(tuple(entries))
