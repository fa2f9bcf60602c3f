"""`assistant eval --parties`: restricted-party screening measured through the real loader.

The fixture (evals/parties_fixture.jsonl: fictional listed parties with aliases, weak aliases, names in
their original script and countries) is written out as OFAC's SDN files (sdn.csv, alt.csv, add.csv, as
OFAC publishes them), loaded with the same code as `assistant parties load` into a temporary case
database, and every phrase of evals/party_phrases.jsonl is screened as deal text, with the phrase's
country when it gives one. Figures: recall of the listed parties the phrases name, the share of
innocent phrases (no expected party) with any hit, and every miss and false hit.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..identity import User
from .metrics import load_jsonl

RECALL_TARGET = 0.95
FALSE_HIT_TARGET = 0.03
_OFAC_TYPES = {"Person": "individual", "Vessel": "vessel", "Airplane": "aircraft"}


@dataclass
class PartyScreeningScore:
    """What the measurement found."""

    listed_parties: int
    phrases: int
    expected_total: int = 0
    expected_found: int = 0
    innocent: int = 0
    innocent_hit: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_hits: list[dict[str, Any]] = field(default_factory=list)
    median_ms: float = 0.0

    @property
    def recall(self) -> float:
        """Expected parties found / expected parties."""
        return self.expected_found / self.expected_total if self.expected_total else 1.0

    @property
    def false_hit_rate(self) -> float:
        """Innocent phrases with any hit / innocent phrases."""
        return self.innocent_hit / self.innocent if self.innocent else 0.0

    @property
    def ok(self) -> bool:
        """Both targets met."""
        return self.recall >= RECALL_TARGET and self.false_hit_rate <= FALSE_HIT_TARGET

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "listed_parties": self.listed_parties,
            "phrases": self.phrases,
            "recall": round(self.recall, 4),
            "false_hit_rate": round(self.false_hit_rate, 4),
            "expected_found": self.expected_found,
            "expected_total": self.expected_total,
            "innocent_hit": self.innocent_hit,
            "innocent": self.innocent,
            "median_ms": round(self.median_ms, 2),
            "misses": self.misses,
            "false_hits": self.false_hits,
        }


def _country_name(code: str) -> str:
    import pycountry

    found = pycountry.countries.get(alpha_2=code.upper())
    return str(getattr(found, "common_name", None) or found.name) if found else code


def write_ofac_files(parties: list[dict[str, Any]], folder: Path) -> tuple[list[Path], dict[str, str]]:
    """The fixture as OFAC's legacy SDN files; returns the files and ent_num -> fixture id."""
    sdn, alt, add = folder / "sdn.csv", folder / "alt.csv", folder / "add.csv"
    ids: dict[str, str] = {}
    alt_num = add_num = 0
    with (
        sdn.open("w", encoding="utf-8", newline="") as sdn_file,
        alt.open("w", encoding="utf-8", newline="") as alt_file,
        add.open("w", encoding="utf-8", newline="") as add_file,
    ):
        sdn_csv = csv.writer(sdn_file, lineterminator="\r\n")
        alt_csv = csv.writer(alt_file, lineterminator="\r\n")
        add_csv = csv.writer(add_file, lineterminator="\r\n")
        for number, party in enumerate(parties, 1000):
            ent_num = str(number)
            ids[ent_num] = str(party["id"])
            schema = str(party.get("schema", ""))
            countries = [str(c) for c in party.get("countries") or []]
            remarks = []
            if schema == "Person":
                remarks += [f"nationality {_country_name(c)}" for c in countries[:1]]
            remarks += [f"a.k.a. '{weak}'" for weak in party.get("weak_aliases") or []]
            flag = _country_name(countries[0]) if schema == "Vessel" and countries else "-0- "
            sdn_csv.writerow(
                [
                    ent_num,
                    party["name"],
                    _OFAC_TYPES.get(schema, "-0- "),
                    party.get("program") or "-0- ",
                    *["-0- "] * 5,
                    flag,
                    "-0- ",
                    "; ".join(remarks) + "." if remarks else "-0- ",
                ]
            )
            for alias in [*(party.get("aliases") or []), *(party.get("original_script") or [])]:
                alt_num += 1
                alt_csv.writerow([ent_num, str(alt_num), "aka", alias, "-0- "])
            for code in countries:
                add_num += 1
                add_csv.writerow([ent_num, str(add_num), "-0- ", "-0- ", _country_name(code), "-0- "])
        for handle in (sdn_file, alt_file, add_file):
            handle.write("\x1a\r\n")  # OFAC's end-of-file mark
    return [sdn, alt, add], ids


