"""Screening against the lists loaded into the database, through their word-key index.

    screener = StoredListScreener(index, fallback=LocalListScreener(csv_path))
    screener.screen_text("Quote for Kestrelmark Dinamics, Dubai", countries=["AE"])

Each screening is one read of the index (`PartyIndex.snapshot`): the keys of the deal's words
(`names.index_keys`: the word, its consonant skeleton and one-letter deletions of it) find the listed
names that share a word or a close spelling of one; only names whose distinctive words are found
often enough (two, or all of them when they have fewer) are read back and compared, span by span,
with the same scoring as the local list. When no list is loaded, the fallback (the shipped sample
CSV) screens instead, so a fresh install behaves as before.

This module knows the index only through the `PartyIndex` protocol; the case database provides it
(cases.party_lists), wired by the service.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from .list_formats import ListedName, ListEntry
from .names import (
    NormalizedName,
    TokenizedText,
    candidate_spans,
    extends_name,
    index_keys,
    is_distinctive,
    name_from_tokens,
    normalize_name,
    romanized,
    tokenize,
    unmatched_tokens,
)
from .screening import (
    DEFAULT_THRESHOLD,
    Candidate,
    NameTarget,
    PartyHit,
    PartyScreener,
    Rank,
    best_per_party,
    score_targets,
)

_INITIAL = re.compile(r"[^\W\d_a-z]\.?|[^\W\d_]\.")
MIN_ANCHORS_FOUND = 2
"""Distinctive words of a listed name a text must hold (all of them when the name has fewer)."""


@dataclass(frozen=True)
class IndexedName:
    """A listed name prepared for the index: normalised words and lookup keys per distinctive word."""

    label: str
    strength: str
    tokens: tuple[str, ...]
    removed: tuple[str, ...]
    anchors: int
    keys: frozenset[tuple[str, int]]


def index_name(label: str, strength: str) -> IndexedName | None:
    """The name's words and keys; None for a name with nothing to match on (no letters or digits)."""
    normalized = normalize_name(label)
    if normalized.is_empty:
        return None
    # Distinctive words lead to the name; a name made only of generic words is reached by all of them.
    anchors = list(dict.fromkeys(t for t in normalized.tokens if is_distinctive(t))) or list(
        dict.fromkeys(normalized.tokens)
    )
    keys = frozenset((key, slot) for slot, token in enumerate(anchors) for key in index_keys(token))
    return IndexedName(label, strength, normalized.tokens, normalized.removed_forms, len(anchors), keys)


def index_entry(entry: ListEntry) -> list[IndexedName]:
    """Every name of an entry, plus the Latin reading of names in scripts without spaces (Chinese)."""
    names: list[ListedName] = list(entry.names)
    for listed in entry.names:
        latin = romanized(listed.label)
        if latin:
            names.append(ListedName(latin, listed.strength))
    indexed = [index_name(n.label, n.strength) for n in dict.fromkeys(names)]
    return [n for n in indexed if n is not None]


