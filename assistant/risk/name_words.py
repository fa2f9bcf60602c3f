"""The word lists of the restricted-party matcher, read from corpus/risk/name_words.yaml.

They are data, edited by the people who maintain the lists: legal forms, honorifics, generic business
words and the small connector words inside names. Words are folded with the matcher's own `fold`, so
the file may write them with accents, dots or in another script.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import ConfigError

WORDS_FILE = "name_words.yaml"
_WORD_KEYS = ("legal_suffixes", "legal_prefixes", "honorifics", "common_words", "connectors")


@dataclass(frozen=True)
class NameWords:
    """Folded word lists (see corpus/risk/name_words.yaml for what each one is for)."""

    legal_suffixes: frozenset[str]
    legal_prefixes: frozenset[str]
    multi_word_legal_forms: tuple[tuple[str, ...], ...]
    unspaced_legal_forms: tuple[str, ...]
    honorifics: frozenset[str]
    common_words: frozenset[str]
    connectors: frozenset[str]


def shipped_words_path() -> Path:
    """The word file of the shipped corpus (a checkout's corpus/, or the copy packaged in a wheel)."""
    from assistant.config import default_corpus

    return default_corpus() / "risk" / WORDS_FILE


def load_name_words(path: Path, fold: Callable[[str], str]) -> NameWords:
    """Read and fold the word lists; ConfigError names the file and the key that is missing or wrong."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the matcher's word lists ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of word lists")

    def words(key: str) -> frozenset[str]:
        value = data.get(key)
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{key}' must be a text of space-separated words")
        folded = (fold(word).replace(".", "") for word in value.split())
        return frozenset(w for w in folded if w)

    def phrases(key: str) -> list[str]:
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{path}: '{key}' must be a list of non-empty texts")
        return value

    lists = {key: words(key) for key in _WORD_KEYS}
    multi = tuple(tuple(fold(w) for w in phrase.split()) for phrase in phrases("multi_word_legal_forms"))
    # Longest first, so "gmbh co kg" is removed whole before "co kg" could take its tail.
    multi = tuple(sorted(multi, key=len, reverse=True))
    unspaced = tuple(sorted(phrases("unspaced_legal_forms"), key=len, reverse=True))
    return NameWords(
        legal_suffixes=lists["legal_suffixes"],
        legal_prefixes=lists["legal_prefixes"],
        multi_word_legal_forms=multi,
        unspaced_legal_forms=unspaced,
        honorifics=lists["honorifics"],
        common_words=lists["common_words"],
        connectors=lists["connectors"],
    )


@functools.cache
def shipped_name_words(fold: Callable[[str], str]) -> NameWords:
    """The shipped word lists, read once per process on first use."""
    return load_name_words(shipped_words_path(), fold)
