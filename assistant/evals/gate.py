"""The quality gate: thresholds read from one YAML file, each with the reason it is set where it is.

File format (`evals/thresholds.yaml`)::

    thresholds:
      retrieval.hit5:              # a key of EvalReport.metrics()
        min: 0.80                  # and/or max:
        min_over_baseline: 0.0     # optional: at least this much better than the LangChain baseline
        reason: why this bar, and what noise it leaves room for
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

DEFAULT_THRESHOLDS = Path(__file__).resolve().parents[2] / "evals" / "thresholds.yaml"
_KEYS = {"min", "max", "min_over_baseline", "reason"}


@dataclass(frozen=True)
class Threshold:
    """The bar for one metric."""

    metric: str
    reason: str
    min: float | None = None
    max: float | None = None
    min_over_baseline: float | None = None


@dataclass(frozen=True)
class GateCheck:
    """One metric held against its threshold."""

    metric: str
    value: float | None
    ok: bool
    bar: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> list[Threshold]:
    """Parse the thresholds file; ConfigError names the file and the problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read thresholds: {exc}") from exc
    entries = (data or {}).get("thresholds") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{path}: expected a 'thresholds' mapping of metric -> {{min|max, reason}}")
    out: list[Threshold] = []
    for metric, spec in entries.items():
        if not isinstance(spec, dict) or set(spec) - _KEYS:
            raise ConfigError(f"{path}: {metric}: allowed keys are {', '.join(sorted(_KEYS))}")
        if not str(spec.get("reason", "")).strip():
            raise ConfigError(f"{path}: {metric}: every threshold needs a reason")
        bounds = {k: spec.get(k) for k in ("min", "max", "min_over_baseline")}
        if all(v is None for v in bounds.values()):
            raise ConfigError(f"{path}: {metric}: give min, max or min_over_baseline")
        try:
            numbers = {k: None if v is None else float(v) for k, v in bounds.items()}
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: {metric}: bounds must be numbers") from exc
        out.append(Threshold(metric=str(metric), reason=str(spec["reason"]).strip(), **numbers))
    return out


def check(
    thresholds: list[Threshold], metrics: Mapping[str, float | None], baseline: Mapping[str, float | None] | None = None
) -> list[GateCheck]:
    """Hold each metric against its bar; a metric the report does not have fails (a typo must not pass)."""
    results: list[GateCheck] = []
    for t in thresholds:
        value = metrics.get(t.metric)
        bars: list[str] = []
        ok = value is not None
        if t.min is not None:
            bars.append(f">= {t.min:g}")
            ok = ok and value is not None and value >= t.min
        if t.max is not None:
            bars.append(f"<= {t.max:g}")
            ok = ok and value is not None and value <= t.max
        if t.min_over_baseline is not None:
            base = (baseline or {}).get(t.metric)
            bars.append(f">= baseline + {t.min_over_baseline:g}")
            ok = ok and value is not None and base is not None and value >= base + t.min_over_baseline
        results.append(GateCheck(metric=t.metric, value=value, ok=bool(ok), bar=", ".join(bars), reason=t.reason))
    return results
