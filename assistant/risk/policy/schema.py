"""The schema of policy.yaml as pydantic models, and its translation into the engine's records (`model`).

Every section, key and value the file may hold is declared here: unknown keys are refused, values are
checked strictly (a level is one of the levels, a pattern compiles, a rule's red flags exist), and each
problem is reported by `load_risk_policy` with the file and line it comes from.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from assistant.enums import LEVELS

from .model import (
    END_USER_TYPES,
    PRODUCT_TIERS,
    Category,
    Cue,
    Flag,
    GazetteerSettings,
    MeaningMatch,
    Negation,
    Rule,
    Situation,
    UnknownFact,
)

Level = Literal["proceed", "enhanced_due_diligence", "escalate", "prohibited"]
Tier = Literal["P0", "P1", "P2", "P3", "P4"]
EndUserType = Literal["E0", "E1", "E2", "E3"]
CountryLevel = Literal["C0", "C1", "C2", "C3"]

TEMPLATE_FIELDS = frozenset(
    {
        "product",
        "product_label",
        "product_tier",
        "end_user",
        "end_user_type",
        "country",
        "countries",
        "country_level",
        "red_flags",
        "uses",
        "parties",
    }
)
"""The placeholders a rule's reason may use."""


def _pattern(value: Any) -> Cue:
    """A regex cue (case-insensitive), keeping the line the file wrote it on."""
    if isinstance(value, dict):
        raise ValueError("reads as a mapping: quote a pattern that contains ': '")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty pattern")
    try:
        compiled = re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid pattern {str(value)!r}: {exc}") from exc
    return Cue(compiled, int(getattr(value, "line", 0)))


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return str(value)


def _iso2(value: Any) -> str:
    import pycountry

    if not isinstance(value, str) or pycountry.countries.get(alpha_2=value) is None:
        raise ValueError(f"'{value}' is not an ISO 3166 alpha-2 country code")
    return str(value)


Pattern = Annotated[Cue, PlainValidator(_pattern)]
Text = Annotated[str, PlainValidator(_text)]
Iso2 = Annotated[str, PlainValidator(_iso2)]
Count = Annotated[int, Field(strict=True, ge=1)]
Population = Annotated[int, Field(strict=True, ge=0)]


