"""The triage engine on the team's deal set, targeted traps, and invalid policy files."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from assistant.enums import LEVELS
from assistant.errors import ConfigError
from assistant.knowledge.embeddings import Embedder
from assistant.risk.policy import level_rank, load_risk_policy
from assistant.risk.screening import create_screener
from assistant.risk.triage import DealFields, TriageEngine

REPO = Path(__file__).resolve().parent.parent
RISK = REPO / "corpus" / "risk"
DEALS = REPO / "evals" / "deals.jsonl"
HIGH = ("escalate", "prohibited")


@pytest.fixture(scope="module")
def engine(embedder: Embedder) -> TriageEngine:
    policy = load_risk_policy(RISK)
    return TriageEngine(policy, embedder, create_screener(RISK / "restricted_parties.csv"))


def _confusion(counts: Counter[tuple[str, str]]) -> str:
    lines = ["expected \\ got".ljust(24) + " ".join(level[:8].rjust(9) for level in LEVELS)]
    for expected in LEVELS:
        lines.append(expected.ljust(24) + " ".join(str(counts[(expected, got)]).rjust(9) for got in LEVELS))
    return "\n".join(lines)


# Every deal set in evals/ but the sealed one (measured once, at the end of the triage work: see evals/README.md).
DEAL_SETS = sorted(p for p in DEALS.parent.glob("deals*.jsonl") if not p.name.startswith("deals_sealed"))


@pytest.mark.parametrize("path", DEAL_SETS, ids=[p.stem for p in DEAL_SETS])
def test_quality_bar_on_deal_sets(engine: TriageEngine, embedder: Embedder, path: Path) -> None:
    # The bars of the triage issue: a missed risky deal is the failure this product exists to prevent.
    deals = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    # Every vector the set needs (each deal's text and clauses) in one batch: the model is the slow part.
    texts = list(
        dict.fromkeys(t for d in deals for t in [d["scenario"], *engine.extractor.texts_to_embed(d["scenario"])])
    )
    vectors = dict(zip(texts, embedder.embed_documents(texts), strict=True))
    counts: Counter[tuple[str, str]] = Counter()
    misses = []
    for deal in deals:
        result = engine.assess(deal["scenario"], embeddings=vectors, is_deal=True)
        counts[(deal["expected"], result.level)] += 1
        if result.level != deal["expected"]:
            misses.append(f"{deal['id']}: expected {deal['expected']}, got {result.level} ({result.rule})")

    high = [d for d in deals if d["expected"] in HIGH]
    recall = sum(counts[(e, g)] for e in HIGH for g in HIGH) / len(high)
    prohibited = [d for d in deals if d["expected"] == "prohibited"]
    prohibited_recall = counts[("prohibited", "prohibited")] / len(prohibited)
    proceed_total = sum(counts[("proceed", g)] for g in LEVELS)
    over_escalated = sum(counts[("proceed", g)] for g in HIGH) / proceed_total
    exact = sum(counts[(level, level)] for level in LEVELS) / len(deals)
    report = (
        f"\n{_confusion(counts)}\nrecall={recall:.3f} prohibited={prohibited_recall:.3f} "
        f"over={over_escalated:.3f} exact={exact:.3f}\n" + "\n".join(misses)
    )
    assert recall >= 0.97, report
    assert prohibited_recall >= 0.95, report
    assert over_escalated <= 0.08, report
    assert exact >= 0.85, report


def test_hospital_car_park_cameras_are_not_state_surveillance(engine: TriageEngine) -> None:
    result = engine.assess("Security cameras for a hospital car park in Leeds.")
    assert result.describes_deal
    assert result.level not in HIGH
    assert result.signals["end_user"]["type"] == "E0"


def test_no_analytics_negation_keeps_cameras_below_p2(engine: TriageEngine) -> None:
    result = engine.assess("Cameras for a warehouse in Madrid, plain recording only, no analytics, no plate reading.")
    assert result.signals["product"]["tier"] == "P1"
    assert result.level == "proceed"


def test_not_for_police_use_is_a_negation(engine: TriageEngine) -> None:
    result = engine.assess("Not for police use, just Wi-Fi access points for a café chain in Nairobi.")
    assert result.signals["end_user"]["type"] == "E0"
    assert result.level == "proceed"
    positive = engine.assess("Wi-Fi access points for the police in Nairobi.")
    assert positive.signals["end_user"]["type"] == "E3"
    assert positive.level == "enhanced_due_diligence"


def test_negation_is_clause_scoped(engine: TriageEngine) -> None:
    result = engine.assess(
        "Partner keeps saying it's NOT for the police: it's for the gendarmerie's border unit in eastern Turkey. "
        "Drones with thermal."
    )
    assert result.signals["end_user"]["type"] == "E3"
    assert result.level == "escalate"


def test_undisclosed_end_user_on_government_deal_escalates(engine: TriageEngine) -> None:
    result = engine.assess(
        "Lagos partner: 50 laptops and two servers. It's for a ministry, they'd rather not say which one."
    )
    assert result.level == "escalate"
    assert result.signals["end_user"]["type"] == "E3"
    assert any("RAS 6.6" in r.cite for r in result.reasons)


def test_partner_wont_say_who_the_customer_is(engine: TriageEngine) -> None:
    result = engine.assess("The partner won't say who the customer is; they want thermal drones for Hanoi.")
    assert result.level == "escalate"
    assert any(f["id"] == "end_user_refusal" for f in result.signals["red_flags"])


def test_restricted_party_alias_is_prohibited(engine: TriageEngine) -> None:
    result = engine.assess("Belgrade deal: the buyer is Sarovic Telekom, wants 200 core switches.")
    assert result.level == "prohibited"
    assert result.reasons[0].rule == "prohibited-restricted-party"
    assert result.signals["restricted_parties"][0]["party"].startswith("Šarović")
    assert "RAS 6.1" in result.reasons[0].cite


def test_structured_fields_screen_partner_and_parse_country(engine: TriageEngine) -> None:
    fields = DealFields(product="rugged tablets", end_user="field teams", country="PL", partner="Skarnvold UAV")
    result = engine.assess(fields=fields)
    assert result.level == "prohibited"
    clean = engine.assess(fields=DealFields(product="laptops", end_user="a bank", country="Sweden", partner="Acme AB"))
    assert clean.level == "proceed"
    assert clean.signals["countries"][0]["iso2"] == "SE"


def test_c3_destination_is_prohibited(engine: TriageEngine) -> None:
    result = engine.assess("Spanish reseller asking for laptops for a bakery chain in Havana.")
    assert result.level == "prohibited"
    assert result.reasons[0].rule == "prohibited-c3-destination"
    assert {c["iso2"] for c in result.signals["countries"]} >= {"CU", "ES"}


@pytest.mark.parametrize(
    "question", ["What does UNGP Principle 17 say?", "How do I screen a reseller?", "What is a red flag?"]
)
def test_general_questions_do_not_describe_a_deal(engine: TriageEngine, question: str) -> None:
    result = engine.assess(question)
    assert result.describes_deal is False
    assert result.level == "proceed"
    assert result.reasons == []


def test_every_reason_cites_policy_and_next_steps_follow_level(engine: TriageEngine) -> None:
    result = engine.assess("Thai partner has a tender for 800 body-worn cameras for provincial police.")
    assert result.level == "escalate"
    assert all(reason.cite for reason in result.reasons)
    assert any("RAS 7.2" in step for step in result.next_steps)
    json.dumps(result.to_dict())


def test_assessment_is_deterministic(engine: TriageEngine) -> None:
    text = "Retail chain in Lyon wants smart cameras with people counting and heatmaps in 40 stores."
    assert engine.assess(text).to_dict() == engine.assess(text).to_dict()


# --- invalid policy files ---------------------------------------------------------------------------


@pytest.fixture
def risk_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "risk"
    shutil.copytree(RISK, folder)
    return folder


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_bad_level_name_names_file_and_line(risk_copy: Path) -> None:
    path = risk_copy / "policy.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("level: escalate", "level: escalte", 1), encoding="utf-8")
    line = _line_of(path, "level: escalte")
    with pytest.raises(ConfigError) as caught:
        load_risk_policy(risk_copy)
    assert f"policy.yaml, line {line}:" in str(caught.value)
    assert "escalte" in str(caught.value)


def test_unknown_condition_key_names_file_and_line(risk_copy: Path) -> None:
    path = risk_copy / "policy.yaml"
    text = path.read_text(encoding="utf-8").replace("when: {country_in: [C3]}", "when: {country_is: [C3]}", 1)
    path.write_text(text, encoding="utf-8")
    line = _line_of(path, "country_is")
    with pytest.raises(ConfigError) as caught:
        load_risk_policy(risk_copy)
    assert f"policy.yaml, line {line}:" in str(caught.value)
    assert "unknown condition 'country_is'" in str(caught.value)


def test_bad_indentation_names_file_and_line(risk_copy: Path) -> None:
    path = risk_copy / "policy.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("    label: general-purpose IT"))
    lines[index] = "      label: general-purpose IT"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_risk_policy(risk_copy)
    message = str(caught.value)
    assert "policy.yaml, line " in message
    assert "invalid YAML" in message
    reported = int(message.split("line ")[1].split(":")[0])
    assert abs(reported - (index + 1)) <= 1


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        ("  window:", "  windw:", "windw:", "unknown key 'windw' in negation"),
        (
            "    label: general-purpose IT",
            "    lable: general-purpose IT",
            "lable:",
            "unknown key 'lable' in products 1",
        ),
        ("material: true", "material: maybe", "material: maybe", "true, false or unless_explained"),
        ("tier: P4", "tier: P9", "tier: P9", "(got 'P9')"),
        ("red_flag_any: [", "red_flag_any: [no_such_flag, ", "no_such_flag", "unknown value 'no_such_flag'"),
    ],
)
def test_a_policy_typo_is_named_with_its_line(risk_copy: Path, old: str, new: str, needle: str, expected: str) -> None:
    """Compliance edits the policy by hand: every mistake names the line, the place and what is wrong."""
    path = risk_copy / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_risk_policy(risk_copy)
    message = str(caught.value)
    assert f"policy.yaml, line {_line_of(path, needle)}:" in message
    if expected == "true, false or unless_explained":
        assert "valid boolean" in message and "'unless_explained'" in message
    else:
        assert expected in message


def test_a_missing_section_is_named(risk_copy: Path) -> None:
    path = risk_copy / "policy.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("partner_wording:"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith((" ", "#")))
    path.write_text("\n".join(lines[:start] + lines[end:]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"policy\.yaml, line \d+: the policy is missing 'partner_wording'"):
        load_risk_policy(risk_copy)


def test_bad_iso2_in_countries_csv_names_file_and_line(risk_copy: Path) -> None:
    path = risk_copy / "countries.csv"
    with path.open("a", encoding="utf-8") as handle:
        handle.write("XQ,Nowhere,C1,test,2026-01-01\n")
    line = len(path.read_text(encoding="utf-8").splitlines())
    with pytest.raises(ConfigError) as caught:
        load_risk_policy(risk_copy)
    assert f"countries.csv, line {line}:" in str(caught.value)
    assert "'XQ'" in str(caught.value)


def test_bad_country_level_is_refused(risk_copy: Path) -> None:
    path = risk_copy / "countries.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("KP,North Korea,C3", "KP,North Korea,C9"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"countries.csv, line 2: level 'C9'"):
        load_risk_policy(risk_copy)


# --- gazetteer, clause-level similarity, negated state ownership ---------------------------------------


@pytest.mark.parametrize(
    ("text", "iso2"),
    [
        ("Pharma distributor in Isfahan wants 40 desktops for its warehouse office.", "IR"),
        ("University in Kazan (Tatarstan) asks for a small GPU cluster.", "RU"),
        ("Parks agency near Valparaíso wants rugged tablets.", "CL"),
        ("A private school in Nice wants 30 laptops.", "FR"),
    ],
)
def test_gazetteer_cities_name_their_country(engine: TriageEngine, text: str, iso2: str) -> None:
    result = engine.assess(text)
    assert iso2 in {c["iso2"] for c in result.signals["countries"]}


def test_gazetteer_sets_the_level_of_an_embargoed_city(engine: TriageEngine) -> None:
    result = engine.assess("Got an inbound from a pharma distributor in Isfahan asking for 40 desktops and printers.")
    assert result.level == "prohibited"
    assert result.reasons[0].rule == "prohibited-c3-destination"


def test_gazetteer_ignores_common_words_and_lower_case(engine: TriageEngine) -> None:
    result = engine.assess("Nice deal! Split the order of 20 laptops for a bakery in Porto into two shipments.")
    assert {c["iso2"] for c in result.signals["countries"]} == {"PT"}
    assert result.level == "proceed"


def test_country_names_win_over_cities_of_the_same_name(engine: TriageEngine) -> None:
    result = engine.assess("Distributor in Jordan wants 20 laptops for a bank.")  # not Jordan, Hong Kong
    assert {c["iso2"] for c in result.signals["countries"]} == {"JO"}


def test_clause_similarity_finds_an_indirect_p3_description(engine: TriageEngine) -> None:
    result = engine.assess(
        "Distributor in Mendoza has a new opportunity. They want a portable box that impersonates the local "
        "mobile network so it can grab the identities of all handsets in range. The customer is the provincial police."
    )
    product = result.signals["product"]
    assert product["tier"] == "P3"
    assert product["source"] == "similarity"
    assert "impersonates" in product["evidence"][0]
    assert result.level == "escalate"


def test_clause_similarity_skips_negated_stretches(engine: TriageEngine) -> None:
    result = engine.assess(
        "Hospital in Seoul wants ward cameras with fall-detection analytics. "
        "Not facial recognition, no identification of patients - it just alerts nurses."
    )
    assert result.signals["product"]["tier"] == "P2"
    assert result.level == "enhanced_due_diligence"


def test_single_clause_ask_reuses_the_query_embedding(engine: TriageEngine, embedder: Embedder) -> None:
    text = "Can we sell IMSI catchers to the police in Lima?"
    given = embedder.embed_query("an unrelated sentence about printers")
    clauses, vectors = engine.extractor.clause_vectors(text, {text: given}, whole=text)
    assert clauses == [text]
    assert np.array_equal(vectors[0], given)  # the vector handed in, not a fresh one


def test_clauses_embedded_by_the_caller_are_not_embedded_again(engine: TriageEngine, embedder: Embedder) -> None:
    # The ask path embeds the question and its clauses in one batch and hands them to triage.
    text = "Distributor in Lagos wants 40 cameras. The end user is the state police. They want face search."
    wanted = list(engine.read(text).to_embed)
    assert len(wanted) == 3
    stand_ins = embedder.embed_documents([f"unrelated sentence number {i}" for i in range(len(wanted))])
    clauses, vectors = engine.extractor.clause_vectors(
        engine.extractor.mask_benign(text), dict(zip(wanted, stand_ins, strict=True)), whole=text
    )
    assert clauses == wanted
    assert np.array_equal(vectors, stand_ins)
    # one clause: the text's own vector serves
    assert engine.read("Can we sell IMSI catchers to the police in Lima?").to_embed == (
        "Can we sell IMSI catchers to the police in Lima?",
    )


def test_a_question_that_is_no_deal_by_its_words_needs_no_vectors_and_gets_no_level(
    engine: TriageEngine, embedder: Embedder
) -> None:
    question = "What does Principle 19 say about ending a business relationship?"
    reading = engine.read(question)
    assert reading.to_embed == ()
    result = engine.assess(question, embeddings={}, reading=reading)  # an empty mapping: nothing to embed
    assert not result.describes_deal
    # the same as without the reading, when the model is free to look
    assert not engine.assess(question, embeddings={question: embedder.embed_query(question)}).describes_deal
    # a deal in the same words keeps its vectors and its level
    deal = "Partner wants 200 cameras with face search for the interior ministry in Minsk."
    assert engine.read(deal).to_embed
    assert engine.assess(deal, reading=engine.read(deal)).level == "prohibited"


def test_negated_state_ownership_makes_a_private_isp(engine: TriageEngine) -> None:
    private = engine.assess(
        "Regional ISP in Montevideo, fully private (no state shareholding), buying edge routers to expand fibre."
    )
    assert private.signals["end_user"]["type"] == "E0"
    assert private.level == "proceed"
    state = engine.assess("State-owned ISP in Montevideo buying edge routers to expand fibre.")
    assert state.signals["end_user"]["type"] == "E2"


def test_stated_intent_to_abuse_is_prohibited(engine: TriageEngine) -> None:
    result = engine.assess(
        "Reseller in Bucharest selling thermal drones to the gendarmerie; the officer said they'll use them on "
        "protesters next month."
    )
    assert result.level == "prohibited"
    assert any(f["id"] == "abuse_intent" for f in result.signals["red_flags"])


def test_combined_bis_red_flags_escalate(engine: TriageEngine) -> None:
    result = engine.assess(
        "Trading firm in Hong Kong wants 40 GPU servers, will pay in cash, ships to a freight forwarder in Panama "
        "and declined installation."
    )
    assert {"cash_payment", "forwarder_destination", "support_declined"} <= {
        f["id"] for f in result.signals["red_flags"]
    }
    assert result.level == "escalate"


def test_an_unexplained_mismatch_is_material_and_an_explained_one_is_not(engine: TriageEngine) -> None:
    # RAS 5.5: the rep must ask; a mismatch nobody explains is a material red flag (escalate), while a
    # single red flag with a recorded explanation is enhanced due diligence.
    unexplained = engine.assess(
        "A small bakery in Porto wants 8 GPU servers with top-end accelerators. Asked what for, no answer yet.",
        is_deal=True,
    )
    assert unexplained.level == "escalate"
    explained = engine.assess(
        "A small bakery in Porto wants 8 GPU servers; they explained it is for their new recipe-generation "
        "startup and sent the investor deck.",
        is_deal=True,
    )
    assert explained.level == "enhanced_due_diligence"


def test_hyphenated_words_read_like_spaced_ones(engine: TriageEngine) -> None:
    hyphenated = engine.assess("Gym chain in Melbourne: 45 face-recognition entry terminals for members.", is_deal=True)
    spaced = engine.assess("Gym chain in Melbourne: 45 face recognition entry terminals for members.", is_deal=True)
    assert hyphenated.signals["product"]["tier"] == spaced.signals["product"]["tier"] == "P2"
    # the evidence quotes the deal as written
    assert "face-recognition" in hyphenated.signals["product"]["evidence"][0]


def test_a_region_name_settles_the_country(engine: TriageEngine) -> None:
    result = engine.assess("State Library of Queensland: 40 public PCs. Quote?", is_deal=True)
    assert [c["iso2"] for c in result.signals["countries"]] == ["AU"]
    assert result.level == "proceed"


def test_a_transliterated_listed_name_is_prohibited_and_a_look_alike_phrase_is_not(engine: TriageEngine) -> None:
    # "Sahreek" is another spelling of the listed "Sahriq"; "black boxes" only shares consonants with an alias
    listed = engine.assess(
        "Laptops for a builder in Oman; the forwarder is Dar Sahreek General Trading FZE.", is_deal=True
    )
    assert listed.level == "prohibited"
    assert any("Dar Sahriq" in hit["party"] for hit in listed.signals["restricted_parties"])
    innocent = engine.assess("Mall in Wroclaw: 200 cameras; the manager says the masks make black boxes.", is_deal=True)
    assert innocent.signals["restricted_parties"] == []


def test_striking_the_end_use_clause_out_of_the_contract_is_a_refusal(engine: TriageEngine) -> None:
    result = engine.assess(
        "Logistics firm in Rotterdam, analytics cameras for the yards; their lawyer struck out the end use clause "
        "and the audit rights, they don't sign that kind of thing.",
        is_deal=True,
    )
    assert result.level == "escalate"
    assert "refuses_end_use_terms" in {f["id"] for f in result.signals["red_flags"]}


def test_reading_pupils_faces_for_boredom_in_an_eu_school_is_prohibited(engine: TriageEngine) -> None:
    result = engine.assess(
        "School chain in Warsaw: classroom cameras read the kids faces to tell the teacher who is bored or upset.",
        is_deal=True,
    )
    assert result.level == "prohibited"


def test_a_changed_ship_to_and_an_odd_route_are_two_red_flags(engine: TriageEngine) -> None:
    result = engine.assess(
        "Engineering firm in Yerevan, 40 core switches. Ship to changed twice, now they want it routed by truck "
        "through Turkey.",
        is_deal=True,
    )
    assert {"changed_destination", "unusual_routing"} <= {f["id"] for f in result.signals["red_flags"]}
    assert result.level == "escalate"


def test_distributor_stock_without_an_end_user_follows_the_unknown_end_user_rule(engine: TriageEngine) -> None:
    moderate = engine.assess("Distributor in Casablanca, stock order, 200 laptops, no end user yet.", is_deal=True)
    low = engine.assess("Distributor in Vienna, 500 laptops for general resale to their dealers.", is_deal=True)
    assert moderate.level == "enhanced_due_diligence"  # RAS 6.6: P0 in a C1 country
    assert low.level == "proceed"  # RAS 6.6: P0 office IT in a C0 country


def test_a_name_that_sounds_foreign_is_no_destination(engine: TriageEngine) -> None:
    result = engine.assess(
        "The owner's name sounds Russian; screened against EU, UK and OFAC lists, no match. Accounting firm in "
        "Riga, Latvia, 25 laptops.",
        is_deal=True,
    )
    assert [c["iso2"] for c in result.signals["countries"]] == ["LV"]
    assert result.level == "proceed"


def test_arresting_people_for_what_they_wrote_is_abuse_intent(engine: TriageEngine) -> None:
    result = engine.assess(
        "The governor's office wants location tracking and social media analytics to find who is behind an "
        "anonymous blog; police will then arrest them for insulting the governor.",
        is_deal=True,
    )
    assert result.level == "prohibited"
    assert "abuse_intent" in {f["id"] for f in result.signals["red_flags"]}


@pytest.mark.parametrize(
    "deal",
    [
        "Cloud backup for a law firm in Oslo, no end user training needed, 20 laptops.",
        "Analytics cameras for a school in Lima; it is a country where people get arrested for protesting.",
        "Brand-protection team at a retailer in Milan wants to identify who is behind the anonymous accounts "
        "selling counterfeit shoes.",
    ],
)
def test_words_near_the_new_concepts_do_not_prohibit_or_hide_the_end_user(engine: TriageEngine, deal: str) -> None:
    result = engine.assess(deal, is_deal=True)
    assert result.level != "prohibited"
    assert "abuse_intent" not in {f["id"] for f in result.signals["red_flags"]}
    end_user = result.signals["end_user"] or {}
    assert not str(end_user.get("label", "")).startswith("undisclosed")


@pytest.mark.parametrize(
    ("deal", "flag"),
    [
        (
            "Mall owner in Kuala Lumpur, analytics on 80 cameras; the integrator asked if the analytics can tag "
            "shoppers as Malay, Chinese or 'foreign' by appearance for a marketing report.",
            "protected_group_targeting",
        ),
        (
            "State-controlled operator in Senegal, core routing upgrade. This is the operator that carried out the "
            "2023 mobile data cuts on government orders.",
            "prior_misuse",
        ),
        (
            "Hotel Wi-Fi refresh near Valencia; the reseller refused our standard end-use and re-transfer clauses.",
            "refuses_end_use_terms",
        ),
        ("Hotel Wi-Fi refresh near Valencia; the reseller says 'we never sign vendor terms'.", "refuses_end_use_terms"),
    ],
)
def test_material_red_flags_in_minute_takers_words_escalate(engine: TriageEngine, deal: str, flag: str) -> None:
    result = engine.assess(deal, is_deal=True)
    assert flag in {f["id"] for f in result.signals["red_flags"]}
    assert level_rank(result.level) >= level_rank("escalate")


def test_a_ship_to_that_changed_is_a_red_flag_even_when_explained(engine: TriageEngine) -> None:
    result = engine.assess(
        "Calgary: ship-to for the 120 student laptops changed last week from the school's main campus to an "
        "address across town; the school says the main building is under renovation.",
        is_deal=True,
    )
    assert "changed_destination" in {f["id"] for f in result.signals["red_flags"]}
    assert result.level == "enhanced_due_diligence"


def test_asking_whether_a_customer_could_be_listed_is_not_a_listing(engine: TriageEngine) -> None:
    asked = engine.assess(
        "Piotr asked whether the customer could be on a sanctions list because the parent is registered in "
        "Cyprus. Screening clean on parent and subsidiary. 80 office laptops for their accounting team in Poznan.",
        is_deal=True,
    )
    stated = engine.assess(
        "Piotr says the customer is on a sanctions list. 80 office laptops for their accounting team in Poznan.",
        is_deal=True,
    )
    assert asked.level != "prohibited"
    assert stated.level == "prohibited"


def test_biometric_on_a_spec_sheet_that_is_the_laptops_own_sign_in_stays_low(engine: TriageEngine) -> None:
    explained = engine.assess(
        "Accounting firm, Toronto, 150 business laptops. Karen spotted 'biometric' on the spec sheet -> it's the "
        "built-in fingerprint reader / face login, each employee unlocks their own laptop.",
        is_deal=True,
    )
    access_control = engine.assess(
        "Ministry of Interior in Nairobi: biometric access terminals with fingerprint readers for 2,000 staff.",
        is_deal=True,
    )
    assert explained.level == "proceed"
    assert level_rank(access_control.level) >= level_rank("enhanced_due_diligence")


@pytest.mark.parametrize(
    "deal",
    [
        "Somos la Gendarmería Nacional de Argentina, solicitamos cotización de 40 cámaras de videovigilancia.",
        "Pedido da Polícia Militar do Estado, 200 câmeras de vigilância com reconhecimento facial.",
        "Commande pour la Direction générale de la sûreté nationale: 30 serveurs et stockage.",
        "Emniyet Genel Müdürlüğü için 50 güvenlik kamerası, Ankara.",
        "Permintaan dari Kepolisian Daerah (Polda) Jawa Barat: kamera pengawas dan server.",
        "Yêu cầu từ Bộ Công an: hệ thống camera giám sát và máy chủ.",
        "公安局 采购 视频监控 摄像头 200 台",
        "Запрос от МВД: серверы и камеры видеонаблюдения.",
    ],
)
def test_security_agencies_named_in_the_partners_language_are_the_security_sector(
    engine: TriageEngine, deal: str
) -> None:
    result = engine.assess(deal, is_deal=True)
    end_user = result.signals["end_user"] or {}
    assert end_user.get("type") == "E3"
    assert level_rank(result.level) >= level_rank("enhanced_due_diligence")  # E3 is never the lowest level


@pytest.mark.parametrize(
    "deal",
    [
        "La Cámara de Comercio de Madrid pide 40 portátiles para su oficina.",
        "Curso de inteligencia artificial en una universidad de Santiago de Chile: 30 portátiles.",
    ],
)
def test_ordinary_foreign_words_near_the_new_vocabulary_stay_ordinary(engine: TriageEngine, deal: str) -> None:
    result = engine.assess(deal, is_deal=True)
    assert (result.signals["end_user"] or {}).get("type") != "E3"
    assert result.level in ("proceed", "enhanced_due_diligence")


@pytest.mark.parametrize(
    ("deal", "flag", "floor"),
    [
        (
            "The client, an office of a state government in Mexico, wants the software to enter in the phones "
            "'de los periodistas que nos critican' (of the journalists who criticise us) to know who are their "
            "sources.",
            "abuse_intent",
            "prohibited",
        ),
        (
            "The commandant of a gendarmerie unit says the camera drones are to identify the separatist "
            "sympathisers in the villages and arrest them.",
            "abuse_intent",
            "prohibited",
        ),
        (
            "300 laptops for an agricultural company in Kenya; consign to Gulf Cargo Forwarding FZCO, Jebel Ali "
            "Free Zone, they will arrange the onward. The final place they confirm later.",
            "forwarder_destination",
            "escalate",
        ),
        (
            "Municipal cameras with vehicle counting only; the Secretaría de Seguridad asks us to unlock the module "
            "of face recognition without buying the licence, with some key or crack.",
            "safeguard_removal",
            "escalate",
        ),
        (
            "A private bank in Senegal takes 200 cameras with analytics but will NOT sign the attestation "
            "d'utilisateur final (end-user statement) nor the audit clause.",
            "refuses_end_use_terms",
            "escalate",
        ),
        (
            "Bakery in Eindhoven, 50 office laptops; the invoice will be paid not by the B.V. but by the holding "
            "in Luxembourg.",
            "third_party_payment",
            "enhanced_due_diligence",
        ),
    ],
)
def test_red_flags_in_translated_wording(engine: TriageEngine, deal: str, flag: str, floor: str) -> None:
    result = engine.assess(deal, is_deal=True)
    assert flag in {f["id"] for f in result.signals["red_flags"]}
    assert level_rank(result.level) >= level_rank(floor)


def test_refusing_to_give_the_name_is_an_undisclosed_end_user(engine: TriageEngine) -> None:
    result = engine.assess(
        "The client is an important organism in Rabat. They need 20 long-range thermal cameras. We cannot give "
        "the name, this is the condition of the client.",
        is_deal=True,
    )
    assert "end_user_refusal" in {f["id"] for f in result.signals["red_flags"]}
    assert level_rank(result.level) >= level_rank("escalate")


def test_prosecutors_and_judicial_police_are_the_security_sector(engine: TriageEngine) -> None:
    result = engine.assess(
        "The CTI (Cuerpo Técnico de Investigación) of the Fiscalía General de la Nación, Colombia, wants 15 kits "
        "to pull the information from seized phones plus workstations for the laboratory.",
        is_deal=True,
    )
    assert (result.signals["end_user"] or {}).get("type") == "E3"
    assert level_rank(result.level) >= level_rank("escalate")


@pytest.mark.parametrize(
    "deal",
    [
        "Police in Lyon want to identify the burglars on the footage and arrest them; 20 office laptops.",
        "The distributor will unlock the analytics module after the customer buys the licence; hotel in Porto.",
        "Your colleague asked if our company or our owners are in some sanctions list: no, we are not. 60 "
        "notebooks for our office in Cologne.",
        "Salam, bonjour. Textile company in Agadir, Morocco: 25 office switches and 40 printers.",
        "The Museo de Historia Militar 'Fortaleza del Cerro' in Montevideo, Uruguay, run by a private foundation, "
        "needs visitor Wi-Fi and 6 touchscreen PCs.",
    ],
)
def test_look_alikes_of_the_translated_concepts_stay_below_prohibited(engine: TriageEngine, deal: str) -> None:
    result = engine.assess(deal, is_deal=True)
    assert result.level != "prohibited"
    assert not {"abuse_intent", "safeguard_removal", "listed_party"} & {f["id"] for f in result.signals["red_flags"]}


@pytest.mark.parametrize(
    ("deal", "flag"),
    [
        (
            "Feature request from the municipal control room: after last Saturday's march we need face search across "
            "all recordings for everyone carrying opposition flags, and a list of names for the prosecutor.",
            "abuse_intent",
        ),
        (
            "Renewal of social analytics; the client wants to work out which reporters and sources are behind the "
            "leak stories so the security service can 'deal with them'.",
            "abuse_intent",
        ),
        (
            "Add-on: 300 face-analytics licences for a warehouse near Lodz with 12 cameras. Asked the customer why; "
            "no answer beyond 'future growth'.",
            "unexplained_mismatch",
        ),
        (
            "POS support renewal for a supermarket chain in Santiago, Chile; this year the invoice will be paid by "
            "the group parent in Madrid instead of the Chilean company.",
            "third_party_payment",
        ),
    ],
)
def test_after_sale_tickets_reveal_red_flags(engine: TriageEngine, deal: str, flag: str) -> None:
    result = engine.assess(deal, is_deal=True)
    assert flag in {f["id"] for f in result.signals["red_flags"]}


def test_after_sale_look_alikes_stay_ordinary(engine: TriageEngine) -> None:
    theft = engine.assess(
        "Retailer in Leeds: search the recordings for the person carrying the stolen bag; 10 more cameras.",
        is_deal=True,
    )
    sign_in = engine.assess(
        "Ticket: fingerprint sensor on 80 laptops stops enrolling after a BIOS update. Insurer in Zurich wants "
        "replacement palmrests. The sensor is only used for Windows sign-in by the laptop's own user.",
        is_deal=True,
    )
    health = engine.assess(
        "Renewal of the cloud analytics workspace for Portugal's national public health institute: weekly flu "
        "dashboards from aggregated case counts.",
        is_deal=True,
    )
    assert "abuse_intent" not in {f["id"] for f in theft.signals["red_flags"]}
    assert sign_in.level == "proceed"
    assert (health.signals["end_user"] or {}).get("type") == "E1" and health.level == "proceed"


def test_a_regional_demonym_names_its_country(engine: TriageEngine) -> None:
    result = engine.assess("4 more GPU nodes for the Bavarian state police's translation service.", is_deal=True)
    assert [c["iso2"] for c in result.signals["countries"]] == ["DE"]
    assert result.level == "enhanced_due_diligence"  # P1 to the security sector in a C0 country


def test_iso_codes_in_brackets_and_columns_name_countries_but_acronyms_do_not(engine: TriageEngine) -> None:
    def codes(text: str) -> dict[str, bool]:
        return {c["iso2"]: c["negated"] for c in engine.assess(text, is_deal=True).signals["countries"]}

    assert codes("Acct: VisoRete Srl startup (IT) | 24 GPU servers") == {"IT": False}
    assert codes("Acct: SzybkaPaczka | PL | courier handhelds") == {"PL": False}
    assert "HR" not in codes("Laptops for the people team (HR) of a bakery in Oslo")
    infrared = engine.assess("20 thermal cameras (IR) for a factory fence in Lyon, France.", is_deal=True)
    assert {c["iso2"]: c["negated"] for c in infrared.signals["countries"]}.get("IR") is True  # noted, no destination
    assert infrared.level != "prohibited"


@pytest.mark.parametrize(
    ("deal", "flag"),
    [
        ("Acct: Northern Pine Consulting (CA) | 250 laptops | Notes: wants to pay ~CAD 600k cash", "cash_payment"),
        (
            "Acct: Pine Consulting (CA) | 250 laptops | Notes: ship-to is now a self-storage unit",
            "forwarder_destination",
        ),
        (
            "Acct: Hotel Mirador SL (ES) | 140 access points | Notes: payment will come from Mirador Holdings BV "
            "(NL), not the hotel",
            "third_party_payment",
        ),
    ],
)
def test_red_flags_in_pipeline_notes(engine: TriageEngine, deal: str, flag: str) -> None:
    assert flag in {f["id"] for f in engine.assess(deal, is_deal=True).signals["red_flags"]}


def test_a_box_that_pretends_to_be_a_cell_tower_is_an_intrusion_product(engine: TriageEngine) -> None:
    result = engine.assess(
        "Acct: Gendarmerie nationale (SN) | rugged laptops + 3rd party 'mobile network test unit' (the box that "
        "pretends to be a cell tower)",
        is_deal=True,
    )
    assert (result.signals["product"] or {}).get("tier") == "P3"
    assert level_rank(result.level) >= level_rank("escalate")


def test_a_questionnaire_risk_question_answered_no_raises_nothing_but_a_yes_does(engine: TriageEngine) -> None:
    def flags(text: str) -> set[str]:
        return {f["id"] for f in engine.assess(text, is_deal=True).signals["red_flags"]}

    assert "unusual_routing" not in flags("Q1 End user: Kyoto city library. Q2: 40 PCs. Q3 Re-export: nej.")
    assert "unusual_routing" in flags(
        "Q2 End user: a retail chain. Q3: 120 laptops. Q6 Will they be re-exported? Possible."
    )
    charity = engine.assess(
        "Q3 End user: a bereavement charity, Manchester, UK. Q4: 25 laptops. Q5 Will any police "
        "force operate or receive the equipment? No. Q6 Police use? Not for police use.",
        is_deal=True,
    )
    assert (charity.signals["end_user"] or {}).get("type") != "E3"
    checked = (
        "Q2 End user: Alpenbio AG, Basel. Q3: GPU cluster. Q8 Is any party, owner or bank on a sanctions or "
        "denied-party list? We checked the company and its owners against SDN, EU and UK lists - {answer}."
    )
    assert engine.assess(checked.format(answer="no, all clear"), is_deal=True).level != "prohibited"
    assert engine.assess(checked.format(answer="the parent is on the SDN list"), is_deal=True).level == "prohibited"


@pytest.mark.parametrize(
    ("deal", "flag"),
    [
        (
            "P2 Usuario final: Parque Logístico S.A.S., Colombia. P3 Productos: 30 cámaras ALPR. P6 ¿Firmará la "
            "declaración de usuario final de Northwind? No - sus clientes nunca firman documentos de fabricantes.",
            "refuses_end_use_terms",
        ),
        ("Q2 End user: hotel group, Panama. Q6 Payment terms: cash, USD, at pick-up.", "cash_payment"),
        ("Q2 End user: hotel group, Panama. Q7 Ship-to: changed twice this week.", "changed_destination"),
    ],
)
def test_red_flags_in_questionnaire_answers(engine: TriageEngine, deal: str, flag: str) -> None:
    assert flag in {f["id"] for f in engine.assess(deal, is_deal=True).signals["red_flags"]}


def test_without_in_the_partners_language_negates(engine: TriageEngine) -> None:
    result = engine.assess(
        "Polícia Municipal de Braga: 60 câmaras corporais, gravação manual; sem reconhecimento facial.", is_deal=True
    )
    assert "reconhecimento" not in str((result.signals["product"] or {}).get("evidence"))  # "sem": without
    assert [c["iso2"] for c in result.signals["countries"]] == ["PT"]


def test_a_chat_question_answered_no_on_the_next_turn_raises_nothing(engine: TriageEngine) -> None:
    denied = engine.assess(
        "Visitor: state-owned telco in Ghana, 8 core routers\nAgent: Any lawful intercept or DPI modules in the "
        "config?\nVisitor: no, pure routing capacity upgrade",
        is_deal=True,
    )
    refused = engine.assess(
        "Visitor: 200 cameras with analytics for a bank in Dakar\nAgent: Will they sign our end-user statement?\n"
        "Visitor: no, they never sign those",
        is_deal=True,
    )
    confirmed = engine.assess(
        "Visitor: state-owned telco in Ghana, 8 core routers\nAgent: Any lawful intercept modules?\n"
        "Visitor: yes, the LI gateway too",
        is_deal=True,
    )
    assert (denied.signals["product"] or {}).get("tier") != "P3"
    assert "refuses_end_use_terms" in {f["id"] for f in refused.signals["red_flags"]}
    assert (confirmed.signals["product"] or {}).get("tier") == "P3"


def test_a_visitor_who_will_revert_later_on_the_end_user_has_not_named_it(engine: TriageEngine) -> None:
    result = engine.assess(
        "Visitor: 40 long-range thermal cameras, Lagos\nAgent: Who is the end user?\nVisitor: will revert later",
        is_deal=True,
    )
    assert (result.signals["end_user"] or {}).get("type") == "E3"  # undisclosed counts as the security sector
    assert level_rank(result.level) >= level_rank("escalate")


def test_a_reseller_registered_this_week_is_a_new_partner(engine: TriageEngine) -> None:
    result = engine.assess("We just registered as a reseller this week; 60 laptops for a private school in Dakar.")
    assert "new_partner" in {u["id"] for u in result.signals["uses"]}


def test_a_state_or_province_wins_over_a_smaller_foreign_town_of_the_same_name(engine: TriageEngine) -> None:
    # 'Florida' is the state, not the Cuban town (an embargoed country): a shop there is no sanctions case.
    florida = engine.assess("Retail chain in Florida, 200 laptops and 40 POS terminals for the stores.", is_deal=True)
    ontario = engine.assess("Ontario school board, 1,200 student laptops with charging carts.", is_deal=True)
    assert [c["iso2"] for c in florida.signals["countries"]] == ["US"]
    assert florida.level == "proceed"
    assert [c["iso2"] for c in ontario.signals["countries"]] == ["CA"]
    # ... and beats a small town of its own country whose name is also a common word
    oregon = engine.assess("Oregon school district, 200 student laptops, summer delivery.", is_deal=True)
    assert [c["iso2"] for c in oregon.signals["countries"]] == ["US"]
    assert oregon.level == "proceed"
    # a large foreign city keeps its name: Gaza is not the Mozambican province
    gaza = engine.assess("A bakery in Gaza wants 3 laptops.", is_deal=True)
    assert [c["iso2"] for c in gaza.signals["countries"]] == ["PS"]


def test_country_abbreviations_typed_in_lower_case_count(engine: TriageEngine) -> None:
    result = engine.assess("police benevolent charity in the uk, 20 laptops + 1 MFP for the office", is_deal=True)
    assert [c["iso2"] for c in result.signals["countries"]] == ["GB"]
    assert result.level == "proceed"


def test_a_banned_use_in_a_deal_that_names_no_country_is_escalated(engine: TriageEngine) -> None:
    # In the EU this is prohibited; not knowing where it runs must not make it an ordinary deal.
    unstated = engine.assess(
        "School authority wants classroom cameras with software that rates each pupil's attention and mood.",
        is_deal=True,
    )
    assert unstated.level == "escalate"
    assert unstated.rule == "escalate-p4-country-unstated"
    assert "country" in {m.fact for m in unstated.missing}
    in_the_eu = engine.assess(
        "School authority in Lombardy wants classroom cameras with software that rates each pupil's attention "
        "and mood.",
        is_deal=True,
    )
    assert in_the_eu.level == "prohibited"


@pytest.mark.parametrize(
    "deal",
    [
        "Customer name sounds a little bit Russian, so I checked: Finnish family company in Tampere, no Russia "
        "connection, screening negative. 35 POS terminals for the shops.",
        "The customer asked whether the sanctions on Belarus could touch them; screening came back clean. Furniture "
        "maker in Kaunas, Lithuania, 60 desktop PCs.",
        "Accounting firm in Tallinn, 90 PCs. No listing, no Russian owners, screened this week.",
    ],
)
def test_a_sanctions_question_answered_clean_stays_ordinary(engine: TriageEngine, deal: str) -> None:
    result = engine.assess(deal, is_deal=True)
    assert result.level == "proceed", result.signals
    assert all(c["negated"] for c in result.signals["countries"] if c["iso2"] in ("RU", "BY"))


def test_an_embargoed_country_denied_without_a_clean_check_is_still_noted(engine: TriageEngine) -> None:
    result = engine.assess("Accounting firm in Tallinn, 90 PCs. They say they have no Russian owners.", is_deal=True)
    assert "sanctioned_destination_named" in {f["id"] for f in result.signals["red_flags"]}
    assert result.level == "enhanced_due_diligence"
    shipped = engine.assess("Accounting firm, 90 PCs, to be shipped on to Minsk, Belarus. Screening clean.")
    assert shipped.level == "prohibited"  # a clean screening never clears the destination itself


# Red flags in the wording of this round's writers, one concept per item (each was a missed deal's concept).
OUTSIDE_WORDING = [
    # tender excerpts and chat
    (
        "Retailer in Chile, 600 cameras licensed for people counting. Partner asks if we can switch on face "
        "recognition on all of them without buying the licence and keep it off the licence report.",
        "safeguard_removal",
    ),
    (
        "Private clinic group in Lisbon, 80 laptops. The invoice will be paid by a charitable foundation that "
        "funds the refurbishment.",
        "third_party_payment",
    ),
    (
        "Nigeria: state-backed ISP wants 20 firewalls with URL filtering. The same ISP blocked twitter "
        "nationwide in 2021 on govt order.",
        "prior_misuse",
    ),
    (
        "Tender Lot 1, national security committee: phone-location analytics to identify and track the "
        "organisers and participants of last month's opposition protests.",
        "abuse_intent",
    ),
    # trade-show lead cards
    (
        "MoI official, keen on the face search demo. Asked whether it can go through last month's footage of "
        "the opposition rally and list everyone who attended so they can be 'visited'.",
        "abuse_intent",
    ),
    (
        "Integrator from Bogota: thermal cameras for pipeline stations. When I mentioned the end-user statement "
        "he said flat out they never sign those.",
        "refuses_end_use_terms",
    ),
    # account plans and contract redlines
    (
        "Account: interior ministry. 500 cameras with face analytics. In the last meeting: 'we need to pick out "
        "the protest organisers and the journalists filming them, then visit them at home.'",
        "abuse_intent",
    ),
    (
        'Kampala city security unit: social-media analytics. The official said the aim is "to find homosexuals '
        'organising online so they can be charged".',
        "abuse_intent",
    ),
    (
        "State ISP, Chad: the contract schedule requires our routers to be configured so mobile data can be cut "
        "in the northern provinces for the duration of the election period.",
        "abuse_intent",
    ),
    (
        "Supermarket chain, Chile: 300 cameras with face analytics. The integrator's counsel struck Clause 14 "
        "(human rights and end-use) and refuses to pass the end-user statement down to the retailer.",
        "refuses_end_use_terms",
    ),
    (
        "Water utility, Peru: the customer asks for access to the licence-key generator so it can switch on "
        "face matching on cameras licensed for motion detection only.",
        "safeguard_removal",
    ),
    (
        "Ministry of Information (press office): 40 laptops. UN special rapporteurs reported that the ministry "
        "ordered the blocking of independent news sites around the last election.",
        "prior_misuse",
    ),
    ("Bakery chain: 4 GPU servers. Shipment to go Panama -> Curaçao -> Colón.", "unusual_routing"),
    (
        "Dental group, 200 PCs. They asked that the invoice be paid by Dentex Advisory BV, an outside IT "
        "consultancy not in their group.",
        "third_party_payment",
    ),
    # credit control and logistics
    (
        "Compliance confirmed the buyer's owner appears on the UN Security Council consolidated list. Order: 25 "
        "laptops for a trading company in Nairobi.",
        "listed_party",
    ),
    (
        "Customer in Verona says it's for a small warehouse with six staff, but the order is 350 cameras with "
        "face-match licences.",
        "product_mismatch",
    ),
    ("Travel agency in Lagos ordering 8 GPU servers and offering to pay cash at pickup.", "product_mismatch"),
    (
        "Customer in Singapore asks us to peel the labels and serial stickers off 40 firewalls and repack them in "
        "plain brown cartons.",
        "unusual_routing",
    ),
    (
        "Consignee changed after pickup, and a firm in Hong Kong will pay the invoice. 3 pallets of laptops.",
        "third_party_payment",
    ),
    (
        "State mobile operator asks for a feature to cut mobile data in three opposition-leaning regions on "
        "election day. Order: core routers.",
        "abuse_intent",
    ),
    (
        "Customer said the 10 camera drones are to follow the student protest leaders and identify them for arrest.",
        "abuse_intent",
    ),
    (
        "Municipal police of a city in Hungary want 150 body cams. This force was in the press, and in a court "
        "case, for using its camera footage to identify journalists at a 2023 demonstration.",
        "prior_misuse",
    ),
]


@pytest.mark.parametrize(("deal", "flag"), OUTSIDE_WORDING)
def test_red_flags_in_outside_wording(engine: TriageEngine, deal: str, flag: str) -> None:
    assert flag in {f["id"] for f in engine.assess(deal, is_deal=True).signals["red_flags"]}


# Levels that turn on a reading the same writers' wording needed: a report of the past is prior misuse (escalate),
# not stated intent (prohibited); a quoted negation and a routine customs hold leave an ordinary deal ordinary.
OUTSIDE_WORDING_LEVELS = [
    pytest.param(
        "Municipal police of a city in Hungary want 150 body cams. This force was in the press, and in a court "
        "case, for using its camera footage to identify journalists at a 2023 demonstration.",
        "escalate",
        id="press-and-court-case-about-past-use-is-prior-misuse",
    ),
    pytest.param(
        "15 camera drones for the riot police in Kenya. The same unit was named in a 2024 rights-group report for "
        "filming protest marches and then arresting the organisers.",
        "escalate",
        id="rights-group-report-of-past-arrests-is-prior-misuse",
    ),
    pytest.param(
        "Garden centre chain, 9 stores around Ontario, Canada. 120 basic IP cameras and an NVR, no analytics "
        "licence. Just stockroom and till evidence, 'not for police use or anything like that'.",
        "proceed",
        id="quoted-negation-is-left-out-of-the-clause-compared-by-meaning",
    ),
    pytest.param(
        "Hold at the bonded warehouse in Johannesburg until the importer settles VAT. Goods: 80 office switches and "
        "300 Wi-Fi APs for a private university campus in Pretoria, South Africa.",
        "proceed",
        id="bonded-warehouse-hold-for-vat-is-routine",
    ),
]


@pytest.mark.parametrize(("deal", "level"), OUTSIDE_WORDING_LEVELS)
def test_levels_in_outside_wording(engine: TriageEngine, deal: str, level: str) -> None:
    result = engine.assess(deal, is_deal=True)
    assert result.level == level, result.signals


def test_a_national_security_committee_is_the_security_sector(engine: TriageEngine) -> None:
    result = engine.assess("Contracting authority: the national security committee. 20 analyst workstations.")
    assert (result.signals["end_user"] or {}).get("type") == "E3"
    # 'national' alone ties no country to the deal: the Dutch national police are in the Netherlands
    dutch = engine.assess("Dutch national police want new firewalls with web filtering for their HQ.", is_deal=True)
    assert [c["iso2"] for c in dutch.signals["countries"] if not c["negated"]] == ["NL"]


@pytest.mark.parametrize(
    "deal",
    [
        "Parcel delivery co in Spain wants 500 rugged tablets for drivers' proof-of-delivery. Fleet tracking is "
        "their existing 3rd party telematics, not in our quote.",
        "Supermarket chain, Spain. 220 fixed dome cameras plus one recording server for stock rooms and loading "
        "docks. Basic models.",
        "Cold-chain warehouse in Rotterdam, NL: handheld scanners. Pallets and roll cages, via barcode and RFID tags.",
    ],
)
def test_ordinary_logistics_and_plain_cameras_are_no_surveillance_products(engine: TriageEngine, deal: str) -> None:
    product = engine.assess(deal, is_deal=True).signals["product"] or {}
    assert product.get("tier") not in ("P2", "P3", "P4"), product


def test_face_and_fingerprint_sign_in_whose_templates_stay_on_the_laptop_stays_low(engine: TriageEngine) -> None:
    own = engine.assess(
        "Toronto law firm, 150 ultrabooks with the IR face-login camera and fingerprint reader. Each lawyer unlocks "
        "their own machine; templates stay in the laptop's secure chip.",
        is_deal=True,
    )
    assert own.level == "proceed"
    # the same words about street cameras are no device sign-in
    street = engine.assess(
        "Police in Lyon want face recognition on 300 street cameras; the templates stay on the camera devices.",
        is_deal=True,
    )
    assert level_rank(street.level) >= level_rank("enhanced_due_diligence")
    assert (street.signals["product"] or {}).get("tier") in ("P2", "P3", "P4")


def test_two_chat_questions_on_one_line_answered_no_raise_nothing(engine: TriageEngine) -> None:
    result = engine.assess(
        "Visitor: hotel group in Seville, 60 cameras + recorder for lobbies\nAgent: Any analytics licences? Face or "
        "plate recognition?\nVisitor: no, plain recording, the hotel's own security staff",
        is_deal=True,
    )
    assert result.level == "proceed", result.signals
    kept = engine.assess(
        "Visitor: hotel group in Seville, 60 cameras\nAgent: Any analytics licences? Face or plate recognition?\n"
        "Visitor: yes, plate recognition at the garage gate",
        is_deal=True,
    )
    assert level_rank(kept.level) >= level_rank("enhanced_due_diligence")


def test_a_business_named_by_its_trade_is_a_private_end_user(engine: TriageEngine) -> None:
    result = engine.assess("Wine exporter in Mendoza, Argentina: 35 desktops plus a NAS for backups.", is_deal=True)
    assert (result.signals["end_user"] or {}).get("type") == "E0"
    assert result.level == "proceed"


def test_a_currency_is_no_country(engine: TriageEngine) -> None:
    result = engine.assess("Interior ministry in Jordan: 500 cameras with face analytics, ~US$6m.", is_deal=True)
    assert "US" not in {c["iso2"] for c in result.signals["countries"]}


def test_a_cue_never_starts_inside_another_word(engine: TriageEngine) -> None:
    # 'usine' (a factory, in French) is inside 'business'; 'mall' inside 'smallest'; 'venue' inside 'Revenue'
    signals = engine.extractor.read_patterns("The smallest business relationships of the Revenue team.")
    assert signals.end_user is None
    # a stem at the start of a word still counts ('retailers')
    assert (engine.extractor.read_patterns("Two retailers in Lyon.").end_user or None) is not None


def test_a_shutdown_capability_without_a_political_purpose_is_not_intent(engine: TriageEngine) -> None:
    result = engine.assess(
        "State ISP, Ghana: core routers; mobile data can be cut per cell site for scheduled maintenance windows.",
        is_deal=True,
    )
    assert "abuse_intent" not in {f["id"] for f in result.signals["red_flags"]}


def test_a_national_force_named_in_its_own_language_names_its_country(engine: TriageEngine) -> None:
    result = engine.assess("An Garda Síochána ICT section: small GPU cluster for speech-to-text.", is_deal=True)
    assert (result.signals["end_user"] or {}).get("type") == "E3"
    assert [c["iso2"] for c in result.signals["countries"]] == ["IE"]
    assert result.level == "enhanced_due_diligence"  # P1 for the security sector in a C0 country (RAS 6.3)


def test_intent_against_protected_people_in_words_no_cue_knows_is_escalated_by_meaning(engine: TriageEngine) -> None:
    # No cue of the policy says "pick out ... visit them at home"; the meaning-based flag still escalates it.
    risky = engine.assess(
        "Interior ministry, 500 cameras. The customer said: we need to know where the reporters covering the "
        "rallies live, so our men can have a word with them.",
        is_deal=True,
    )
    assert level_rank(risky.level) >= level_rank("escalate")
    assert "harm_to_protected_people" in {f["id"] for f in risky.signals["red_flags"]}
    # people the guidance protects, named in an ordinary deal, raise nothing
    newsroom = engine.assess(
        "Journalists at the regional newspaper in Porto need 30 laptops and a newsroom Wi-Fi upgrade.", is_deal=True
    )
    assert newsroom.level == "proceed", newsroom.signals


def test_an_embargoed_city_inside_a_quoted_business_name_is_no_destination(engine: TriageEngine) -> None:
    result = engine.assess(
        "'Havana Nights' restaurant group in Madrid: 35 POS terminals and back-office PCs for its restaurants.",
        is_deal=True,
    )
    assert result.level != "prohibited"
    assert [c["iso2"] for c in result.signals["countries"] if not c["negated"]] == ["ES"]
    # a city the goods go to, even in quotes, is still the destination
    assert engine.assess("Ship the 35 POS terminals to 'Havana' please.", is_deal=True).level == "prohibited"


@pytest.mark.parametrize(
    "deal",
    [
        "Our buyer's parent appears in the EU Financial Sanctions Files. 40 laptops for its office in Riga.",
        "The distributor's director was designated under GLOMAG last year. 12 PCs for their office in Milan.",
        "Screening shows the customer was added to the Military End-User List. Core routers for Almaty.",
    ],
)
def test_sanctions_lists_and_programmes_named_by_their_own_names_prohibit(engine: TriageEngine, deal: str) -> None:
    assert engine.assess(deal, is_deal=True).level == "prohibited"
