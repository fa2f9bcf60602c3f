"""Restricted-party screening: one interface, a local-list back-end and an OpenSanctions yente back-end.

    screener = create_screener(settings.corpus / "risk" / "restricted_parties.csv", settings.yente_url)
    hits = screener.screen_text("Belgrade deal: the buyer is Sarovic Telekom")

Both back-ends take structured names (`screen_names`) or free text (`screen_text`) and return one
`PartyHit` per listed party, best score first. The local back-end loads the CSV list once, indexes
the distinctive words of every name and alias, and compares candidate spans around those words only.
The yente back-end extracts the same candidate spans locally and sends them to POST /match/{dataset}.

A back-end that cannot screen raises (ConfigError for a bad list, ScreeningUnavailable for a yente
failure); it never answers "no hits" for a deal it did not screen.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rapidfuzz import fuzz, process

from assistant.errors import ConfigError

from .names import (
    TOKEN_MATCH,
    NormalizedName,
    Token,
    candidate_spans,
    index_keys,
    is_distinctive,
    is_unspaced,
    name_from_tokens,
    normalize_name,
    similarity,
    tokenize,
    unmatched_tokens,
)

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 88.0
"""Lowest score (0-100) that counts as a hit."""

REQUIRED_COLUMNS = ("name", "aliases", "list", "source", "listed_on")
ALIAS_SEPARATOR = "|"
YENTE_MAX_BATCH = 100
"""yente refuses more queries than this in one /match request."""

_FUZZY_ANCHOR_MIN_CHARS = 4


@dataclass(frozen=True)
class PartyHit:
    """A listed party that a screened name or text matches, with the evidence for the match."""

    party: str
    """The party's listed name (yente: the entity caption)."""
    matched_alias: str
    """The listed name or alias that matched best, as written in the list."""
    list_name: str
    """Which list the party is on (yente: its dataset names)."""
    source: str
    """Where the listing comes from (local: the CSV source column; yente: the entity URL)."""
    listed_on: str
    """Listing date as YYYY-MM-DD, or '' when the source does not say."""
    score: int
    """Match score, 0-100."""
    explanation: str
    """One line a person can check: what matched what, after which normalisation, with the score."""
    candidate: str
    """The screened name or text span as written."""
    party_id: str
    """Stable identifier of the party within its back-end."""
    list_version: str = ""
    """Version of the list the hit came from (a loaded list: a digest of its files; the CSV: its file)."""
    loaded_at: str = ""
    """When that version was loaded (ISO 8601 UTC), '' for a list read from a file at start."""
    alias_strength: str = ""
    """primary, strong or weak: how strongly the matched name identifies the party."""
    listed_countries: tuple[str, ...] = ()
    """Countries (ISO alpha-2) the listing names."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the list under the key "list"."""
        return {
            "party": self.party,
            "matched_alias": self.matched_alias,
            "list": self.list_name,
            "source": self.source,
            "listed_on": self.listed_on,
            "score": self.score,
            "explanation": self.explanation,
            "candidate": self.candidate,
            "party_id": self.party_id,
            "list_version": self.list_version,
            "loaded_at": self.loaded_at,
            "alias_strength": self.alias_strength,
            "listed_countries": list(self.listed_countries),
        }


@runtime_checkable
class PartyScreener(Protocol):
    """What triage needs from a restricted-party screening back-end."""

    def screen_names(self, names: Sequence[str], *, countries: Sequence[str] = ()) -> list[PartyHit]:
        """Screen structured names (end user, partner, consignee, ...); one hit per party, best first.

        `countries` (ISO alpha-2) are the deal's countries: a listing in one of them supports a match,
        a listing elsewhere weighs against it, and weak aliases count only with a supporting country."""
        ...

    def screen_text(self, text: str, *, countries: Sequence[str] = ()) -> list[PartyHit]:
        """Screen the names found in free text; one hit per party, best first (`countries` as above)."""
        ...

    def describe(self) -> str:
        """One line naming the back-end and its settings, for logs and answers."""
        ...

    def lists_in_force(self) -> list[dict[str, Any]]:
        """The lists a screening now reads: {list, version, loaded_at, source} each."""
        ...


@dataclass(frozen=True)
class ListedParty:
    """One row of the restricted-party list."""

    name: str
    aliases: tuple[str, ...]
    list_name: str
    source: str
    listed_on: str
    line: int