def run_party_eval(settings: Settings, fixture: Path, phrases_file: Path) -> PartyScreeningScore:
    """Load the fixture as OFAC files into a temporary database and screen every phrase."""
    from ..service import create_service

    parties = load_jsonl(fixture)
    phrases = load_jsonl(phrases_file)
    score = PartyScreeningScore(listed_parties=len(parties), phrases=len(phrases))
    with tempfile.TemporaryDirectory(prefix="assistant-parties-eval-") as tmp:
        folder = Path(tmp)
        files, ids = write_ofac_files(parties, folder)
        local = settings.model_copy(update={"home": folder / "home", "database_url": "", "yente_url": ""})
        service = create_service(local)
        service.load_party_list(files, User(id="eval", role="compliance", org="internal"))
        screener = service.party_screener()
        timings: list[float] = []
        for phrase in phrases:
            countries = [str(phrase["country"]).upper()] if phrase.get("country") else []
            started = time.perf_counter()
            hits = screener.screen_text(str(phrase["text"]), countries=countries)
            timings.append((time.perf_counter() - started) * 1000)
            found = {ids.get(hit.party_id.rsplit(":", 1)[-1], hit.party_id): hit for hit in hits}
            expected = [str(e) for e in phrase.get("expected") or []]
            if expected:
                score.expected_total += len(expected)
                score.expected_found += sum(1 for e in expected if e in found)
                for e in expected:
                    if e not in found:
                        score.misses.append(
                            {"id": phrase["id"], "kind": phrase.get("kind"), "text": phrase["text"], "expected": e}
                        )
            else:
                score.innocent += 1
                if hits:
                    score.innocent_hit += 1
            for party_id, hit in found.items():
                if party_id not in expected:
                    score.false_hits.append(
                        {
                            "id": phrase["id"],
                            "kind": phrase.get("kind"),
                            "text": phrase["text"],
                            "hit": party_id,
                            "explanation": hit.explanation,
                        }
                    )
        timings.sort()
        score.median_ms = timings[len(timings) // 2] if timings else 0.0
        service.cases.dispose()
    return score


def main_party_eval(settings: Settings, fixture: Path, phrases_file: Path, *, as_json: bool) -> int:
    """Print the figures; 0 when both targets are met, 1 otherwise."""
    score = run_party_eval(settings, fixture, phrases_file)
    if as_json:
        print(json.dumps(score.to_dict(), ensure_ascii=False, indent=2))
        return 0 if score.ok else 1
    print(
        f"restricted-party screening: {score.listed_parties} listed parties (as OFAC SDN files), "
        f"{score.phrases} phrases"
    )
    print(
        f"recall of listed parties: {score.recall:.3f} ({score.expected_found}/{score.expected_total}; "
        f"target >= {RECALL_TARGET})"
    )
    print(
        f"false hits on innocent phrases: {score.false_hit_rate:.3f} ({score.innocent_hit}/{score.innocent}; "
        f"target <= {FALSE_HIT_TARGET})"
    )
    print(f"median screening time per phrase: {score.median_ms:.2f} ms")
    for miss in score.misses:
        print(f"  miss  {miss['id']} [{miss['kind']}] {miss['text']!r}: expected {miss['expected']}")
    for hit in score.false_hits:
        print(f"  false {hit['id']} [{hit['kind']}] {hit['text']!r}: hit {hit['hit']} ({hit['explanation']})")
    return 0 if score.ok else 1
