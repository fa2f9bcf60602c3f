"""Benchmark figures: one measured value beside its reference, and how they are printed."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Figure:
    """One measured figure next to its reference and the target ratio."""

    name: str
    value: float
    unit: str
    reference_name: str = ""
    reference: float | None = None
    target_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        return None if not self.reference else self.value / self.reference

    @property
    def ok(self) -> bool | None:
        if self.target_ratio is None or self.ratio is None:
            return None
        return self.ratio <= self.target_ratio


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}"


def _num(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def render(figures: list[Figure]) -> str:
    """A Markdown table of the figures."""
    rows = ["| figure | value | reference | ratio | target |", "|---|---|---|---|---|"]
    for f in figures:
        ref = f"{_num(f.reference)} {f.unit} ({f.reference_name})" if f.reference is not None else ""
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
        target = ""
        if f.target_ratio is not None:
            target = f"<= {f.target_ratio}x {'ok' if f.ok else 'MISSED'}"
        rows.append(f"| {f.name} | {_num(f.value)} {f.unit} | {ref} | {ratio} | {target} |")
    return "\n".join(rows)