class _Section(BaseModel):
    """Strict, closed: a key the schema does not know is a typo, not an extension."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    _line: int = PrivateAttr(0)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_line(cls, data: Any, handler: Any) -> Any:
        section = handler(data)
        section._line = int(getattr(data, "line", 0))
        return section


class _CategoryEntry(_Section):
    label: Text
    patterns: list[Pattern] = []
    examples: list[Text] = []
    unless: list[Pattern] = []

    def category(self, code: str) -> Category:
        return Category(code, self.label, tuple(self.patterns), tuple(self.examples), tuple(self.unless))


class ProductEntry(_CategoryEntry):
    tier: Tier


class EndUserEntry(_CategoryEntry):
    type: EndUserType


class SeverityCue(_Section):
    """A severity cue (RAS 6.3): a flag without a citation of its own."""

    id: Text
    label: Text
    patterns: list[Pattern] = []
    unless: list[Pattern] = []
    negatable: bool = False
    examples: list[Text] | None = None

    def flag(self) -> Flag:
        return self._flag("", False)

    def _flag(self, cite: str, material: bool | str) -> Flag:
        return Flag(
            self.id,
            self.label,
            tuple(self.patterns),
            cite,
            material is True,
            tuple(self.unless),
            self.negatable,
            tuple(self.examples or ()),
            material == "unless_explained",
        )


class UseEntry(SeverityCue):
    """A context fact about the use (EU deployment, mass surveillance...), cited."""

    cite: Text

    def flag(self) -> Flag:
        return self._flag(self.cite, False)


class Meaning(_Section):
    """`meaning:` of a red flag: raised by similarity to its examples on its own terms."""

    threshold: float = Field(ge=0, le=1)
    needs: list[Pattern] = []
    unless_flags: list[Text] = []


class RedFlagEntry(UseEntry):
    """A red flag (RAS 5), material or not, or material unless the deal records an explanation."""

    material: bool | Literal["unless_explained"] = False
    meaning: Meaning | None = None

    def flag(self) -> Flag:
        flag = self._flag(self.cite, self.material)
        if self.meaning is None:
            return flag
        meaning = MeaningMatch(self.meaning.threshold, tuple(self.meaning.needs), tuple(self.meaning.unless_flags))
        return dataclasses.replace(flag, meaning=meaning)


class UnknownEndUser(_Section):
    treat_as: EndUserType
    cite: list[Text] = []
    question: Text | None = None


class UnknownProduct(_Section):
    treat_as: Tier
    cite: list[Text] = []
    question: Text


class UndisclosedEndUser(_Section):
    refusal: list[Pattern] = []
    pending: list[Pattern] = []


class NegationSection(_Section):
    words: list[Text]
    window: int
    clause_breaks: Pattern


class Severity(_Section):
    cite: list[Text] = []
    max_level: Level = "escalate"
    cues: list[SeverityCue]


class Similarity(_Section):
    threshold: float = Field(ge=0, le=1)
    margin: float = Field(ge=0, le=1)
    red_flag_threshold: float = Field(1.01, ge=0)
    long_clause_tiers: list[Tier] = ["P3", "P4"]
    long_clause_words: Population = 5
    tier_thresholds: dict[Tier, Annotated[float, Field(ge=0, le=1)]] = {}


class SituationEntry(_Section):
    level: CountryLevel
    label: Text
    patterns: list[Pattern] = Field(min_length=1)
    unless: list[Pattern] = []


class Countries(_Section):
    eu_members: list[Iso2] = []
    unknown_level: CountryLevel = "C2"
    unknown_question: Text | None = None
    aliases: dict[str, Iso2] = {}
    situations: list[SituationEntry] = []
    case_sensitive: list[Text] = []
    code_acronyms: list[Iso2] = []


class Gazetteer(_Section):
    enabled: bool = True
    min_population: Population = 15000
    common_word_min_population: Population = 500000
    lowercase_min_population: Population = 150000
    place_words: list[Text] = ["in"]
    ignore: list[Text] = []

    def settings(self) -> GazetteerSettings:
        return GazetteerSettings(
            self.enabled,
            self.min_population,
            self.common_word_min_population,
            tuple(w.lower() for w in self.place_words),
            frozenset(self.ignore),
            self.lowercase_min_population,
        )


class Conditions(_Section):
    """A rule's `when:`: every condition must hold. Red flags and uses must be defined in the policy."""

    product_in: list[Tier] | None = Field(None, min_length=1)
    end_user_in: list[EndUserType] | None = Field(None, min_length=1)
    country_in: list[CountryLevel] | None = Field(None, min_length=1)
    red_flag_any: list[str] | None = Field(None, min_length=1)
    use_any: list[str] | None = Field(None, min_length=1)
    material_red_flags_at_least: Count | None = None
    red_flags_at_least: Count | None = None
    restricted_party: bool | None = None
    eu_deployment: bool | None = None
    country_stated: bool | None = None
    undisclosed_end_user: bool | None = None
    government: bool | None = None

    @field_validator("red_flag_any", "use_any")
    @classmethod
    def _defined(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        known = sorted((info.context or {}).get(info.field_name, ()))
        for item in value or ():
            if item not in known:
                raise ValueError(f"unknown value '{item}' (expected one of {', '.join(known)})")
        return value


class RuleEntry(_Section):
    id: Text
    level: Level
    when: Conditions
    reason: Text
    cite: list[Text]
    partner_reason: Text

    @field_validator("reason")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        for name in re.findall(r"{([^{}]*)}", value):
            if name not in TEMPLATE_FIELDS:
                raise ValueError(f"unknown placeholder '{{{name}}}' (known: {', '.join(sorted(TEMPLATE_FIELDS))})")
        return value

    @field_validator("partner_reason")
    @classmethod
    def _no_placeholders(cls, value: str) -> str:
        if "{" in value:
            raise ValueError("a partner reason takes no placeholders")
        return value

    def rule(self) -> Rule:
        when = self.when.model_dump(exclude_none=True)
        return Rule(self.id, self.level, when, self.reason, tuple(self.cite), self._line, self.partner_reason)


def _no_placeholder(value: str) -> str:
    if "{" in value:
        raise ValueError("partner wording takes no placeholders")
    return value


PartnerText = Annotated[Text, PlainValidator(lambda v: _no_placeholder(_text(v)))]


class PartnerWording(_Section):
    """What a partner is told for the engine's own reasons (no internal text, codes or scores)."""

    unknown_product: PartnerText = Field(alias="unknown-product")
    unknown_end_user: PartnerText = Field(alias="unknown-end-user")
    unknown_country: PartnerText = Field(alias="unknown-country")
    severity_overlay: PartnerText = Field(alias="severity-overlay")
    catch_all: PartnerText = Field(alias="catch-all")

    def wording(self) -> dict[str, str]:
        return self.model_dump(by_alias=True)


def _steps_by_level(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of level: [steps]")
    unknown = [k for k in value if k not in LEVELS]
    if unknown:
        raise ValueError(f"unknown level '{unknown[0]}' (expected one of {', '.join(LEVELS)})")
    missing = [level for level in LEVELS if level not in value]
    if missing:
        raise ValueError(f"lacks '{missing[0]}'")
    out: dict[str, tuple[str, ...]] = {}
    for level, steps in value.items():
        if not isinstance(steps, list) or not all(isinstance(s, str) and s.strip() for s in steps):
            raise ValueError(f"'{level}' must be a list of non-empty strings")
        out[str(level)] = tuple(str(s) for s in steps)
    return out


StepsByLevel = Annotated[dict[str, tuple[str, ...]], PlainValidator(_steps_by_level)]


def _each_once(codes: list[str], expected: tuple[str, ...], what: str) -> None:
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise ValueError(f"{what} '{twice[0]}' is defined twice")
    missing = [c for c in expected if c not in codes]
    if missing:
        raise ValueError(f"lacks {', '.join(missing)}")


def _ids_once(ids: list[str], what: str) -> None:
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"{what} '{twice[0]}' is defined twice")


class PolicyFile(_Section):
    """policy.yaml as a whole."""

    version: int | str | None = None
    benign_phrases: list[Pattern] = []
    answered_no: list[Pattern] = []
    negation: NegationSection
    products: list[ProductEntry]
    end_users: list[EndUserEntry]
    unknown_end_user: UnknownEndUser
    unknown_product: UnknownProduct | None = None
    undisclosed_end_user: UndisclosedEndUser
    government_cues: list[Pattern] = []
    red_flags: list[RedFlagEntry]
    uses: list[UseEntry] = []
    severity: Severity
    deal_cues: list[Pattern] = []
    explanation_cues: list[Pattern] | None = None
    cleared_checks: list[Pattern] | None = None
    similarity: Similarity
    countries: Countries
    gazetteer: Gazetteer | None = None
    rules: list[RuleEntry] = Field(min_length=1)
    next_steps: StepsByLevel
    partner_next_steps: StepsByLevel
    partner_wording: PartnerWording

    @field_validator("products")
    @classmethod
    def _every_tier_once(cls, value: list[ProductEntry]) -> list[ProductEntry]:
        _each_once([e.tier for e in value], PRODUCT_TIERS, "tier")
        return value

    @field_validator("end_users")
    @classmethod
    def _every_type_once(cls, value: list[EndUserEntry]) -> list[EndUserEntry]:
        _each_once([e.type for e in value], END_USER_TYPES, "type")
        return value

    @field_validator("red_flags", "uses")
    @classmethod
    def _flag_ids_once(cls, value: list[UseEntry]) -> list[UseEntry]:
        _ids_once([e.id for e in value], "flag")
        return value

    @field_validator("rules")
    @classmethod
    def _rule_ids_once(cls, value: list[RuleEntry]) -> list[RuleEntry]:
        _ids_once([e.id for e in value], "rule id")
        return value

    def engine_fields(self) -> dict[str, Any]:
        """The RiskPolicy fields this file supplies (everything but the path and the country table)."""
        products: dict[str, Category] = {e.tier: e.category(e.tier) for e in self.products}
        end_users: dict[str, Category] = {e.type: e.category(e.type) for e in self.end_users}
        unknown = self.unknown_end_user
        unknowns = {
            "end_user": UnknownFact(
                "end_user",
                unknown.treat_as,
                unknown.question or "Who is the end user, and what does it do?",
                tuple(unknown.cite),
            )
        }
        if self.unknown_product is not None:
            p = self.unknown_product
            unknowns["product"] = UnknownFact("product", p.treat_as, p.question, tuple(p.cite))
        countries = self.countries
        unknowns["country"] = UnknownFact(
            "country",
            countries.unknown_level,
            countries.unknown_question or "Which country is the end user in?",
            ("RAS 4.5",),
        )
        return {
            "products": tuple(products[t] for t in PRODUCT_TIERS),
            "end_users": tuple(end_users[t] for t in END_USER_TYPES),
            "unknown_end_user": unknown.treat_as,
            "unknown_end_user_cite": tuple(unknown.cite),
            "unknowns": unknowns,
            "undisclosed_refusal": tuple(self.undisclosed_end_user.refusal),
            "undisclosed_pending": tuple(self.undisclosed_end_user.pending),
            "government_cues": tuple(self.government_cues),
            "benign_phrases": tuple(self.benign_phrases),
            "answered_no": tuple(self.answered_no),
            "deal_cues": tuple(self.deal_cues),
            "explanation_cues": tuple(self.explanation_cues or ()),
            "cleared_checks": tuple(self.cleared_checks or ()),
            "negation": Negation(tuple(self.negation.words), self.negation.window, self.negation.clause_breaks.pattern),
            "red_flags": tuple(e.flag() for e in self.red_flags),
            "uses": tuple(e.flag() for e in self.uses),
            "severity_cues": tuple(e.flag() for e in self.severity.cues),
            "severity_cite": tuple(self.severity.cite),
            "severity_max_level": self.severity.max_level,
            "similarity_long_clause_tiers": frozenset(self.similarity.long_clause_tiers),
            "similarity_long_clause_words": self.similarity.long_clause_words,
            "similarity_threshold": float(self.similarity.threshold),
            "similarity_tier_thresholds": {k: float(v) for k, v in self.similarity.tier_thresholds.items()},
            "similarity_margin": float(self.similarity.margin),
            "flag_similarity_threshold": float(self.similarity.red_flag_threshold),
            "eu_members": frozenset(countries.eu_members),
            "unknown_country_level": countries.unknown_level,
            "situations": tuple(
                Situation(s.level, s.label, tuple(s.patterns), tuple(s.unless)) for s in countries.situations
            ),
            "country_aliases": {str(k): v for k, v in countries.aliases.items()},
            "country_case_sensitive": frozenset(n.lower() for n in countries.case_sensitive),
            "country_code_acronyms": frozenset(countries.code_acronyms),
            "gazetteer": self.gazetteer.settings() if self.gazetteer else GazetteerSettings(),
            "rules": tuple(e.rule() for e in self.rules),
            "partner_wording": self.partner_wording.wording(),
            "partner_next_steps": self.partner_next_steps,
            "next_steps": self.next_steps,
        }
