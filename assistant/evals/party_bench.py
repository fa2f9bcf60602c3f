"""The party-screening figure of `assistant bench`: deals screened against a synthetic 20,000-name list.

The list is made of invented names (syllables drawn with a fixed seed), written as OFAC's SDN files and
loaded through the real loader into a temporary case database, the size of the full SDN list with its
aliases. Each deal text is then screened against it; the median is compared with the issue's target.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from ..config import Settings
from ..identity import User
from .figures import Figure

PARTY_NAMES = 20_000
TARGET_MS = 20.0
_SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "ta",
    "ne",
    "lu",
    "vo",
    "si",
    "ra",
    "de",
    "zan",
    "pol",
    "mir",
    "gor",
    "vel",
    "tan",
    "bek",
    "ul",
    "an",
    "is",
    "dor",
    "sha",
    "fen",
    "kri",
    "lo",
    "bar",
    "nav",
    "tur",
    "zel",
    "hak",
    "mun",
    "dra",
    "sel",
    "vik",
    "ora",
    "tem",
    "yas",
    "qor",
    "bal",
    "rin",
    "dus",
]
_FORMS = ("LLC", "JSC", "FZE", "GmbH", "Ltd", "OOO", "S.A.")
_WORDS = ("Trading", "Systems", "Logistics", "Holding", "Technologies", "Shipping", "Industrial")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def write_synthetic_ofac(folder: Path, names: int = PARTY_NAMES, seed: int = 14) -> list[Path]:
    """OFAC sdn.csv and alt.csv with about `names` names (entries with one to three aliases)."""
    rng = random.Random(seed)
    sdn, alt = [], []
    written, ent = 0, 10_000
    while written < names:
        ent += 1
        if rng.random() < 0.5:
            name = f"{_word(rng).upper()}, {_word(rng)} {_word(rng)}"
            sdn.append(f'{ent},"{name}","individual","SDGT",' + ",".join(["-0- "] * 8))
        else:
            name = f"{_word(rng)} {rng.choice(_WORDS)} {rng.choice(_FORMS)}"
            sdn.append(f'{ent},"{name}",-0- ,"IRAN",' + ",".join(["-0- "] * 8))
        written += 1
        for number in range(rng.randint(1, 3)):
            alias = f"{_word(rng)} {_word(rng)}"
            alt.append(f'{ent},{ent * 10 + number},"aka","{alias}",-0- ')
            written += 1
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sdn.csv").write_text("\r\n".join(sdn) + "\r\n", encoding="utf-8")
    (folder / "alt.csv").write_text("\r\n".join(alt) + "\r\n", encoding="utf-8")
    return [folder / "sdn.csv", folder / "alt.csv"]


def party_screening_figure(settings: Settings, deals: list[str], deal_p50_ms: float) -> Figure:
    """Median time to screen a deal's text against the synthetic list, beside the target."""
    from ..service import create_service

    with tempfile.TemporaryDirectory(prefix="assistant-bench-parties-") as tmp:
        folder = Path(tmp)
        local = settings.model_copy(update={"home": folder / "home", "database_url": "", "yente_url": ""})
        service = create_service(local)
        info = service.load_party_list(write_synthetic_ofac(folder / "ofac"), User("bench", "compliance", "internal"))
        screener = service.party_screener()
        for deal in deals[:5]:
            screener.screen_text(deal)
        timings = []
        for deal in deals:
            started = time.perf_counter()
            screener.screen_text(deal)
            timings.append((time.perf_counter() - started) * 1000)
        service.cases.dispose()
    return Figure(
        f"party screening of a deal p50 ({info.names:,} listed names, {len(deals)} deals; "
        f"whole deal screening p50 {deal_p50_ms:.0f} ms)",
        statistics.median(timings),
        "ms",
        "the issue's target",
        TARGET_MS,
        1.0,
    )
