"""Signal extraction: what a deal text says about product, end user, country and red flags.

Rules come first: the policy's regex cues, with benign phrases masked out ("drone racing league")
and a clause-level negation scope ("not for police use", "no analytics"). Embedding similarity to the
policy's category examples is a second opinion that can only raise the product tier, and only with a
margin, for indirect wording the cues miss ("footfall heatmaps"); it also names an end-user type when
no cue did. Everything here is deterministic for a given policy, model and text.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pycountry

from ..knowledge.textproc import strip_diacritics
from .gazetteer import Gazetteer, common_words_of
from .policy import COUNTRY_LEVELS, Category, Cue, Flag, RiskPolicy

_WORD = re.compile(r"[\w'’-]+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])\s+|\n+|\s[-–—]\s")
_DASH_ANSWER = re.compile(r"(?:no|none|nothing|negative|nil|all clear|clear|clean)\b", re.IGNORECASE)
_BORDER_AFTER = re.compile(
    r"\s+(?:border|frontier)\b(?!\s+(?:guards?|police|services?|agency|force|forces|control|patrol|security|"
    r"authority|officers?|troops))",
    re.IGNORECASE,
)
_LIST_JOIN = re.compile(r"\b(?:or|and|nor)\b|&|/", re.IGNORECASE)
_BORDER_BEFORE = re.compile(
    r"\b(?:(?:border|frontier) (?:with|of)|borders|bordering|next to|neighbou?ring)\s+(?:the\s+)?$", re.IGNORECASE
)
# A country word that says who owns or is tied to a party, or whose sanctions are meant, is a question for
# screening, not where the goods go: "no Russian owners", "Belarusian-owned", "the sanctions on Belarus".
_TIES_AFTER = re.compile(
    r"(?:-|\s+)(?:owners?|ownership|owned|shareholders?|shareholding|participation|connections?|ties|links?|"
    r"nationals|citizens?|investors?|capital|money|backers?|sanctions|embargo|controlled|linked|connected)\b",
    re.IGNORECASE,
)
# ... and so is where goods come from: "imports from Turkey", "made in India".
_TIES_BEFORE = re.compile(
    r"\b(?:(?:sanctions|embargo|restrictions|measures)\s+(?:regime\s+)?(?:on|against|targeting)|"
    r"(?:imports?|imported|importing|sourced|sources|sourcing|made|manufactured|produced)\s+(?:\w+\s+)?(?:from|in))"
    r"\s+(?:the\s+)?$",
    re.IGNORECASE,
)
# A country word that describes a person's name, accent or language, names a sanctions list or a currency, is
# no destination: "the owner's name sounds Russian", "a Russian-sounding surname", "EU, UK and OFAC lists", "US$".
_NOT_A_PLACE_AFTER = re.compile(
    r"(?:\s?\$|\s+dollars?\b|[- ](?:sounding|looking|speaking|speakers?)\b|\s+(?:names?|surnames?|first names?|"
    r"family names?|accents?|"
    r"speakers?|speaking|language|passport holders?)\b"
    r"|(?:\s*(?:,|and|or|&)\s*[\w.]+){0,3}\s+(?:consolidated\s+|sanctions?\s+)?lists?\b)",
    re.IGNORECASE,
)
_NOT_A_PLACE_BEFORE = re.compile(
    r"\b(?:names?|surnames?|accents?)\s+(?:that\s+)?(?:sounds?|sounded|looks?|looked|seems?|seemed|is|are|was)\s+"
    r"(?:a\s+)?(?:little\s+)?(?:bit\s+|quite\s+|very\s+|rather\s+|kind\s+of\s+|somewhat\s+)?$",
    re.IGNORECASE,
)
# A name in quotes, of two words or more, that starts with a capital: a business or product name ("'Havana
# Nights' restaurant group", "'Persepolis Rugs Inc.'"); a place inside it is part of the name.
_QUOTED_NAME = re.compile(r"(?<!\w)['‘\"“](?=[A-Z])([^'’\"”\n]{2,60}?)['’\"”](?!\w)")
# An ISO code in brackets after a name, or alone in a column of an export: "VisoRete Srl (IT)", "| PL |".
_BRACKETED_CODE = re.compile(r"(?:\((?P<code>[A-Z]{2})\)|(?<=\|)\s*(?P<col>[A-Z]{2})\s*(?=\|))")
_WORD_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")


def _blank(cues: Sequence[Cue], text: str) -> str:
    """`text` with every match of `cues` replaced by spaces; all cues are matched on the original text."""
    spans = [m.span() for cue in cues for m in cue.pattern.finditer(text)]
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


class TextEmbedder(Protocol):
    """What the extractor needs from an embedding model (assistant.knowledge.embeddings.Embedder)."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True)
