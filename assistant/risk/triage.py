"""The triage engine: signals in, one risk level out, with reasons that cite the policy.

    policy = load_risk_policy(settings.corpus / "risk")
    engine = TriageEngine(policy, embedder, screener)
    result = engine.assess("Thai partner has a tender for 800 body-worn cameras for provincial police")
    result.level        # "escalate"
    result.reasons[0]   # Reason(text=..., rule="escalate-p2-state-c2", cite=["RAS 4.3", "RAS 6.2", ...])

The ordered rules in policy.yaml decide (first match wins, RAS 6); the severity overlay (RAS 6.5)
can then raise Proceed or Enhanced Due Diligence by one tier, never to Prohibited.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .policy import COUNTRY_LEVELS, LEVELS, RiskPolicy, Rule, level_rank
from .screening import PartyHit, PartyScreener
from .signals import CountryHit, SignalExtractor, Signals, TextEmbedder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DealFields:
    """A deal as structured fields; any may be empty."""

    product: str = ""
    end_user: str = ""
    country: str = ""
    partner: str = ""
    notes: str = ""

    def as_text(self) -> str:
        parts = [
            f"Product: {self.product}." if self.product else "",
            f"End user: {self.end_user}." if self.end_user else "",
            f"Country: {self.country}." if self.country else "",
            f"Partner: {self.partner}." if self.partner else "",
            self.notes,
        ]
        return " ".join(p.strip() for p in parts if p.strip())


@dataclass(frozen=True)
class Reason:
    """Why the level was chosen: a sentence, the rule id and the policy clauses behind it."""

    text: str
    rule: str
    cite: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "rule": self.rule, "citations": list(self.cite)}


@dataclass
class TriageResult:
    level: str
    reasons: list[Reason]
    signals: dict[str, Any]
    next_steps: list[str]
    describes_deal: bool
    rule: str = ""
    """Id of the rule that set the level before the severity overlay ('' when no deal)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "reasons": [r.to_dict() for r in self.reasons],
            "signals": self.signals,
            "next_steps": list(self.next_steps),
            "describes_deal": self.describes_deal,
        }


@dataclass
class _Facts:
    """The values the rule conditions are evaluated on (after RAS 3.5 and 4.5 substitutions)."""

    product: str | None
    end_user: str
    end_user_assumed: bool
    country_level: str
    country_assumed: bool
    deployment: CountryHit | None
    eu: bool
    red_flags: set[str]
    material_flags: int
    uses: set[str]
    restricted: bool
    undisclosed: bool
    government: bool
    template: dict[str, str] = field(default_factory=dict)


