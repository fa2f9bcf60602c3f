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

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..enums import LEVELS
from .policy import COUNTRY_LEVELS, END_USER_TYPES, RiskPolicy, Rule, level_rank
from .screening import PartyHit, PartyScreener
from .signals import CategoryHit, CountryHit, FlagHit, SignalExtractor, Signals, TextEmbedder

if TYPE_CHECKING:
    from .llm_signals import LLMReading, LLMSignalReader

logger = logging.getLogger(__name__)

_FACT_NAMES = {"product": "The product", "end_user": "The end user", "country": "The country"}


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
    """Why the level was chosen: a sentence, the rule id, the policy clauses behind it, and the words of
    the deal that triggered it (empty only for reasons about facts the deal does not state)."""

    text: str
    rule: str
    cite: list[str]
    evidence: tuple[str, ...] = ()
    partner_text: str = ""
    """What a partner is told instead (RAS 7.1): no internal wording, codes, lists, scores or evidence."""

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "rule": self.rule, "citations": list(self.cite), "evidence": list(self.evidence)}


@dataclass(frozen=True)
class MissingFact:
    """A deal fact triage could not determine, what it assumed instead, and the question that settles it."""

    fact: str
    assumed: str
    question: str

    def to_dict(self) -> dict[str, str]:
        return {"fact": self.fact, "assumed": self.assumed, "question": self.question}