class CategoryHit:
    """The product tier or end-user type found, with the words (or example) that show it."""

    code: str
    label: str
    evidence: tuple[str, ...]
    source: str
    """'pattern', 'similarity' or 'llm'."""
    similarity: float | None = None
    words: tuple[str, ...] = ()
    """The words of the deal behind the hit (the evidence itself for a pattern hit)."""

    @property
    def quotes(self) -> tuple[str, ...]:
        return self.words or self.evidence


@dataclass(frozen=True)
class FlagHit:
    id: str
    label: str
    evidence: tuple[str, ...]
    cite: str = ""
    material: bool = False
    source: str = "pattern"
    """'pattern', 'similarity' (a clause close to one of the flag's examples) or 'llm'."""
    words: tuple[str, ...] = ()
    """The words of the deal behind the hit (the evidence itself for a pattern hit)."""

    @property
    def quotes(self) -> tuple[str, ...]:
        return self.words or self.evidence

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "evidence": list(self.evidence), "source": self.source}


@dataclass(frozen=True)
class SituationHit:
    """Words describing the country's situation ("in active armed conflict") and the level they set."""

    level: str
    label: str
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "label": self.label, "evidence": self.evidence}


@dataclass(frozen=True)
class CountryHit:
    iso2: str
    name: str
    level: str | None
    """The table's level, or None when the country is missing from the table (RAS 4.5)."""
    evidence: str
    stated: bool = False
    """True when the country came from a structured country field."""
    negated: bool = False
    """True when the text names the country only to deny it ("no business in Iran")."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "iso2": self.iso2,
            "name": self.name,
            "level": self.level,
            "in_table": self.level is not None,
            "evidence": self.evidence,
            "negated": self.negated,
        }


@dataclass
class Signals:
    """Everything the rules look at."""

    product: CategoryHit | None = None
    end_user: CategoryHit | None = None
    undisclosed: str | None = None
    """'refusal' (the partner will not name the end user), 'pending' (not registered yet) or None."""
    undisclosed_evidence: tuple[str, ...] = ()
    countries: list[CountryHit] = field(default_factory=list)
    red_flags: list[FlagHit] = field(default_factory=list)
    uses: list[FlagHit] = field(default_factory=list)
    severity: list[FlagHit] = field(default_factory=list)
    situations: list[SituationHit] = field(default_factory=list)
    government: bool = False
    deal_cue: bool = False


def _starts_inside_a_word(text: str, start: int) -> bool:
    """A cue that begins in the middle of a word is another word ("usine" in "business", "chain" in
    "blockchain"). Scripts written without spaces (Chinese, Japanese) have no such boundary."""
    if start == 0:
        return False
    before, first = text[start - 1], text[start]
    return before.isalnum() and first.isalnum() and ord(before) < 0x2E80 and ord(first) < 0x2E80


class SignalExtractor:
    """Extracts Signals from text under one policy; embeds the category examples once."""

    def __init__(self, policy: RiskPolicy, embedder: TextEmbedder) -> None:
        self.policy = policy
        self.embedder = embedder
        self._negation_word = re.compile(
            r"(?:^|(?<=[\s(\"'“]))(?:" + "|".join(re.escape(w) for w in policy.negation.words) + r")\b|n[’']t\b",
            re.IGNORECASE,
        )
        self._country_pattern, self._country_names = self._build_country_index()
        self._embargoed = frozenset(c.iso2 for c in policy.countries.values() if c.level == COUNTRY_LEVELS[-1])
        self.gazetteer = Gazetteer(policy.gazetteer, common_words_of(embedder), noted=self._embargoed)
        words = "|".join(re.escape(w) for w in policy.negation.words if w.isalpha())
        self._negated_stretch = re.compile(
            # a quote may open the stretch ("'not for police use'"), an apostrophe inside a word may not
            r"(?:(?<!\w)(?<!\w['’])(?:" + words + r")\b|\w+n[’']t\b)[^,;:.!?()\n]*",
            re.IGNORECASE,
        )
        self._flag_examples, self._flag_ids, self._flag_texts = self._embed_flag_examples(policy.red_flags)
        flags = {f.id: f for f in policy.red_flags}
        # the similarity each example column needs: its flag's own (`meaning:`), else the policy's
        self._flag_thresholds = np.asarray(
            [
                m.threshold if (m := flags[i].meaning) is not None else policy.flag_similarity_threshold
                for i in self._flag_ids
            ],
            dtype=np.float32,
        )
        # The ask path reads a text's words, then decides what to embed, then compares clauses by meaning: the
        # two masks are computed once per text, not at each step.
        self._masked = functools.lru_cache(maxsize=64)(self._mask_for_reading)
        self._product_examples, self._product_codes = self._embed_examples(policy.products)
        self._user_examples, self._user_codes = self._embed_examples(policy.end_users)
        self._example_texts = {
            "product": [e for c in policy.products for e in c.examples],
            "end_user": [e for c in policy.end_users for e in c.examples],
        }

    # --- set-up ---------------------------------------------------------------------------------------

    def _embed_examples(self, categories: Sequence[Category]) -> tuple[np.ndarray, list[str]]:
        texts = [e for c in categories for e in c.examples]
        codes = [c.code for c in categories for _ in c.examples]
        if not texts:
            return np.zeros((0, 1), dtype=np.float32), []
        return np.asarray(self.embedder.embed_documents(texts), dtype=np.float32), codes

    def _embed_flag_examples(self, flags: Sequence[Flag]) -> tuple[np.ndarray, list[str], list[str]]:
        texts = [e for f in flags for e in f.examples]
        ids = [f.id for f in flags for _ in f.examples]
        if not texts:
            return np.zeros((0, 1), dtype=np.float32), [], []
        return np.asarray(self.embedder.embed_documents(texts), dtype=np.float32), ids, texts

    def _build_country_index(self) -> tuple[re.Pattern[str], dict[str, str]]:
        names: dict[str, str] = {}
        for country in pycountry.countries:
            for attr in ("name", "common_name"):
                value = getattr(country, attr, None)
                if value and "," not in value:
                    names[value] = country.alpha_2
        for iso2, row in self.policy.countries.items():
            names[row.name] = iso2
        names.update(self.policy.country_aliases)
        # Names of four letters or more also match in lower case ("tehran", "iranian"); short aliases
        # ("US", "UK", "KL") and names that are ordinary words ("Turkey", "Chad") only as written.
        sensitive = {
            n for n in names if len(n) < 4 or n.lower() in self.policy.country_case_sensitive or not n[:1].isupper()
        }
        for name in list(names):
            names.setdefault(strip_diacritics(name), names[name])  # the text is folded before matching
        for name in [n for n in names if n not in sensitive]:
            names.setdefault(strip_diacritics(name).lower(), names[name])
        alternatives = sorted(names, key=len, reverse=True)
        pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in alternatives) + r")(?![\w])")
        return pattern, names

    # --- helpers --------------------------------------------------------------------------------------

    def mask_benign(self, text: str) -> str:
        """The text with benign phrases blanked out (same length, so offsets stay valid).

        Every phrase is looked for in the original text and the union is blanked afterwards, so one
        phrase never hides the words another needs ("unlock their own laptop" inside "biometric login is
        only for each lawyer to unlock their own laptop")."""
        return _blank(self.policy.benign_phrases, text)

    def mask_answered_no(self, text: str) -> str:
        """The text with a questionnaire's risk questions that are answered no blanked out (same length)."""
        return _blank(self.policy.answered_no, text)

    def _mask_for_reading(self, text: str) -> tuple[str, str]:
        """(the text with risk questions answered no blanked, the same with benign phrases blanked too)."""
        answered = self.mask_answered_no(text)
        return answered, self.mask_benign(answered)

    def is_negated(self, text: str, start: int) -> bool:
        """True when a negation word precedes `start` in the same clause, within the policy's window.

        A negation also carries along a list ("no student monitoring, proctoring or camera software"):
        across commas, through short items, when the clause it reaches joins items with "or"/"and"/"nor".
        """
        breaks = [(b.start(), b.end()) for b in self.policy.negation.clause_breaks.finditer(text, 0, start)]
        clause_start = breaks[-1][1] if breaks else 0
        before = text[clause_start:start]
        words = _WORD.findall(before)[-self.policy.negation.window :]
        if self._negation_word.search(" ".join(words)):
            return True
        clause_end = next((b.start() for b in self.policy.negation.clause_breaks.finditer(text, start)), len(text))
        if not _LIST_JOIN.search(text[clause_start:clause_end]):
            return False
        index = len(breaks) - 1
        for _ in range(4):  # at most four list items back
            if index < 0 or text[breaks[index][0] : breaks[index][1]] != ",":
                return False
            item_start = breaks[index - 1][1] if index > 0 else 0
            item = text[item_start : breaks[index][0]]
            if len(_WORD.findall(item)) > 4:
                return False
            if self._negation_word.search(item):
                return True
            index -= 1
        return False

    @staticmethod
    def _sentence_around(text: str, start: int, end: int) -> str:
        left = max((m.end() for m in _SENTENCE_BREAK.finditer(text, 0, start)), default=0)
        breaks = list(_SENTENCE_BREAK.finditer(text, end))
        right = breaks[0].start() if breaks else len(text)
        # "checked against SDN, EU and UK lists - no, all clear": an answer after a dash belongs to the question.
        if breaks and breaks[0].group().strip() in "-–—" and _DASH_ANSWER.match(text, breaks[0].end()):
            right = breaks[1].start() if len(breaks) > 1 else len(text)
        return text[left:right]

    def _find(self, cues: Sequence[Cue], text: str, *, negatable: bool, unless: Sequence[Cue] = ()) -> list[str]:
        """The first match of each cue; a match is skipped when negated (if `negatable`) or when an
        `unless` cue occurs in the same sentence ("screening came back clean")."""
        found: list[str] = []
        # "face-recognition terminals" is "face recognition terminals": a hyphen between words reads as a
        # space too (same length, so positions for negation and sentences hold in both readings).
        spaced = _WORD_HYPHEN.sub(" ", text)
        readings = (text, spaced) if spaced != text else (text,)
        for cue in cues:
            matches = (m for reading in readings for m in cue.pattern.finditer(reading))
            for match in matches:
                words = text[match.start() : match.end()].strip()  # as written, hyphens included
                if not words or _starts_inside_a_word(text, match.start()):
                    continue
                if negatable and self.is_negated(text, match.start()):
                    continue
                if unless:
                    sentence = self._sentence_around(text, match.start(), match.end())
                    if any(u.pattern.search(sentence) for u in unless):
                        continue
                found.append(words)
                break
        return found

    def _flags(self, flags: Sequence[Flag], text: str) -> list[FlagHit]:
        hits = []
        explained: bool | None = None  # looked up once, only when a flag needs it
        for flag in flags:
            evidence = self._find(flag.cues, text, negatable=flag.negatable, unless=flag.unless)
            if not evidence:
                continue
            material = flag.material
            if flag.material_unless_explained:
                if explained is None:
                    explained = bool(self._find(self.policy.explanation_cues, text, negatable=True))
                material = not explained
            hits.append(FlagHit(flag.id, flag.label, tuple(evidence), flag.cite, material))
        return hits

    def situations_in(self, text: str) -> list[SituationHit]:
        """Descriptions of a country's situation ("a country in civil war", "under a UN embargo")."""
        hits: list[SituationHit] = []
        for situation in self.policy.situations:
            evidence = self._find(situation.cues, text, negatable=True, unless=situation.unless)
            if evidence:
                hits.append(SituationHit(situation.level, situation.label, evidence[0]))
        return hits

    def _similar_flags(self, found: list[FlagHit], clauses: Sequence[str], vectors: np.ndarray) -> list[FlagHit]:
        """Red flags whose examples one clause of the deal is very close to, beyond those the cues found."""
        if not self._flag_ids or not len(clauses):
            return found
        have = {f.id for f in found}
        sims = vectors @ self._flag_examples.T  # clauses x examples
        out = list(found)
        by_id = {f.id: f for f in self.policy.red_flags}
        best = sims.max(axis=0)
        for column in sorted(np.flatnonzero(best >= self._flag_thresholds), key=lambda c: -best[c]):
            flag_id = self._flag_ids[int(column)]
            flag = by_id[flag_id]
            meaning = flag.meaning
            if flag_id in have or (meaning is not None and have.intersection(meaning.unless_flags)):
                continue
            # the closest clause that the flag's own terms allow
            rows = [
                int(r)
                for r in np.argsort(-sims[:, column])
                if sims[r, column] >= self._flag_thresholds[column]
                and (meaning is None or not meaning.needs or any(n.pattern.search(clauses[r]) for n in meaning.needs))
            ]
            if not rows or any(u.pattern.search(clauses[rows[0]]) for u in flag.unless):
                continue
            row = rows[0]
            have.add(flag_id)
            evidence = f"'{clauses[row]}' is similar to: {self._flag_texts[int(column)]}"
            out.append(
                FlagHit(flag.id, flag.label, (evidence,), flag.cite, flag.material, "similarity", (clauses[row],))
            )
        return out

    def _highest(self, categories: Sequence[Category], text: str) -> CategoryHit | None:
        best: CategoryHit | None = None
        state = None
        for category in categories:
            evidence = self._find(category.cues, text, negatable=True)
            if evidence and category.unless and self._find(category.unless, text, negatable=True):
                # "fully private (no state shareholding)": cancelled unless the state is named outright
                if state is None:
                    state = bool(self._find(self.policy.government_cues, text, negatable=True))
                if not state:
                    continue
            if evidence:
                best = CategoryHit(category.code, category.label, tuple(evidence), "pattern")
        return best

    # --- countries -----------------------------------------------------------------------------------

    def parse_country(self, value: str) -> CountryHit | None:
        """A structured country field: an ISO alpha-2/alpha-3 code or a country name or alias."""
        value = value.strip()
        if not value:
            return None
        iso2 = None
        upper = value.upper()
        if len(upper) in (2, 3) and upper.isalpha():
            found = (
                pycountry.countries.get(alpha_2=upper) if len(upper) == 2 else pycountry.countries.get(alpha_3=upper)
            )
            iso2 = found.alpha_2 if found else None
        if iso2 is None:
            lowered = {k.lower(): v for k, v in self._country_names.items()}
            iso2 = lowered.get(value.lower())
        if iso2 is None:
            try:
                iso2 = pycountry.countries.search_fuzzy(value)[0].alpha_2
            except LookupError:
                return None
        return self._country(iso2, value, stated=True)

    def _country(self, iso2: str, evidence: str, *, stated: bool = False) -> CountryHit:
        row = self.policy.countries.get(iso2)
        if row is not None:
            return CountryHit(iso2, row.name, row.level, evidence, stated)
        found = pycountry.countries.get(alpha_2=iso2)
        name = str(getattr(found, "common_name", None) or getattr(found, "name", iso2))
        return CountryHit(iso2, name, None, evidence, stated)

    def countries_in(self, text: str) -> list[CountryHit]:
        """Countries named in `text`: country names and policy aliases first, then the gazetteer's
        cities and regions in the parts of the text no country name or alias covered.

        Names match on diacritic-folded text ("Zurich" finds "Zürich"). A country named only in a negated
        clause ("no business in Iran", "no russia link"), or an embargoed country's place that is probably part
        of a proper name ("Fortaleza del Cerro"), is returned with `negated` set: it is no destination, but
        the engine still notes a sanctioned one.
        """
        hits: dict[str, CountryHit] = {}
        negated: dict[str, CountryHit] = {}
        taken: list[tuple[int, int]] = []
        folded = strip_diacritics(text)
        names = [m.span(1) for m in _QUOTED_NAME.finditer(folded) if len(m.group(1).split()) >= 2]

        def add(iso2: str, evidence: str, start: int, doubtful: bool = False) -> None:
            end = start + len(evidence)
            if _NOT_A_PLACE_AFTER.match(folded, end) or _NOT_A_PLACE_BEFORE.search(folded, max(0, start - 40), start):
                return  # the origin of a name or a language, or a list's issuer: no place at all
            # "on the Russian border", "the border with Belarus": near the country, not in it
            beside = _BORDER_AFTER.match(folded, end) or _BORDER_BEFORE.search(folded, max(0, start - 20), start)
            ties = _TIES_AFTER.match(folded, end) or _TIES_BEFORE.search(folded, max(0, start - 40), start)
            doubtful = doubtful or any(a <= start and end <= b for a, b in names)  # part of a quoted name
            if self.is_negated(folded, start) or beside or ties or doubtful:
                negated.setdefault(iso2, dataclasses.replace(self._country(iso2, evidence), negated=True))
            else:
                hits.setdefault(iso2, self._country(iso2, evidence))

        letters = [c for c in text if c.isalpha()]
        shouting = bool(letters) and sum(c.isupper() for c in letters) > 0.6 * len(letters)
        for match in self._country_pattern.finditer(folded):
            if shouting and len(match.group(0)) <= 3:
                continue  # in a text written in capitals, "US", "BY" and "IN" are words, not countries
            iso2 = self._country_names[match.group(0)]
            add(iso2, text[match.start() : match.end()], match.start())
            taken.append(match.span())
        for match in _BRACKETED_CODE.finditer(text):
            group = "code" if match.group("code") else "col"
            code, start = match.group(group), match.start(group)
            if pycountry.countries.get(alpha_2=code) is None or any(a <= start < b for a, b in taken):
                continue
            if code not in self.policy.country_code_acronyms:
                add(code, code, start)
            elif code in self._embargoed:
                add(code, code, start, doubtful=True)  # "(IR)": infrared, or Iran; noted either way
            taken.append(match.span(group))
        for name, place, start, doubtful in self.gazetteer.find(text, taken, hits):
            add(place.iso2, name, start, doubtful)
        return list(hits.values()) + [c for iso2, c in negated.items() if iso2 not in hits]

    # --- similarity ----------------------------------------------------------------------------------

    def clauses(self, text: str) -> list[str]:
        """The sentences of `text` with negated stretches removed ("no facial recognition, ...").

        Each clause is compared with the category examples on its own, so one indirect sentence in a
        long deal ("a unit that pretends to be a cell tower") is not drowned by the rest of the text.
        """
        out: list[str] = []
        for sentence in _SENTENCE_BREAK.split(text):
            kept = self._negated_stretch.sub(" ", sentence)
            kept = " ".join(kept.split()).strip(" ,;:-")
            if len(_WORD.findall(kept)) >= 3:
                out.append(kept)
        return out

    def texts_to_embed(self, text: str) -> list[str]:
        """The clauses `extract` compares with the examples when `text` has more than one (else none: the
        text's own vector serves). A caller can embed them in one batch with its other texts."""
        clauses = self.clauses(self._masked(text)[1])
        return clauses if len(clauses) > 1 else []

    def clause_vectors(
        self, text: str, embeddings: Mapping[str, np.ndarray] | None = None, whole: str | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Clauses of `text` and their unit vectors; those not in `embeddings` are embedded in one batch.

        A one-clause text whose `whole` (the unmasked text) is in `embeddings` (the ask path) reuses its
        vector instead.
        """
        known = embeddings or {}
        clauses = self.clauses(text) or [text]
        if len(clauses) == 1 and whole is not None and whole in known:
            return [text], np.asarray(known[whole], dtype=np.float32).reshape(1, -1)
        missing = [c for c in dict.fromkeys(clauses) if c not in known]
        fresh = dict(zip(missing, np.asarray(self.embedder.embed_documents(missing), dtype=np.float32), strict=True))
        return clauses, np.stack([np.asarray(known.get(c, fresh.get(c)), dtype=np.float32) for c in clauses])

    def _similar_product(
        self, found: CategoryHit | None, clauses: Sequence[str], vectors: np.ndarray
    ) -> CategoryHit | None:
        if not self._product_codes:
            return found
        tiers = [c.code for c in self.policy.products]
        sims = vectors @ self._product_examples.T  # clauses x examples
        codes = np.asarray(self._product_codes)
        per_tier = np.stack(
            [sims[:, codes == t].max(axis=1) if (codes == t).any() else np.full(len(clauses), -1.0) for t in tiers],
            axis=1,
        )  # clauses x tiers
        floor = tiers.index(found.code) if found else -1
        best = found
        # A clause of a few words ("Standard public-sector terms.") says too little to show a
        # purpose-built surveillance tool or a banned use, however close its vector happens to be.
        words = np.asarray([len(_WORD.findall(c)) for c in clauses])
        for position in range(floor + 1, len(tiers)):
            baseline = per_tier[:, :position].max(axis=1) if position else np.zeros(len(clauses))
            threshold = self.policy.similarity_tier_thresholds.get(tiers[position], self.policy.similarity_threshold)
            ok = (per_tier[:, position] >= threshold) & (
                per_tier[:, position] - baseline >= self.policy.similarity_margin
            )
            if tiers[position] in self.policy.similarity_long_clause_tiers:
                ok &= words >= self.policy.similarity_long_clause_words
            if not ok.any():
                continue
            row = int(np.argmax(np.where(ok, per_tier[:, position], -1.0)))
            columns = np.flatnonzero(codes == tiers[position])
            index = int(columns[np.argmax(sims[row, columns])])
            example = self._example_texts["product"][index]
            code = tiers[position]
            best = CategoryHit(
                code,
                self.policy.product(code).label,
                (f"'{clauses[row]}' is similar to: {example}",),
                "similarity",
                round(float(per_tier[row, position]), 3),
                (clauses[row],),
            )
        return best

    def _similar_end_user(self, clauses: Sequence[str], vectors: np.ndarray) -> CategoryHit | None:
        if not self._user_codes:
            return None
        all_sims = vectors @ self._user_examples.T
        sims = all_sims.max(axis=0)
        index = int(np.argmax(sims))
        if float(sims[index]) < self.policy.similarity_threshold:
            return None
        row = int(np.argmax(all_sims[:, index]))
        code = self._user_codes[index]
        example = self._example_texts["end_user"][index]
        return CategoryHit(
            code,
            self.policy.end_user(code).label,
            (f"similar to: {example}",),
            "similarity",
            round(float(sims[index]), 3),
            (clauses[row],),
        )

    # --- the whole extraction ------------------------------------------------------------------------

    def extract(
        self, text: str, embeddings: Mapping[str, np.ndarray] | None = None, *, is_deal: bool = False
    ) -> Signals:
        """Signals of one text; `embeddings` (unit vectors by text: the text's own, its clauses') avoid
        embedding them again.

        `is_deal` says the text is known to describe a deal (screening), so the model is consulted even
        when no cue names a product, buyer or place.
        """
        return self.add_similarity(self.read_patterns(text), text, embeddings, is_deal=is_deal)

    def read_patterns(self, text: str) -> Signals:
        """The signals the policy's words and the place names give, without the model (the cheap pass)."""
        policy = self.policy
        # Places are read from the whole text; everything else ignores a risk question answered no.
        whole, (text, masked) = text, self._masked(text)
        signals = Signals()
        signals.product = self._highest(policy.products, masked)
        signals.end_user = self._highest(policy.end_users, masked)
        refusal = self._find(policy.undisclosed_refusal, text, negatable=False)
        pending = self._find(policy.undisclosed_pending, text, negatable=False)
        if refusal:
            signals.undisclosed, signals.undisclosed_evidence = "refusal", tuple(refusal)
        elif pending:
            signals.undisclosed, signals.undisclosed_evidence = "pending", tuple(pending)
        signals.countries = self.countries_in(whole)
        denied = [c for c in signals.countries if c.negated and c.level == "C3"]
        flag = next((f for f in policy.red_flags if f.id == "sanctioned_destination_named"), None)
        # A check the deal records as clean ("screening negative, no Russian owners") resolves the mention
        # (RAS 5.7); the country stays in the signals, marked as not the destination.
        cleared = self._find(policy.cleared_checks, text, negatable=False)
        if denied and flag is not None and not cleared:
            # "no business in Iran": not the destination, but worth a recorded check against re-export
            signals.red_flags.append(
                FlagHit(flag.id, flag.label, tuple(c.evidence for c in denied), flag.cite, flag.material)
            )
        signals.situations = self.situations_in(masked)
        signals.red_flags = [*self._flags(policy.red_flags, text), *signals.red_flags]
        if signals.undisclosed == "refusal" and not any(f.id == "end_user_refusal" for f in signals.red_flags):
            flag = next((f for f in policy.red_flags if f.id == "end_user_refusal"), None)
            if flag is not None:
                signals.red_flags.append(FlagHit(flag.id, flag.label, tuple(refusal), flag.cite, flag.material))
        # Uses and severity read the masked text: "fingerprint unlock of one's own laptop" is no biometric use.
        signals.uses = self._flags(policy.uses, masked)
        signals.severity = self._flags(policy.severity_cues, masked)
        government_words = self._find(policy.government_cues, masked, negatable=True)
        state_user = signals.end_user is not None and signals.end_user.code != policy.end_users[0].code
        signals.government = bool(government_words) or state_user
        signals.deal_cue = bool(self._find(policy.deal_cues, text, negatable=False))
        return signals

    def names_a_party_or_place(self, signals: Signals) -> bool:
        """True when the pattern pass found a product, an end user or a country: the model is then consulted."""
        return signals.product is not None or signals.end_user is not None or bool(signals.countries)

    def add_similarity(
        self,
        signals: Signals,
        text: str,
        embeddings: Mapping[str, np.ndarray] | None = None,
        *,
        is_deal: bool = False,
    ) -> Signals:
        """`signals` (from `read_patterns(text)`) with what the model adds: red flags, a product tier and an end
        user close in meaning to the policy's examples. A new Signals; `signals` is left as it was."""
        answered, masked = self._masked(text)
        signals = dataclasses.replace(signals)
        if not answered.strip():
            return signals
        clauses, vectors = self.clause_vectors(masked, embeddings, whole=text)
        signals.red_flags = self._similar_flags(signals.red_flags, clauses, vectors)
        if not is_deal and not self.names_a_party_or_place(signals):
            return signals  # nothing names a product, buyer or place: a general question, not a deal
        signals.product = self._similar_product(signals.product, clauses, vectors)
        if signals.end_user is None:
            signals.end_user = self._similar_end_user(clauses, vectors)
        return signals
