"""The risk policy as data: policy.yaml (categories, flags, ordered rules) and countries.csv.

    policy = load_risk_policy(settings.corpus / "risk")

Modules: `model` (the validated records the engine reads), `schema` (policy.yaml's schema as pydantic
models), `lines` (YAML that remembers lines), `countries` (the country table). Both files are validated
completely at load time; any problem raises ConfigError of the form "<file>, line <n>: <problem>", so
compliance can fix the file they edited without reading code. Nothing here evaluates expressions: rule
conditions use a small fixed vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.errors import ConfigError

from .countries import load_countries
from .lines import LineMap, YamlProblem, line_at, load_yaml
from .model import (
    COUNTRY_LEVELS,
    END_USER_TYPES,
    PRODUCT_TIERS,
    Category,
    Country,
    Cue,
    Flag,
    GazetteerSettings,
    Negation,
    RiskPolicy,
    Rule,
    Situation,
    UnknownFact,
    level_rank,
)
from .schema import Conditions, PolicyFile

__all__ = [
    "COUNTRY_LEVELS",
    "END_USER_TYPES",
    "PRODUCT_TIERS",
    "Category",
    "Country",
    "Cue",
    "Flag",
    "GazetteerSettings",
    "Negation",
    "RiskPolicy",
    "Rule",
    "Situation",
    "UnknownFact",
    "level_rank",
    "load_countries",
    "load_risk_policy",
]


def _in_file(path: tuple[str | int, ...], raw: Any) -> tuple[str | int, ...]:
    """The part of an error's location that exists in the file (pydantic adds union members such as 'bool')."""
    kept: list[str | int] = []
    node = raw
    for step in path:
        in_map = isinstance(node, dict) and isinstance(step, str) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not (in_map or in_list):
            break
        node = node[step]
        kept.append(step)
    return tuple(kept)


def _where(path: tuple[str | int, ...], raw: Any) -> str:
    """A readable place: `rules 12 ('R3') > when > product_in`."""
    parts: list[str] = []
    node = raw
    for step in path:
        node = node[step]
        if isinstance(step, int):
            name = node.get("id") if isinstance(node, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else 'item'} {step + 1}{f' ({name!r})' if name else ''}"]
        else:
            parts.append(step)
    return " > ".join(parts) or "the policy"


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    if error["type"] != "value_error" and isinstance(got, (str, int, float)) and len(str(got)) <= 60:
        message += f" (got {str(got)!r})"
    return message


def _problem(errors: list[Any], raw: Any) -> YamlProblem:
    """The first problem in the words of someone editing the file, at its line.

    A key the schema does not know comes first (a typo explains the "missing" error it causes); the
    alternatives of one value (true, false or unless_explained) are reported together.
    """
    errors = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        parent, key = _in_file(loc[:-1], raw), loc[-1]
        line = line_at(raw, (*parent, key))
        if parent and parent[-1] == "when":
            allowed = ", ".join(Conditions.model_fields)
            return YamlProblem(line, f"unknown condition '{key}' in {_where(parent[:-1], raw)} (allowed: {allowed})")
        return YamlProblem(line, f"unknown key '{key}' in {_where(parent, raw)}")
    if first["type"] == "missing":
        parent = _in_file(loc[:-1], raw)
        return YamlProblem(line_at(raw, parent), f"{_where(parent, raw)} is missing '{loc[-1]}'")
    place = _in_file(loc, raw)
    messages = list(dict.fromkeys(_message(e) for e in errors if _in_file(tuple(e["loc"]), raw) == place))
    return YamlProblem(line_at(raw, place), f"{_where(place, raw)}: {'; or '.join(messages)}")


def _parse_policy(text: str) -> dict[str, Any]:
    raw = load_yaml(text)
    if not isinstance(raw, LineMap):
        raise YamlProblem(1, "the policy must be a YAML mapping")
    flag_ids = {
        key: {str(e.get("id")) for e in raw.get(section) or () if isinstance(e, dict)}
        for key, section in (("red_flag_any", "red_flags"), ("use_any", "uses"))
    }
    try:
        policy = PolicyFile.model_validate(raw, context=flag_ids)
    except ValidationError as exc:
        raise _problem(exc.errors(), raw) from None
    return policy.engine_fields()


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
        fields = _parse_policy(text)
    except YamlProblem as problem:
        raise ConfigError(f"{path}, line {problem.line}: {problem.message}") from None
    except ConfigError as exc:  # duplicate keys found while reading
        raise ConfigError(f"{path}, {exc}") from None
    return RiskPolicy(path=path, countries=countries, **fields)