@dataclass
class TriageResult:
    level: str
    reasons: list[Reason]
    signals: dict[str, Any]
    next_steps: list[str]
    describes_deal: bool
    rule: str = ""
    """Id of the rule that set the level before the severity overlay ('' when no deal)."""
    missing: list[MissingFact] = field(default_factory=list)
    """Facts the deal does not state, what was assumed for each, and the question that would settle it."""
    partner_next_steps: list[str] = field(default_factory=list)
    """The steps a partner is given for this level (the policy's partner_next_steps)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "reasons": [r.to_dict() for r in self.reasons],
            "signals": self.signals,
            "next_steps": list(self.next_steps),
            "describes_deal": self.describes_deal,
            "missing_facts": [m.to_dict() for m in self.missing],
        }


@dataclass
class _Facts:
    """The values the rule conditions are evaluated on (after RAS 3.5 and 4.5 substitutions)."""

    product: str | None
    end_user: str
    country_level: str
    deployment: CountryHit | None
    eu: bool
    country_stated: bool
    """A country (or words describing one's situation) is in the deal; False when the level is only assumed."""
    red_flags: set[str]
    material_flags: int
    uses: set[str]
    restricted: bool
    undisclosed: bool
    government: bool
    template: dict[str, str] = field(default_factory=dict)
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Condition key -> the words of the deal that make it hold (for the reasons' evidence)."""
    missing: list[MissingFact] = field(default_factory=list)


def _party_fact(hit: PartyHit) -> str:
    """A hit as a staff reason names it: party, list, the list's version and load date, score."""
    version = f"version {hit.list_version}" if hit.list_version else ""
    loaded = f"loaded {hit.loaded_at[:10]}" if hit.loaded_at else ""
    detail = ", ".join(x for x in (version, loaded) if x)
    return f"{hit.party} on {hit.list_name}" + (
        f" ({detail}; score {hit.score})" if detail else f" (score {hit.score})"
    )


@dataclass(frozen=True)
class Reading:
    """The cheap pass over a text (the policy's words, place names, party screening), made once per ask so
    the caller knows which texts to embed before `assess` finishes the job."""

    text: str
    signals: Signals
    parties: tuple[PartyHit, ...]
    to_embed: tuple[str, ...]
    """What `assess` compares by meaning: nothing for a text that is no deal by its words, else its clauses
    (or the text itself when it is one clause)."""


class TriageEngine:
    """Assesses deals against one risk policy. Build once (it embeds the policy examples); reuse."""

    def __init__(
        self,
        policy: RiskPolicy,
        embedder: TextEmbedder,
        screener: PartyScreener,
        llm_reader: LLMSignalReader | None = None,
    ) -> None:
        self.policy = policy
        self.screener = screener
        self.extractor = SignalExtractor(policy, embedder)
        self.llm_reader = llm_reader
        """When set (ASSISTANT_LLM), a second reading of each deal that can only raise the level."""

    def assess(
        self,
        text: str | None = None,
        fields: DealFields | None = None,
        embeddings: Mapping[str, np.ndarray] | None = None,
        *,
        is_deal: bool = False,
        reading: Reading | None = None,
    ) -> TriageResult:
        """Triage free text, structured fields, or both (fields are appended to the text).

        `is_deal` says the text was given as a deal (screening): it is then always triaged, however
        little it says, and never waved through as "not a deal". Without it (the ask path), a text
        that does not read like a deal gets no level. `embeddings` are unit vectors already computed, by
        text (the text's own and those of `read(text).to_embed`), so the model is not asked twice. `reading`
        is `read(text)` when the caller made it already.
        """
        parts = [text or "", fields.as_text() if fields else ""]
        full = " ".join(p.strip() for p in parts if p.strip())
        is_deal = is_deal or fields is not None
        if reading is not None and reading.text == full and fields is None:
            signals, parties = dataclasses.replace(reading.signals), list(reading.parties)
        else:
            signals = self.extractor.read_patterns(full)
            if fields is not None and fields.country.strip():
                stated = self.extractor.parse_country(fields.country)
                if stated is not None:
                    signals.countries = [stated, *[c for c in signals.countries if c.iso2 != stated.iso2]]
            parties = self._screen(full, fields, signals)
        if self._needs_model(signals, parties, is_deal):
            signals = self.extractor.add_similarity(signals, full, embeddings, is_deal=is_deal)
        describes = is_deal or self._describes_deal(signals, parties)
        signals_dict = self._signals_dict(signals, parties)
        if not describes:
            return TriageResult("proceed", [], signals_dict, [], False)
        facts = self._facts(signals, parties)
        result = self._decide(facts, signals, signals_dict)
        if self.llm_reader is not None:
            result = self._with_llm_reading(full, signals, parties, result)
        return result

    def read(self, text: str) -> Reading:
        """The cheap pass of `assess(text)` on the ask path, and the texts whose vectors it will need (to
        embed in one batch with the caller's own)."""
        signals = self.extractor.read_patterns(text)
        parties = self._screen(text, None, signals)
        to_embed: list[str] = []
        if self._needs_model(signals, parties, is_deal=False):
            to_embed = self.extractor.texts_to_embed(text) or [text]
        return Reading(text, signals, tuple(parties), tuple(to_embed))

    def _needs_model(self, signals: Signals, parties: Sequence[PartyHit], is_deal: bool) -> bool:
        """Whether similarity to the policy's examples can change the outcome. On the ask path a text that
        names no product, buyer or place and shows no pattern sign of a deal stays "not a deal" whatever the
        model adds (a flag found only by similarity is never enough), so the model is not asked."""
        return is_deal or self.extractor.names_a_party_or_place(signals) or self._describes_deal(signals, parties)

    # --- the optional LLM reading -------------------------------------------------------------------

    def _with_llm_reading(
        self, text: str, signals: Signals, parties: Sequence[PartyHit], result: TriageResult
    ) -> TriageResult:
        """The higher of the deterministic result and the result on signals raised by the LLM's reading."""
        assert self.llm_reader is not None
        reading = self.llm_reader.read(text)
        result.signals["llm"] = reading.to_dict()
        raised = self._raised_by(signals, reading)
        if raised is None:
            return result
        merged_dict = {**self._signals_dict(raised, parties), "llm": reading.to_dict()}
        merged = self._decide(self._facts(raised, parties), raised, merged_dict)
        if level_rank(merged.level) <= level_rank(result.level):
            return result
        llm_words = {w for w in (reading.product, reading.end_user, reading.country) if w} | set(reading.red_flags)
        quoted = {words for _, words in llm_words}
        merged.reasons = [
            dataclasses.replace(r, text=f"{r.text} (Signal read by the language model.)")
            if quoted.intersection(r.evidence)
            else r
            for r in merged.reasons
        ]
        return merged

    def _raised_by(self, signals: Signals, reading: LLMReading) -> Signals | None:
        """A copy of `signals` with every LLM fact that is riskier than what the rules found; None if none is."""
        policy, raised, changed = self.policy, dataclasses.replace(signals), False
        tiers = [c.code for c in policy.products]
        types = [c.code for c in policy.end_users]
        if reading.product:
            tier, words = reading.product
            if signals.product is None or tiers.index(tier) > tiers.index(signals.product.code):
                raised.product = CategoryHit(tier, policy.product(tier).label, (words,), "llm", words=(words,))
                changed = True
        if reading.end_user:
            kind, words = reading.end_user
            current = signals.end_user.code if signals.end_user else None
            if current is not None and types.index(kind) > types.index(current):
                raised.end_user = CategoryHit(kind, policy.end_user(kind).label, (words,), "llm", words=(words,))
                changed = True
        if reading.country:
            hit = self.extractor.parse_country(reading.country[0])
            if hit is not None and hit.iso2 not in {c.iso2 for c in signals.countries}:
                raised.countries = [*signals.countries, dataclasses.replace(hit, evidence=reading.country[1])]
                changed = True
        have = {f.id for f in signals.red_flags}
        by_id = {f.id: f for f in policy.red_flags}
        added = [
            FlagHit(i, by_id[i].label, (w,), by_id[i].cite, by_id[i].material, "llm", (w,))
            for i, w in reading.red_flags
            if i not in have
        ]
        if added:
            raised.red_flags = [*signals.red_flags, *added]
            changed = True
        return raised if changed else None

    # --- screening --------------------------------------------------------------------------------

    def _screen(self, text: str, fields: DealFields | None, signals: Signals) -> list[PartyHit]:
        # The deal's countries (not those it only denies) support or weigh against a listed party's match.
        countries = list(dict.fromkeys(c.iso2 for c in signals.countries if not c.negated))
        hits: list[PartyHit] = list(self.screener.screen_text(text, countries=countries)) if text else []
        if fields is not None:
            names = [n for n in (fields.partner, fields.end_user) if n.strip()]
            if names:
                hits.extend(self.screener.screen_names(names, countries=countries))
        best: dict[str, PartyHit] = {}
        for hit in hits:
            if hit.party_id not in best or hit.score > best[hit.party_id].score:
                best[hit.party_id] = hit
        return sorted(best.values(), key=lambda h: (-h.score, h.party))

    # --- facts and rules ----------------------------------------------------------------------------

    @staticmethod
    def _describes_deal(signals: Signals, parties: Sequence[PartyHit]) -> bool:
        # A flag found only by similarity is not enough on its own: a general question about red flags
        # resembles them too.
        if parties or signals.undisclosed or any(f.source == "pattern" for f in signals.red_flags):
            return True
        # A product named on its own ("how do I configure BGP on a router?") is a how-to question, not a
        # deal: it also needs someone or somewhere to sell it to, or words of a sale.
        context = signals.deal_cue or signals.end_user is not None or bool(signals.countries)
        if signals.product is not None and signals.product.source == "pattern" and context:
            return True
        buyer_or_place = signals.end_user is not None or bool(signals.countries)
        if signals.product is not None and signals.deal_cue and buyer_or_place:
            return True
        # Without a product, words of a sale must come with something that can carry risk: an end user
        # beyond a private business or consumer, or a named country. "A customer dinner at a hotel" or "the
        # partner summit in Lisbon" name a private venue, not a buyer anyone needs to screen.
        risky_buyer = signals.end_user is not None and signals.end_user.code != END_USER_TYPES[0]
        risky_place = any(c.level in COUNTRY_LEVELS[2:] for c in signals.countries) or bool(signals.situations)
        unknown_buyer_somewhere = signals.end_user is None and bool(signals.countries)
        return signals.deal_cue and (risky_buyer or risky_place or unknown_buyer_somewhere)

    def _facts(self, signals: Signals, parties: Sequence[PartyHit]) -> _Facts:
        policy = self.policy
        missing: list[MissingFact] = []
        unknown = policy.unknowns
        if signals.undisclosed or signals.end_user is None:
            end_user, assumed = policy.unknown_end_user, True
            fact = unknown["end_user"]
            missing.append(MissingFact("end_user", f"{end_user} ({policy.end_user(end_user).label})", fact.question))
        else:
            end_user, assumed = signals.end_user.code, False
        deployment: CountryHit | None = None
        rank = -1
        named = [c for c in signals.countries if not c.negated]
        for hit in named:
            level = hit.level or policy.unknown_country_level
            if COUNTRY_LEVELS.index(level) > rank:
                deployment, rank = hit, COUNTRY_LEVELS.index(level)
        country_assumed = deployment is None or deployment.level is None
        country_level = COUNTRY_LEVELS[rank] if rank >= 0 else policy.unknown_country_level
        country_words: tuple[str, ...] = (deployment.evidence,) if deployment else ()
        # Words describing the country's situation set its level when they say more than the table
        # does, and when no country is named at all (conflicting signals resolve upward).
        situation = max(signals.situations, key=lambda s: COUNTRY_LEVELS.index(s.level), default=None)
        if situation is not None and (
            country_assumed or COUNTRY_LEVELS.index(situation.level) > COUNTRY_LEVELS.index(country_level)
        ):
            if country_assumed:
                country_level = situation.level
            else:
                country_level = max(country_level, situation.level, key=COUNTRY_LEVELS.index)
            country_words = (*country_words, situation.evidence)
        elif country_assumed:
            fact = unknown["country"]
            missing.append(MissingFact("country", country_level, fact.question))
        if country_assumed and situation is not None:
            missing.append(MissingFact("country", f"{country_level} ({situation.label})", unknown["country"].question))
        product = signals.product.code if signals.product else None
        if product is None and "product" in unknown:
            fact = unknown["product"]
            product = fact.assume
            missing.append(MissingFact("product", f"{product} ({policy.product(product).label})", fact.question))
        facts = _Facts(
            product=product,
            end_user=end_user,
            country_level=country_level,
            deployment=deployment,
            eu=any(c.iso2 in policy.eu_members for c in named),
            country_stated=not country_assumed or situation is not None,
            red_flags={f.id for f in signals.red_flags},
            material_flags=sum(1 for f in signals.red_flags if f.material),
            uses={u.id for u in signals.uses},
            restricted=bool(parties),
            undisclosed=signals.undisclosed is not None,
            government=signals.government,
            missing=missing,
        )
        flag_words = tuple(w for f in signals.red_flags for w in f.quotes[:1])
        user_words: tuple[str, ...] = ()
        if signals.undisclosed:
            user_words = signals.undisclosed_evidence
        elif signals.end_user is not None:
            user_words = signals.end_user.quotes
        facts.words = {
            "product_in": signals.product.quotes if signals.product else (),
            "end_user_in": user_words,
            "country_in": country_words,
            "red_flags": flag_words,
            "use_any": tuple(w for u in signals.uses for w in u.quotes[:1]),
            "restricted_party": tuple(h.candidate for h in parties),
            "eu_deployment": tuple(c.evidence for c in named if c.iso2 in policy.eu_members),
            "country_stated": country_words,
            "undisclosed_end_user": signals.undisclosed_evidence,
            "government": (),
        }
        type_label = policy.end_user(end_user).label
        # The phrase carries its own article, so templates read "for {end_user}".
        if signals.undisclosed:
            user_label = f"an end user who is not disclosed (treated as {end_user}, {type_label})"
        elif assumed:
            user_label = f"an end user who is not named (treated as {end_user}, {type_label})"
        else:
            article = "an" if type_label[:1].lower() in "aeiou" else "a"
            user_label = f"{article} {type_label} end user"
        if deployment is not None and not country_assumed:
            country_name = deployment.name
        elif situation is not None:
            country_name = f"an unnamed country described as in {situation.label}"
        else:
            country_name = deployment.name if deployment else "an unstated country"
        facts.template = {
            "product": ", ".join(signals.product.evidence)
            if signals.product
            else f"an unidentified product, treated as {product}",
            "product_label": policy.product(product).label if product else "unidentified product",
            "product_tier": product or "unknown",
            "end_user": user_label,
            "end_user_type": end_user,
            # The country that sets the level (the highest context level) is the one a reason names.
            "country": country_name,
            "countries": ", ".join(c.name for c in named) or "an unstated country",
            "country_level": country_level,
            "red_flags": "; ".join(f"{f.label} ('{f.quotes[0]}')" for f in signals.red_flags) or "none",
            "uses": "; ".join(f"{u.label} ('{u.quotes[0]}')" for u in signals.uses) or "none",
            "parties": "; ".join(_party_fact(h) for h in parties) or "none",
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
        if key == "country_stated":
            return facts.country_stated is value
        if key == "undisclosed_end_user":
            return facts.undisclosed is value
        if key == "government":
            return facts.government is value
        raise AssertionError(f"condition {key} passed validation but has no evaluator")

    def _matches(self, rule: Rule, facts: _Facts) -> bool:
        return all(self._holds(key, value, facts) for key, value in rule.when.items())

    @staticmethod
    def _evidence(rule: Rule, facts: _Facts) -> tuple[str, ...]:
        words: list[str] = []
        # The catch-all rule holds for any facts: its evidence is the deal's product, end user and country.
        keys = rule.when or ("product_in", "end_user_in", "country_in")
        for key in keys:
            group = "red_flags" if key in ("red_flag_any", "material_red_flags_at_least", "red_flags_at_least") else key
            for word in facts.words.get(group, ()):
                if word and word not in words:
                    words.append(word)
        return tuple(words)

    def _reason(self, rule: Rule, facts: _Facts) -> Reason:
        text = rule.reason.format_map(facts.template)
        return Reason(text, rule.id, list(rule.cite), self._evidence(rule, facts), rule.partner_reason)

    def _decide(self, facts: _Facts, signals: Signals, signals_dict: dict[str, Any]) -> TriageResult:
        policy = self.policy
        matched = [r for r in policy.rules if self._matches(r, facts)]
        if not matched:
            level, reasons, rule_id = "enhanced_due_diligence", [], ""
            reasons.append(
                Reason(
                    "No rule matched; the standard's catch-all applies.",
                    "catch-all",
                    ["RAS 6.3"],
                    partner_text=policy.partner_wording.get("catch-all", ""),
                )
            )
        else:
            first = matched[0]
            level, rule_id = first.level, first.id
            reasons = [self._reason(r, facts) for r in matched if r.level == level and r.when]
            if not reasons:
                reasons = [self._reason(first, facts)]
        for item in facts.missing:
            fact = policy.unknowns[item.fact]
            reasons.append(
                Reason(
                    f"{_FACT_NAMES[item.fact]} could not be determined; treated as {item.assumed}. "
                    f"To settle it: {item.question}",
                    f"unknown-{item.fact.replace('_', '-')}",
                    list(fact.cite),
                    self._situation_words(item, signals),
                    policy.partner_wording.get(f"unknown-{item.fact.replace('_', '-')}", ""),
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
            evidence = tuple(s.evidence[0] for s in signals.severity)
            partner = policy.partner_wording.get("severity-overlay", "")
            reasons.append(Reason(text, "severity-overlay", list(policy.severity_cite), evidence, partner))
        return TriageResult(
            level,
            reasons,
            signals_dict,
            list(policy.next_steps.get(level, ())),
            True,
            rule_id,
            facts.missing,
            list(policy.partner_next_steps.get(level, ())),
        )

    @staticmethod
    def _situation_words(item: MissingFact, signals: Signals) -> tuple[str, ...]:
        if item.fact == "country":
            return tuple(s.evidence for s in signals.situations)
        return ()

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
            "country_situation": [s.to_dict() for s in signals.situations],
            "restricted_parties": [h.to_dict() for h in parties],
            # Every screening says which list versions it read, hit or not (an auditor's question later).
            "screened_against": self.screener.lists_in_force(),
            "government": signals.government,
        }