def check_threshold(threshold: float) -> float:
    if not 0 < threshold <= 100:
        raise ConfigError(f"screening threshold must be in (0, 100], got {threshold!r}")
    return float(threshold)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the restricted-party list ({exc.strerror or exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {line}: not UTF-8 text ({exc.reason})") from exc


def load_restricted_parties(path: Path | str) -> list[ListedParty]:
    """Read and validate the CSV list (name,aliases,list,source,listed_on; aliases split by '|').

    Raises ConfigError naming the file, the line and the problem: unreadable file, missing header
    column, wrong number of fields, empty name or list, a bad date, a name without letters, no rows.
    """
    path = Path(path)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ConfigError(f"{path}, line 1: the file is empty; expected the header {','.join(REQUIRED_COLUMNS)}")
        columns = [c.strip().lower() for c in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ConfigError(
                f"{path}, line 1: header lacks column(s) {', '.join(missing)} (found: {', '.join(columns)})"
            )
        parties = [party for row in reader if (party := _parse_row(path, reader.line_num, columns, row))]
    except csv.Error as exc:
        raise ConfigError(f"{path}, line {reader.line_num}: {exc}") from exc
    if not parties:
        raise ConfigError(f"{path}, line 2: the list has a header but no parties")
    return parties


def _parse_row(path: Path, line: int, columns: list[str], row: list[str]) -> ListedParty | None:
    if not any(field.strip() for field in row):
        return None
    if len(row) != len(columns):
        raise ConfigError(
            f"{path}, line {line}: expected {len(columns)} fields, found {len(row)} "
            "(a comma inside a name needs double quotes)"
        )
    values = {column: field.strip() for column, field in zip(columns, row, strict=True)}
    name, list_name, listed_on = values["name"], values["list"], values["listed_on"]
    if not name:
        raise ConfigError(f"{path}, line {line}: empty name")
    if not list_name:
        raise ConfigError(f"{path}, line {line}: empty list for {name!r}")
    if listed_on:
        try:
            date.fromisoformat(listed_on)
        except ValueError:
            raise ConfigError(f"{path}, line {line}: listed_on {listed_on!r} is not a date (YYYY-MM-DD)") from None
    aliases = tuple(a.strip() for a in values["aliases"].split(ALIAS_SEPARATOR) if a.strip())
    for label in (name, *aliases):
        if normalize_name(label).is_empty:
            raise ConfigError(f"{path}, line {line}: {label!r} has no letters or digits to match on")
    return ListedParty(name, aliases, list_name, values["source"], listed_on, line)


@dataclass(frozen=True)
class NameTarget:
    """One listed name (or alias) ready to be compared, with the listing it belongs to."""

    party_id: str
    party: str
    list_name: str
    source: str
    listed_on: str
    label: str
    is_primary: bool
    name: NormalizedName
    strength: str = "strong"
    countries: tuple[str, ...] = ()
    list_version: str = ""
    loaded_at: str = ""
    kind: str = ""
    """individual, entity, vessel, aircraft; '' when the list does not say."""


@dataclass(frozen=True)
class Candidate:
    """A name to screen (given, or a span of a text): as written, and normalised."""

    text: str
    name: NormalizedName


def _has_accents(text: str) -> bool:
    return any(unicodedata.category(ch) == "Mn" for ch in unicodedata.normalize("NFD", text))


def _is_latin(text: str) -> bool:
    return all(not ch.isalpha() or ord(ch) < 0x250 for ch in text)


def _shown_form(form: str) -> str:
    """A legal form as written, without a sentence's full stop ("GmbH." -> "GmbH", "S.A." stays)."""
    bare = form.rstrip(".")
    return form if "." in bare else bare


def explain_match(candidate: NormalizedName, target: str, label: str, listed: NormalizedName, score: float) -> str:
    """One line: what matched what, which differences were ignored, and the score."""
    notes = []
    if _is_latin(candidate.original) != _is_latin(label):
        notes.append("after transliteration")
    elif _has_accents(candidate.original) != _has_accents(label):
        notes.append("ignoring accents")
    if candidate.tokens != listed.tokens and candidate.key == listed.key:
        notes.append("in another word order")
    missing, extra = unmatched_tokens(listed, candidate), unmatched_tokens(candidate, listed)
    if missing:
        notes.append("without " + ", ".join(f"'{t}'" for t in missing))
    if extra:
        notes.append("with extra " + ", ".join(f"'{t}'" for t in extra))
    if not (missing or extra) and candidate.key != listed.key and candidate.compact != listed.compact:
        notes.append("with spelling differences")
    forms = list(dict.fromkeys(_shown_form(f) for f in candidate.removed_forms + listed.removed_forms))
    if forms:
        quoted = ", ".join(f"'{form}'" for form in forms)
        notes.append(f"after removing legal form{'s' if len(forms) > 1 else ''} {quoted}")
    detail = (" " + ", ".join(notes)) if notes else ""
    return f"'{candidate.text}' matches {target}{detail}; score {round(score)}"


Rank = tuple[float, int, int, bool, bool, bool]
"""Orders competing matches of one party: score first, then how complete and literal the match is."""


def best_per_party(hits: Iterable[tuple[Rank, PartyHit]]) -> list[PartyHit]:
    """One hit per party, the best ranked, best score first."""
    best: dict[str, tuple[Rank, PartyHit]] = {}
    for rank, hit in hits:
        if hit.party_id not in best or rank > best[hit.party_id][0]:
            best[hit.party_id] = (rank, hit)
    return sorted((hit for _, hit in best.values()), key=lambda h: (-h.score, h.party))


class LocalListScreener:
    """Screens against the restricted-party CSV list, in memory (the default back-end)."""

    def __init__(self, csv_path: Path | str, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        """Load and index the list; raises ConfigError if it is missing or invalid."""
        self._path = Path(csv_path)
        self._threshold = check_threshold(threshold)
        self._parties = load_restricted_parties(self._path)
        self._names: list[NameTarget] = []
        self._anchors: dict[str, set[int]] = {}
        self._variants: dict[str, set[int]] = {}  # transliteration keys (`index_keys`) of the anchor words
        self._unspaced: list[int] = []
        for party in self._parties:
            for label in (party.name, *party.aliases):
                primary = label == party.name
                self._add_name(
                    NameTarget(
                        party_id=f"{self._path.name}:{party.line}",
                        party=party.name,
                        list_name=party.list_name,
                        source=party.source,
                        listed_on=party.listed_on,
                        label=label,
                        is_primary=primary,
                        name=normalize_name(label),
                        strength="primary" if primary else "strong",
                        list_version=self._path.name,
                    )
                )
        self._vocabulary = sorted(self._anchors)
        logger.debug("restricted-party list loaded", extra={"event": "screening_list_loaded", "path": str(self._path)})

    def _add_name(self, listed: NameTarget) -> None:
        index = len(self._names)
        self._names.append(listed)
        tokens = listed.name.tokens
        # Distinctive words lead to the name; a name made only of generic words is reached by all of them.
        anchors = [t for t in tokens if is_distinctive(t)] or list(tokens)
        for token in anchors:
            self._anchors.setdefault(token, set()).add(index)
            for key in index_keys(token):
                self._variants.setdefault(key, set()).add(index)
        if is_unspaced(listed.name.compact):
            self._unspaced.append(index)

    @property
    def threshold(self) -> float:
        """Lowest score that counts as a hit."""
        return self._threshold

    @property
    def parties(self) -> tuple[ListedParty, ...]:
        """The parties of the list, in file order."""
        return tuple(self._parties)

    def describe(self) -> str:
        """Name the list, its size and the threshold."""
        return (
            f"local restricted-party list {self._path} ({len(self._parties)} parties, "
            f"{len(self._names)} names and aliases; threshold {self._threshold:g})"
        )

    def screen_names(self, names: Sequence[str], *, countries: Sequence[str] = ()) -> list[PartyHit]:
        """Screen each name against every listed name and alias."""
        if isinstance(names, str):
            raise TypeError("screen_names takes a sequence of names, not one string")
        lookups: dict[str, frozenset[int]] = {}
        found = []
        for raw in names:
            tokens = tokenize(raw).tokens
            candidate = Candidate(raw.strip(), name_from_tokens(raw.strip(), tokens))
            targets: set[int] = set()
            for token in tokens:
                targets |= self._lookup(token, lookups)
            found.extend(score_targets(candidate, (self._names[i] for i in targets), self._threshold, countries))
            found.extend(self._contained(candidate.text, candidate.name.compact, countries))
        return best_per_party(found)

    def screen_text(self, text: str, *, countries: Sequence[str] = ()) -> list[PartyHit]:
        """Screen free text: compare the spans around words of listed names, whatever their case."""
        tokenized = tokenize(text)
        lookups: dict[str, frozenset[int]] = {}
        anchored = [self._lookup(token, lookups) for token in tokenized.tokens]
        found = []
        for span in candidate_spans(tokenized, require_capitals=False, focus=lambda k: bool(anchored[k])):
            targets = frozenset().union(*anchored[span.first_token : span.last_token + 1])
            candidate = Candidate(span.text, span.name)
            found.extend(score_targets(candidate, (self._names[i] for i in targets), self._threshold, countries))
        for token in tokenized.tokens:
            if is_unspaced(token.folded):
                found.extend(self._contained(token.raw, token.folded, countries))
        return best_per_party(found)

    def lists_in_force(self) -> list[dict[str, Any]]:
        """The list this screener reads: the CSV file, read at start."""
        return [{"list": self._path.name, "version": self._path.name, "loaded_at": "", "source": "file"}]

    def _lookup(self, token: Token, cache: dict[str, frozenset[int]]) -> frozenset[int]:
        """Listed names holding this word, exactly, as a close spelling, or as another transliteration of it
        ("Sahreek" for "Sahriq"): the same lookup keys as the stored lists' index."""
        word = token.folded
        as_name = token.raw[:1].isupper()
        cache_key = word + "\x00name" if as_name else word
        if cache_key not in cache:
            targets = set(self._anchors.get(word, ()))
            if as_name:
                # Transliteration keys are loose ("black boxes" shares consonants with "BQS Blauquell"), so
                # only a word written as a name reaches the names it may be another spelling of.
                for key in index_keys(word):
                    targets |= self._variants.get(key, set())
            if len(word) >= _FUZZY_ANCHOR_MIN_CHARS:
                for key, _, _ in process.extract(
                    word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=TOKEN_MATCH, limit=None
                ):
                    targets |= self._anchors[key]
            cache[cache_key] = frozenset(targets)
        return cache[cache_key]

    def _contained(self, raw: str, folded: str, countries: Sequence[str]) -> list[tuple[Rank, PartyHit]]:
        """Names in scripts without spaces (Chinese, ...) match when they occur inside a word."""
        found = []
        for index in self._unspaced:
            listed = self._names[index]
            if len(listed.name.compact) >= 2 and listed.name.compact in folded:
                candidate = Candidate(raw, NormalizedName(raw, (listed.name.compact,)))
                found.extend(score_targets(candidate, [listed], self._threshold, countries, exact=True))
        return found


COUNTRY_SUPPORT = 3.0
"""Points a match gains when the listing names one of the deal's countries."""
COUNTRY_CONTRADICTION = 5.0
"""Points a match loses when the listing names countries and none of them is the deal's."""


def _country_note(target: NameTarget, countries: Sequence[str]) -> tuple[float, str]:
    """The country signal: (score change, words for the explanation)."""
    if not countries or not target.countries:
        return 0.0, ""
    shared = [c for c in countries if c in target.countries]
    if shared:
        return (
            COUNTRY_SUPPORT,
            f"the deal's country {', '.join(shared)} is a country of the listing (+{COUNTRY_SUPPORT:g})",
        )
    return -COUNTRY_CONTRADICTION, (
        f"the listing names {', '.join(target.countries)}, the deal {', '.join(countries)} (-{COUNTRY_CONTRADICTION:g})"
    )


def score_targets(
    candidate: Candidate,
    targets: Iterable[NameTarget],
    threshold: float,
    countries: Sequence[str] = (),
    *,
    exact: bool = False,
) -> list[tuple[Rank, PartyHit]]:
    """Compare one candidate with listed names; the hits at or above the threshold, each with its rank.

    A weak alias counts only when one of the deal's countries is a country of its listing.
    """
    found = []
    for listed in targets:
        if listed.strength == "weak" and not (countries and set(countries) & set(listed.countries)):
            continue
        name_score = 100.0 if exact else similarity(candidate.name, listed.name, person=listed.kind == "individual")
        if name_score < threshold - COUNTRY_SUPPORT:
            continue
        change, note = _country_note(listed, countries)
        score = max(0.0, min(100.0, name_score + change))
        if score < threshold:
            continue
        # Ties go to the fuller span, then to the listed name itself in the same word order.
        literal = (
            candidate.name.tokens == listed.name.tokens,
            _is_latin(candidate.text) == _is_latin(listed.label),
            listed.is_primary,
        )
        rank = (score, len(candidate.name.tokens), len(candidate.name.removed_forms), *literal)
        found.append((rank, _hit(candidate, listed, score, name_score, note)))
    return found


def _hit(candidate: Candidate, listed: NameTarget, score: float, name_score: float, country_note: str) -> PartyHit:
    if listed.is_primary:
        target = listed.party
    else:
        kind = "weak alias" if listed.strength == "weak" else "alias"
        target = f"{kind} '{listed.label}' of {listed.party}"
    target += f" ({listed.list_name})"
    explanation = explain_match(candidate.name, target, listed.label, listed.name, name_score)
    if country_note:
        explanation = f"{explanation.rsplit('; score ', 1)[0]}; {country_note}; score {round(score)}"
    return PartyHit(
        party=listed.party,
        matched_alias=listed.label,
        list_name=listed.list_name,
        source=listed.source,
        listed_on=listed.listed_on,
        score=round(score),
        explanation=explanation,
        candidate=candidate.text,
        party_id=listed.party_id,
        list_version=listed.list_version,
        loaded_at=listed.loaded_at,
        alias_strength=listed.strength,
        listed_countries=listed.countries,
    )


def create_screener(
    csv_path: Path | str,
    yente_url: str = "",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    yente_dataset: str = "default",
    timeout_s: float = 10.0,
) -> PartyScreener:
    """The configured back-end: yente when a URL is set (ASSISTANT_YENTE_URL), else the local list."""
    if yente_url.strip():
        from .yente import YenteScreener

        return YenteScreener(yente_url.strip(), yente_dataset, timeout_s=timeout_s, threshold=threshold)
    return LocalListScreener(csv_path, threshold=threshold)