class StoredName(Protocol):
    """What the screener reads back for a listed name (cases.party_lists.StoredName has it)."""

    @property
    def name_id(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def strength(self) -> str: ...
    @property
    def tokens(self) -> tuple[str, ...]: ...
    @property
    def removed(self) -> tuple[str, ...]: ...
    @property
    def entry_key(self) -> str: ...
    @property
    def party(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def programs(self) -> str: ...
    @property
    def countries(self) -> tuple[str, ...]: ...
    @property
    def listed_on(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def list_name(self) -> str: ...
    @property
    def list_version(self) -> str: ...
    @property
    def loaded_at(self) -> str: ...


class Posting(Protocol):
    """A key found in the index."""

    @property
    def key(self) -> str: ...
    @property
    def name_id(self) -> int: ...
    @property
    def slot(self) -> int: ...
    @property
    def anchors(self) -> int: ...


class ListInForce(Protocol):
    """A loaded list, as a screening reports it."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class IndexSnapshot(Protocol):
    """One consistent read of the index."""

    @property
    def lists(self) -> Sequence[ListInForce]: ...

    def postings(self, keys: Collection[str]) -> Sequence[Posting]: ...

    def names(self, ids: Collection[int]) -> Sequence[StoredName]: ...


class PartyIndex(Protocol):
    """Where the loaded lists live (the case database)."""

    def snapshot(self) -> AbstractContextManager[IndexSnapshot]: ...


def _target(stored: StoredName) -> NameTarget:
    return NameTarget(
        party_id=f"{stored.list_name}:{stored.entry_key}",
        party=stored.party,
        list_name=f"{stored.list_name} ({stored.programs})" if stored.programs else stored.list_name,
        source=stored.source,
        listed_on=stored.listed_on,
        label=stored.label,
        is_primary=stored.strength == "primary",
        name=NormalizedName(stored.label, stored.tokens, stored.removed),
        strength=stored.strength,
        countries=stored.countries,
        list_version=stored.list_version,
        loaded_at=stored.loaded_at,
        kind=stored.kind,
    )


class StoredListScreener:
    """Screens against the lists loaded into the database; the fallback screens while none is loaded."""

    def __init__(self, index: PartyIndex, fallback: PartyScreener, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        """Nothing is read until something is screened."""
        self._index = index
        self._fallback = fallback
        self._threshold = threshold

    @property
    def threshold(self) -> float:
        """Lowest score that counts as a hit."""
        return self._threshold

    def describe(self) -> str:
        """The lists in force, or the fallback when none is loaded."""
        with self._index.snapshot() as snap:
            if not snap.lists:
                return f"no list loaded; {self._fallback.describe()}"
            shown = ", ".join(f"{info.name} (version {info.version})" for info in snap.lists)
            return f"loaded restricted-party lists {shown}; threshold {self._threshold:g}"

    def lists_in_force(self) -> list[dict[str, Any]]:
        """The loaded lists (name, version, load time), or the fallback's list when none is loaded."""
        with self._index.snapshot() as snap:
            if not snap.lists:
                return self._fallback.lists_in_force()
            return [info.to_dict() for info in snap.lists]

    def screen_names(self, names: Sequence[str], *, countries: Sequence[str] = ()) -> list[PartyHit]:
        """Screen each structured name as a whole."""
        if isinstance(names, str):
            raise TypeError("screen_names takes a sequence of names, not one string")
        with self._index.snapshot() as snap:
            if not snap.lists:
                return self._fallback.screen_names(names, countries=countries)
            texts = [tokenize(n.strip()) for n in names if n.strip()]
            texts += [tokenize(latin) for n in names if (latin := romanized(n))]
            found: list[tuple[Rank, PartyHit]] = []
            for tokenized, anchored, targets, _ in self._lookup(snap, texts):
                reached = {nid for nids in anchored for nid in nids}
                candidate = Candidate(tokenized.text, name_from_tokens(tokenized.text, tokenized.tokens))
                found.extend(self._score(candidate, (targets[i] for i in reached), countries))
            return best_per_party(found)

    def screen_text(self, text: str, *, countries: Sequence[str] = ()) -> list[PartyHit]:
        """Screen the spans of a text around words of listed names, whatever their case."""
        with self._index.snapshot() as snap:
            if not snap.lists:
                return self._fallback.screen_text(text, countries=countries)
            texts = [tokenize(text)]
            latin = romanized(text)
            if latin:
                texts.append(tokenize(latin))
            found: list[tuple[Rank, PartyHit]] = []
            for tokenized, anchored, targets, anchors in self._lookup(snap, texts):
                focus = [bool(reached) for reached in anchored]
                near_initials = _near_initials(tokenized)
                for span in candidate_spans(tokenized, require_capitals=False, focus=focus.__getitem__):
                    words = range(span.first_token, span.last_token + 1)
                    # A span is compared with a listed name only when it holds enough of the name's words.
                    counts: dict[int, int] = defaultdict(int)
                    for k in words:
                        for nid in anchored[k]:
                            counts[nid] += 1
                    by_initials = any(k in near_initials for k in words)
                    reached = [
                        nid
                        for nid, count in counts.items()
                        if by_initials or count >= min(MIN_ANCHORS_FOUND, anchors.get(nid, 1))
                    ]
                    candidate = Candidate(span.text, span.name)
                    # A span that leaves out words of the listed name and sits inside a longer written name
                    # is that other name, not a shortened listed one.
                    compared = (
                        targets[i]
                        for i in reached
                        if not unmatched_tokens(targets[i].name, span.name)
                        or not extends_name(tokenized, span.first_token, span.last_token, targets[i].name)
                    )
                    found.extend(self._score(candidate, compared, countries))
            return best_per_party(found)

    def _score(
        self, candidate: Candidate, targets: Iterable[NameTarget], countries: Sequence[str]
    ) -> list[tuple[Rank, PartyHit]]:
        return score_targets(candidate, targets, self._threshold, countries)

    def _lookup(
        self, snap: IndexSnapshot, texts: Sequence[TokenizedText]
    ) -> list[tuple[TokenizedText, list[set[int]], dict[int, NameTarget], dict[int, int]]]:
        """For each text: per token, the candidate names it leads to; those names, read back; and how many
        distinctive words each has."""
        token_keys = [[index_keys(token.folded) for token in tokenized.tokens] for tokenized in texts]
        wanted = {key for per_text in token_keys for keys in per_text for key in keys}
        by_key: dict[str, list[Posting]] = defaultdict(list)
        for posting in snap.postings(wanted):
            by_key[posting.key].append(posting)
        results = []
        all_anchors: dict[int, int] = {}
        all_candidates: set[int] = set()
        per_text: list[list[set[int]]] = []
        for tokenized, keys_of_tokens in zip(texts, token_keys, strict=True):
            slots: dict[int, set[int]] = defaultdict(set)
            anchors: dict[int, int] = {}
            reached_by_token: list[set[int]] = []
            for keys in keys_of_tokens:
                reached: set[int] = set()
                for key in keys:
                    for posting in by_key.get(key, ()):
                        slots[posting.name_id].add(posting.slot)
                        anchors[posting.name_id] = posting.anchors
                        reached.add(posting.name_id)
                reached_by_token.append(reached)
            # A listed name is compared only when the text holds enough of its distinctive words; initials
            # next to one of them ("A. S. Volkanov") stand for the others.
            near_initials = _near_initials(tokenized)
            by_initials = {nid for k, reached in enumerate(reached_by_token) if k in near_initials for nid in reached}
            candidates = {
                nid
                for nid, found in slots.items()
                if len(found) >= min(MIN_ANCHORS_FOUND, anchors[nid]) or nid in by_initials
            }
            all_candidates |= candidates
            all_anchors.update(anchors)
            per_text.append([reached & candidates for reached in reached_by_token])
        targets = {stored.name_id: _target(stored) for stored in snap.names(all_candidates)}
        for tokenized, anchored in zip(texts, per_text, strict=True):
            results.append((tokenized, [{i for i in nids if i in targets} for nids in anchored], targets, all_anchors))
        return results


def _near_initials(tokenized: TokenizedText, reach: int = 3) -> set[int]:
    """Positions of words within `reach` words of an initial ("V." or a lone capital)."""
    initials = [k for k, t in enumerate(tokenized.tokens) if len(t.folded) == 1 and _INITIAL.fullmatch(t.raw)]
    return {k for i in initials for k in range(i - reach, i + reach + 1) if k != i}
