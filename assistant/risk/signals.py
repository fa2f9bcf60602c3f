"""Signal extraction: what a deal text says about product, end user, country and red flags.

Rules come first: the policy's regex cues, with benign phrases masked out ("drone racing league")
and a clause-level negation scope ("not for police use", "no analytics"). Embedding similarity to the
policy's category examples is a second opinion that can only raise the product tier, and only with a
margin, for indirect wording the cues miss ("footfall heatmaps"); it also names an end-user type when
no cue did. Everything here is deterministic for a given policy, model and text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pycountry

from .policy import Category, Cue, Flag, RiskPolicy

_WORD = re.compile(r"[\w'’-]+")


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
    """'pattern' or 'similarity'."""
    similarity: float | None = None


@dataclass(frozen=True)
class FlagHit:
    id: str
    label: str
    evidence: tuple[str, ...]
    cite: str = ""
    material: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class CountryHit:
    iso2: str
    name: str
    level: str | None
    """The table's level, or None when the country is missing from the table (RAS 4.5)."""
    evidence: str
    stated: bool = False
    """True when the country came from a structured country field."""

    def to_dict(self) -> dict[str, Any]:
        return {"iso2": self.iso2, "name": self.name, "level": self.level, "in_table": self.level is not None}


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
    government: bool = False
    deal_cue: bool = False


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
        alternatives = sorted(names, key=len, reverse=True)
        pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in alternatives) + r")(?![\w])")
        return pattern, names

    # --- helpers --------------------------------------------------------------------------------------

    def mask_benign(self, text: str) -> str:
        """The text with benign phrases blanked out (same length, so offsets stay valid)."""
        for cue in self.policy.benign_phrases:
            text = cue.pattern.sub(lambda m: " " * len(m.group(0)), text)
        return text

    def is_negated(self, text: str, start: int) -> bool:
        """True when a negation word precedes `start` in the same clause, within the policy's window."""
        clause_start = 0
        for brk in self.policy.negation.clause_breaks.finditer(text, 0, start):
            clause_start = brk.end()
        before = text[clause_start:start]
        words = _WORD.findall(before)[-self.policy.negation.window :]
        window_text = " ".join(words)
        return bool(self._negation_word.search(window_text))

    def _find(self, cues: Sequence[Cue], text: str, *, negatable: bool) -> list[str]:
        found: list[str] = []
        for cue in cues:
            for match in cue.pattern.finditer(text):
                if not match.group(0).strip():
                    continue
                if negatable and self.is_negated(text, match.start()):
                    continue
                found.append(match.group(0).strip())
                break
        return found

    def _flags(self, flags: Sequence[Flag], text: str) -> list[FlagHit]:
        hits = []
        for flag in flags:
            evidence = self._find(flag.cues, text, negatable=False)
            if evidence:
                hits.append(FlagHit(flag.id, flag.label, tuple(evidence), flag.cite, flag.material))
        return hits

    def _highest(self, categories: Sequence[Category], text: str) -> CategoryHit | None:
        best: CategoryHit | None = None
        for category in categories:
            evidence = self._find(category.cues, text, negatable=True)
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
        hits: dict[str, CountryHit] = {}
        for match in self._country_pattern.finditer(text):
            iso2 = self._country_names[match.group(0)]
            hits.setdefault(iso2, self._country(iso2, match.group(0)))
        return list(hits.values())

    # --- similarity ----------------------------------------------------------------------------------

    def _similar_product(self, found: CategoryHit | None, query: np.ndarray) -> CategoryHit | None:
        if not self._product_codes:
            return found
        sims = self._product_examples @ query
        per_tier: dict[str, tuple[float, int]] = {}
        for index, code in enumerate(self._product_codes):
            if code not in per_tier or sims[index] > per_tier[code][0]:
                per_tier[code] = (float(sims[index]), index)
        tiers = [c.code for c in self.policy.products]
        floor = tiers.index(found.code) if found else -1
        best = found
        for position in range(floor + 1, len(tiers)):
            code = tiers[position]
            if code not in per_tier:
                continue
            sim, index = per_tier[code]
            baseline = max((per_tier[t][0] for t in tiers[:position] if t in per_tier), default=0.0)
            if sim >= self.policy.similarity_threshold and sim - baseline >= self.policy.similarity_margin:
                example = self._example_texts["product"][index]
                label = self.policy.product(code).label
                best = CategoryHit(code, label, (f"similar to: {example}",), "similarity", round(sim, 3))
        return best

    def _similar_end_user(self, query: np.ndarray) -> CategoryHit | None:
        if not self._user_codes:
            return None
        sims = self._user_examples @ query
        index = int(np.argmax(sims))
        if float(sims[index]) < self.policy.similarity_threshold:
            return None
        code = self._user_codes[index]
        example = self._example_texts["end_user"][index]
        return CategoryHit(
            code,
            self.policy.end_user(code).label,
            (f"similar to: {example}",),
            "similarity",
            round(float(sims[index]), 3),
        )

    # --- the whole extraction ------------------------------------------------------------------------

    def extract(self, text: str, query_embedding: np.ndarray | None = None) -> Signals:
        """Signals of one text; `query_embedding` (unit length) avoids embedding the text again."""
        policy = self.policy
        masked = self.mask_benign(text)
        signals = Signals()
        signals.product = self._highest(policy.products, masked)
        signals.end_user = self._highest(policy.end_users, masked)
        refusal = self._find(policy.undisclosed_refusal, text, negatable=False)
        pending = self._find(policy.undisclosed_pending, text, negatable=False)
        if refusal:
            signals.undisclosed, signals.undisclosed_evidence = "refusal", tuple(refusal)
        elif pending:
            signals.undisclosed, signals.undisclosed_evidence = "pending", tuple(pending)
        signals.countries = self.countries_in(text)
        signals.red_flags = self._flags(policy.red_flags, text)
        if signals.undisclosed == "refusal" and not any(f.id == "end_user_refusal" for f in signals.red_flags):
            flag = next((f for f in policy.red_flags if f.id == "end_user_refusal"), None)
            if flag is not None:
                signals.red_flags.append(FlagHit(flag.id, flag.label, tuple(refusal), flag.cite, flag.material))
        signals.uses = self._flags(policy.uses, text)
        signals.severity = self._flags(policy.severity_cues, text)
        government_words = self._find(policy.government_cues, masked, negatable=True)
        state_user = signals.end_user is not None and signals.end_user.code != policy.end_users[0].code
        signals.government = bool(government_words) or state_user
        signals.deal_cue = bool(self._find(policy.deal_cues, text, negatable=False))

        if signals.product is None and signals.end_user is None and not signals.countries:
            return signals  # nothing deal-like; no need for the model
        if query_embedding is None:
            query_embedding = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        signals.product = self._similar_product(signals.product, query_embedding)
        if signals.end_user is None:
            signals.end_user = self._similar_end_user(query_embedding)
        return signals
