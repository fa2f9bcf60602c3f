"""Triage never treats what it cannot determine as harmless, recognises listed parties and the policy's
concepts however they are worded, and shows the words of the deal behind every reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.knowledge.embeddings import Embedder
from assistant.risk.policy import load_risk_policy
from assistant.risk.screening import create_screener
from assistant.risk.triage import TriageEngine

REPO = Path(__file__).resolve().parent.parent
RISK = REPO / "corpus" / "risk"
HIGH = ("escalate", "prohibited")


@pytest.fixture(scope="module")
def engine(embedder: Embedder) -> TriageEngine:
    policy = load_risk_policy(RISK)
    return TriageEngine(policy, embedder, create_screener(RISK / "restricted_parties.csv"))


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


# --- unknown is never safe ------------------------------------------------------------------------------


def test_a_screened_text_is_always_triaged_even_when_nothing_is_recognised(engine: TriageEngine) -> None:
    result = engine.assess("Opportunity 4471: forty units of the XR-7 for a client, quote by Friday.", is_deal=True)
    assert result.describes_deal
    assert result.level != "proceed"
    missing = {m.fact for m in result.missing}
    assert missing == {"product", "end_user", "country"}
    questions = " ".join(m.question for m in result.missing)
    assert "Which country" in questions and "end user" in questions


def test_unrecognised_equipment_for_a_security_user_in_a_conflict_country_is_escalated(engine: TriageEngine) -> None:
    result = engine.assess(
        "Network equipment for a military intelligence unit of a country in active armed conflict.", is_deal=True
    )
    assert result.level in HIGH
    assert result.signals["country_situation"], "the situation words set the country's level"
    country = next(m for m in result.missing if m.fact == "country")
    assert country.assumed.startswith("C2")


def test_embargo_words_set_the_top_country_level_without_a_name(engine: TriageEngine) -> None:
    result = engine.assess("Twenty laptops for a hospital in an embargoed country.", is_deal=True)
    assert result.level == "prohibited"


def test_situation_words_raise_a_named_low_risk_country_not_lower_it(engine: TriageEngine) -> None:
    calm = engine.assess("Core routers for the national police of Norway.", is_deal=True)
    assert calm.level == "enhanced_due_diligence"
    described = engine.assess(
        "Core routers for the national police of Norway, where journalists get jailed for their articles.",
        is_deal=True,
    )
    assert described.level == "escalate"


def test_known_facts_are_not_reported_missing(engine: TriageEngine) -> None:
    result = engine.assess("Two hundred laptops for a school district in Ohio.", is_deal=True)
    assert result.level == "proceed"
    assert result.missing == []


# --- sanctions and denied-party mentions ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Buyer is on the OFAC SDN list; the order is 30 office PCs for their Madrid office.",
        "fyi the distributor's owner is under an EU asset freeze, order is monitors for a school in krakow",
        "The end user's parent company is on the Entity List. Only Wi-Fi for their offices in Singapore.",
        "Screening came back with a hit on the UN consolidated list for the consignee in Dubai.",
        "Customer is a designated entity under UK sanctions, 10 laptops.",
        "Our denied-party check flagged the integrator in Almaty; 4 switches.",
    ],
)
def test_a_listed_party_mention_prohibits_whatever_the_product(engine: TriageEngine, text: str) -> None:
    result = engine.assess(text, is_deal=True)
    assert result.level == "prohibited", [r.rule for r in result.reasons]
    assert result.reasons[0].rule == "prohibited-listed-party-mention"


@pytest.mark.parametrize(
    "text",
    [
        "Furniture retailer in Tallinn, 60 PCs; we ran sanctions screening on all parties and it came back clean.",
        "Dairy co-op in Uruguay, 4 backup appliances; screening on partner and customer showed no hits.",
        "Bakery chain in Porto, 45 POS terminals; the customer is not on any sanctions list.",
        "Law firm in Lyon asks whether there is any sanctions issue before buying 20 laptops.",
        "Sdn Bhd retailer in Kuala Lumpur, 40 POS terminals for its stores.",
    ],
)
def test_a_clear_screening_or_a_sanctions_question_is_not_a_listing(engine: TriageEngine, text: str) -> None:
    result = engine.assess(text, is_deal=True)
    assert result.level != "prohibited", [r.rule for r in result.reasons]


def test_a_sanctioned_country_named_only_to_deny_it_is_no_destination(engine: TriageEngine) -> None:
    result = engine.assess(
        "Carpet retailer in Toronto, 10 laptops and 4 POS terminals; no business in or with Iran.", is_deal=True
    )
    assert result.level == "enhanced_due_diligence"
    assert any(f["id"] == "sanctioned_destination_named" for f in result.signals["red_flags"])
    shipped = engine.assess("Carpet retailer, 10 laptops and 4 POS terminals, shipped to Tehran.", is_deal=True)
    assert shipped.level == "prohibited"


# --- concepts in other words, both ways ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("Intel service wants servers to run a phone intrusion suite to follow three journalists.", "prohibited"),
        (
            "kenyan police want thermal cams; media reports say they used drone footage to find protest organisers",
            "escalate",
        ),
        (
            "Government system for a ministry in Ghana: please ship with audit logs and privacy masking switched off.",
            "escalate",
        ),
        ("Reseller won't say which ministry wants the network monitoring platform.", "escalate"),
        (
            "Dutch municipality: analytics that gives each resident a score to decide who gets housing benefits.",
            "prohibited",
        ),
        ("uk prison service wants kit to pull data off phones seized from inmates", "escalate"),
        (
            "Firewalls for a hotel; consignee is a freight forwarder in the Jebel Ali free zone and they pay cash.",
            "escalate",
        ),
        ("Toronto PD wants kits that pull full file-system dumps off locked iPhones.", "escalate"),
    ],
)
def test_risky_deals_in_everyday_words_reach_compliance(engine: TriageEngine, text: str, floor: str) -> None:
    result = engine.assess(text, is_deal=True)
    levels = ("proceed", "enhanced_due_diligence", "escalate", "prohibited")
    assert levels.index(result.level) >= levels.index(floor), (result.level, [r.rule for r in result.reasons])


@pytest.mark.parametrize(
    "text",
    [
        "Logistics company in Rotterdam: Wi-Fi and RFID gateways for tracking pallets in the warehouse.",
        "Ministry of Health of New Zealand: cloud dashboards for disease surveillance with aggregate case counts.",
        "Bank in Osaka, 600 laptops with fingerprint reader and face unlock so staff log into their own machine.",
        "Farm co-op in Andalusia wants drones for crop surveys over its own fields.",
        "Insurance company in Chicago: its red team pen tests the company's own network; 15 laptops.",
        "Supermarket chain in Poznan: 120 POS terminals with thermal receipt printers.",
    ],
)
def test_alarming_words_in_harmless_deals_stay_below_compliance(engine: TriageEngine, text: str) -> None:
    result = engine.assess(text, is_deal=True)
    assert result.level not in HIGH, [r.rule for r in result.reasons]


def test_lower_case_places_name_their_country(engine: TriageEngine) -> None:
    assert engine.assess("cust is in tehran, just office pcs for a hospital", is_deal=True).level == "prohibited"
    leipzig = engine.assess("cust in leipzig wants emotion recognition to score call centre agents", is_deal=True)
    assert leipzig.level == "prohibited"
    assert [c["iso2"] for c in leipzig.signals["countries"]] == ["DE"]


def test_a_signature_name_is_not_a_place(engine: TriageEngine) -> None:
    text = (
        "Dear Partner Desk,\nWe register 20 laptops for a law firm in Winnipeg, Canada.\n\nKind regards,\nPriya Raman"
    )
    result = engine.assess(text, is_deal=True)
    assert [c["iso2"] for c in result.signals["countries"]] == ["CA"]


# --- every reason shows its words ------------------------------------------------------------------------


def test_every_reason_quotes_words_that_occur_in_the_deal(engine: TriageEngine) -> None:
    path = REPO / "evals" / "deals_dev_email.jsonl"
    deals = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    checked = 0
    for deal in deals:
        result = engine.assess(deal["scenario"], is_deal=True)
        text = _fold(deal["scenario"])
        for reason in result.reasons:
            assert reason.cite, reason
            if reason.rule.startswith("unknown-") or len(result.missing) == 3:
                continue  # a fact the deal does not state has no words to quote; its question says so
            assert reason.evidence, f"{deal['id']}: {reason.rule} quotes nothing"
            for words in reason.evidence:
                assert _fold(words) in text, f"{deal['id']}: {words!r} is not in the deal"
            checked += 1
    assert checked >= len(deals)


def test_reasons_in_json_carry_their_evidence(engine: TriageEngine) -> None:
    result = engine.assess("Thai partner has a tender for 800 body-worn cameras for provincial police.", is_deal=True)
    data = result.to_dict()
    first = data["reasons"][0]
    assert "body-worn cameras" in first["evidence"] and "police" in first["evidence"]
    json.dumps(data)


# --- the policy file ----------------------------------------------------------------------------------------


def test_an_unquoted_pattern_with_a_colon_is_explained(tmp_path: Path) -> None:
    folder = tmp_path / "risk"
    folder.mkdir()
    for name in ("countries.csv", "restricted_parties.csv"):
        (folder / name).write_bytes((RISK / name).read_bytes())
    text = (RISK / "policy.yaml").read_text(encoding="utf-8")
    text = text.replace("      - lawful[- ]intercept(?:ion)?\n", "      - lawful(?: intercept)?\n", 1)
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"policy\.yaml, line \d+: .*quote a pattern that contains ': '"):
        load_risk_policy(folder)