class TriageEngine:
    """Assesses deals against one risk policy. Build once (it embeds the policy examples); reuse."""

    def __init__(self, policy: RiskPolicy, embedder: TextEmbedder, screener: PartyScreener) -> None:
        self.policy = policy
        self.screener = screener
        self.extractor = SignalExtractor(policy, embedder)

    def assess(
        self, text: str | None = None, fields: DealFields | None = None, query_embedding: np.ndarray | None = None
    ) -> TriageResult:
        """Triage free text, structured fields, or both (fields are appended to the text)."""
        parts = [text or "", fields.as_text() if fields else ""]
        full = " ".join(p.strip() for p in parts if p.strip())
        if fields is not None and text:
            query_embedding = None  # the given embedding is of `text` alone
        signals = self.extractor.extract(full, query_embedding) if full else self.extractor.extract("")
        if fields is not None and fields.country.strip():
            stated = self.extractor.parse_country(fields.country)
            if stated is not None:
                signals.countries = [stated, *[c for c in signals.countries if c.iso2 != stated.iso2]]
        parties = self._screen(full, fields)
        describes = self._describes_deal(signals, parties)
        signals_dict = self._signals_dict(signals, parties)
        if not describes:
            return TriageResult("proceed", [], signals_dict, [], False)
        facts = self._facts(signals, parties)
        return self._decide(facts, signals, signals_dict)

    # --- screening --------------------------------------------------------------------------------

    def _screen(self, text: str, fields: DealFields | None) -> list[PartyHit]:
        hits: list[PartyHit] = list(self.screener.screen_text(text)) if text else []
        if fields is not None:
            names = [n for n in (fields.partner, fields.end_user) if n.strip()]
            if names:
                hits.extend(self.screener.screen_names(names))
        best: dict[str, PartyHit] = {}
        for hit in hits:
            if hit.party_id not in best or hit.score > best[hit.party_id].score:
                best[hit.party_id] = hit
        return sorted(best.values(), key=lambda h: (-h.score, h.party))

    # --- facts and rules ----------------------------------------------------------------------------

    @staticmethod
    def _describes_deal(signals: Signals, parties: Sequence[PartyHit]) -> bool:
        if parties or signals.undisclosed or signals.red_flags:
            return True
        # A product named on its own ("how do I configure BGP on a router?") is a how-to question, not a
        # deal: it also needs someone or somewhere to sell it to, or words of a sale.
        context = signals.deal_cue or signals.end_user is not None or bool(signals.countries)
        if signals.product is not None and signals.product.source == "pattern" and context:
            return True
        return signals.deal_cue and (signals.end_user is not None or bool(signals.countries))

    def _facts(self, signals: Signals, parties: Sequence[PartyHit]) -> _Facts:
        policy = self.policy
        if signals.undisclosed or signals.end_user is None:
            end_user, assumed = policy.unknown_end_user, True
        else:
            end_user, assumed = signals.end_user.code, False
        deployment: CountryHit | None = None
        rank = -1
        for hit in signals.countries:
            level = hit.level or policy.unknown_country_level
            if COUNTRY_LEVELS.index(level) > rank:
                deployment, rank = hit, COUNTRY_LEVELS.index(level)
        country_assumed = deployment is None or deployment.level is None
        country_level = COUNTRY_LEVELS[rank] if rank >= 0 else policy.unknown_country_level
        product = signals.product.code if signals.product else None
        facts = _Facts(
            product=product,
            end_user=end_user,
            end_user_assumed=assumed,
            country_level=country_level,
            country_assumed=country_assumed,
            deployment=deployment,
            eu=any(c.iso2 in policy.eu_members for c in signals.countries),
            red_flags={f.id for f in signals.red_flags},
            material_flags=sum(1 for f in signals.red_flags if f.material),
            uses={u.id for u in signals.uses},
            restricted=bool(parties),
            undisclosed=signals.undisclosed is not None,
            government=signals.government,
        )
        type_label = policy.end_user(end_user).label
        # The phrase carries its own article, so templates read "for {end_user}".
        if signals.undisclosed:
            user_label = f"an end user who is not disclosed (treated as {end_user}, {type_label})"
        elif assumed:
            user_label = f"an end user who is not named (treated as {end_user}, {type_label})"
        else:
            article = "an" if type_label[:1].lower() in "aeiou" else "a"
            user_label = f"{article} {type_label} end user"
        facts.template = {
            "product": ", ".join(signals.product.evidence)
            if product and signals.product
            else "an unidentified product",
            "product_label": policy.product(product).label if product else "unidentified product",
            "product_tier": product or "unknown",
            "end_user": user_label,
            "end_user_type": end_user,
            # The country that sets the level (the highest context level) is the one a reason names.
            "country": deployment.name if deployment else "an unstated country",
            "countries": ", ".join(c.name for c in signals.countries) or "an unstated country",
            "country_level": country_level,
            "red_flags": "; ".join(f"{f.label} ('{f.evidence[0]}')" for f in signals.red_flags) or "none",
            "uses": "; ".join(f"{u.label} ('{u.evidence[0]}')" for u in signals.uses) or "none",
            "parties": "; ".join(f"{h.party} on {h.list_name} (score {h.score})" for h in parties) or "none",
        }
        return facts

    @staticmethod
    def _holds(key: str, value: Any, facts: _Facts) -> bool:
        if key == "product_in":
            return facts.product in value
        if key == "end_user_in":
            return facts.end_user in value
        if key == "country_in":
            return facts.country_level in value
        if key == "red_flag_any":
            return bool(facts.red_flags.intersection(value))
        if key == "use_any":
            return bool(facts.uses.intersection(value))
        if key == "material_red_flags_at_least":
            return facts.material_flags >= int(value)
        if key == "red_flags_at_least":
            return len(facts.red_flags) >= int(value)
        if key == "restricted_party":
            return facts.restricted is value
        if key == "eu_deployment":
            return facts.eu is value
        if key == "undisclosed_end_user":
            return facts.undisclosed is value
        if key == "government":
            return facts.government is value
        raise AssertionError(f"condition {key} passed validation but has no evaluator")

    def _matches(self, rule: Rule, facts: _Facts) -> bool:
        return all(self._holds(key, value, facts) for key, value in rule.when.items())

    def _reason(self, rule: Rule, facts: _Facts) -> Reason:
        return Reason(rule.reason.format_map(facts.template), rule.id, list(rule.cite))

    def _decide(self, facts: _Facts, signals: Signals, signals_dict: dict[str, Any]) -> TriageResult:
        policy = self.policy
        matched = [r for r in policy.rules if self._matches(r, facts)]
        if not matched:
            level, reasons, rule_id = "enhanced_due_diligence", [], ""
            reasons.append(Reason("No rule matched; the standard's catch-all applies.", "catch-all", ["RAS 6.3"]))
        else:
            first = matched[0]
            level, rule_id = first.level, first.id
            reasons = [self._reason(r, facts) for r in matched if r.level == level and r.when]
            if not reasons:
                reasons = [self._reason(first, facts)]
            if any("country_in" in r.when for r in matched if r.level == level) and facts.country_assumed:
                reasons.append(
                    Reason(
                        "No rated country could be identified; the deal is treated as a high-risk country ("
                        f"{policy.unknown_country_level}) until compliance rates it.",
                        "unknown-country",
                        ["RAS 4.5"],
                    )
                )
            if facts.end_user_assumed and not facts.undisclosed and any("end_user_in" in r.when for r in matched[:1]):
                reasons.append(
                    Reason(
                        f"The end user is not named; it is treated as {facts.end_user} until the partner names it.",
                        "unknown-end-user",
                        list(policy.unknown_end_user_cite),
                    )
                )
        if signals.severity and level_rank(level) < level_rank("prohibited"):
            cue_text = "; ".join(f"{s.label} ('{s.evidence[0]}')" for s in signals.severity)
            raised = min(level_rank(level) + 1, level_rank(policy.severity_max_level))
            if raised > level_rank(level):
                level = LEVELS[raised]
                text = f"Severity overlay: {cue_text}; the level moves up one tier."
            else:
                text = f"Severity overlay: {cue_text}; review as high-severity."
            reasons.append(Reason(text, "severity-overlay", list(policy.severity_cite)))
        return TriageResult(level, reasons, signals_dict, list(policy.next_steps.get(level, ())), True, rule_id)

    # --- output ----------------------------------------------------------------------------------------

    def _signals_dict(self, signals: Signals, parties: Sequence[PartyHit]) -> dict[str, Any]:
        def category(hit: Any, key: str) -> dict[str, Any] | None:
            if hit is None:
                return None
            out = {key: hit.code, "label": hit.label, "evidence": list(hit.evidence), "source": hit.source}
            if hit.similarity is not None:
                out["similarity"] = hit.similarity
            return out

        end_user = category(signals.end_user, "type")
        if signals.undisclosed:
            end_user = {
                "type": self.policy.unknown_end_user,
                "label": f"undisclosed ({signals.undisclosed})",
                "evidence": list(signals.undisclosed_evidence),
                "source": "pattern",
            }
        return {
            "product": category(signals.product, "tier"),
            "end_user": end_user,
            "countries": [c.to_dict() for c in signals.countries],
            "red_flags": [f.to_dict() for f in signals.red_flags],
            "uses": [u.to_dict() for u in signals.uses],
            "severity": [s.to_dict() for s in signals.severity],
            "restricted_parties": [h.to_dict() for h in parties],
            "government": signals.government,
        }
