"""Loaded lists in the case database (SQLite and PostgreSQL): screening, re-loads, refusals, cases, partners."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ListFormatError
from assistant.identity import User
from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService, create_service

from .conftest import make_settings
from .party_files import SDN_ROWS, write_ftm, write_ofac

COMPLIANCE = User(id="carla", role="compliance", org="internal")
SALES = User(id="sam", role="sales", org="internal")
PARTNER = User(id="pat", role="partner", org="Acme Reseller")


@pytest.fixture
def service(tmp_path: Path, db_url: str, embedder: Embedder) -> AssistantService:
    return create_service(make_settings(tmp_path / "home", database_url=db_url), embedder=embedder)


@pytest.fixture
def loaded(service: AssistantService, tmp_path: Path) -> AssistantService:
    service.load_party_list(write_ofac(tmp_path / "ofac"), COMPLIANCE)
    return service


def _parties(service: AssistantService, text: str, countries: tuple[str, ...] = ()) -> set[str]:
    return {hit.party for hit in service.party_screener().screen_text(text, countries=countries)}


def test_a_loaded_list_is_in_force_with_its_facts(loaded: AssistantService) -> None:
    [info] = loaded.party_lists.lists()
    assert (info.name, info.format, info.entries) == ("OFAC SDN", "ofac-sdn", 5)
    assert info.names >= 11
    assert info.source_files == ["sdn.csv", "alt.csv", "add.csv"]
    assert info.loaded_by == "carla"
    assert info.loaded_at.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "party"),
    [
        ("Quote for Gennadiy Merzlyakov, 20 servers", "MERZLYAKOV, Gennady Pavlovich"),
        ("Геннадий Мерзляков просит счёт", "MERZLYAKOV, Gennady Pavlovich"),  # Cyrillic, patronymic dropped
        ("signed by G. P. Merzlyakov", "MERZLYAKOV, Gennady Pavlovich"),  # initials
        ("the buyer is Tulpar Crystal Systems", "TULPAR KRISTALL SISTEMY OOO"),  # legal form dropped
        ("ship to OOO Тулпар Кристалл Системы in Kazan", "TULPAR KRISTALL SISTEMY OOO"),
        ("end user Soraya Bahrami Navard", "BAHRAMI NAVARD, Soraya"),
        ("end user ثريا بهرامي نورد", "BAHRAMI NAVARD, Soraya"),  # Arabic script against the listing
        ("cargo goes on the Glacier Wren next week", "GLACIER WREN"),  # a vessel
        ("invoice Falconbrae Tradng FZE", "FALCONBRAE TRADING FZE"),  # typo
    ],
)
def test_listed_parties_are_found_in_their_variants(loaded: AssistantService, text: str, party: str) -> None:
    assert _parties(loaded, text) == {party}


@pytest.mark.parametrize(
    "text",
    [
        "Gennady from accounts wants two laptops",  # a first name alone
        "Mr Merzlyakov called about the office printers",  # a surname alone
        "We met Soraya at the trade fair",
        "Crystal Systems and Trading FZE are both resellers",  # generic company words
        "Tulpar is a horse in Kazakh legends",  # one word of a longer company name
        "the buyer is Tulpar Kristall Bakery",  # another business that shares the first words
    ],
)
def test_false_positive_guards(loaded: AssistantService, text: str) -> None:
    assert _parties(loaded, text) == set()


def test_a_weak_alias_counts_only_with_a_supporting_country(loaded: AssistantService) -> None:
    text = "our contact Gena Sever wants pricing"
    assert _parties(loaded, text) == set()
    assert _parties(loaded, text, ("DE",)) == set()
    [hit] = loaded.party_screener().screen_text(text, countries=("RU",))
    assert hit.alias_strength == "weak"
    assert "weak alias 'GENA SEVER'" in hit.explanation
    assert "RU is a country of the listing" in hit.explanation


def test_the_country_supports_or_weighs_against_a_match(loaded: AssistantService) -> None:
    screener = loaded.party_screener()
    [plain] = screener.screen_names(["Tulpar Crystal Systems"])
    [supported] = screener.screen_names(["Tulpar Crystal Systems"], countries=("RU",))
    [contradicted] = screener.screen_names(["Tulpar Crystal Systems"], countries=("BR",))
    assert contradicted.score < plain.score <= supported.score
    assert "the listing names RU, the deal BR" in contradicted.explanation


def test_a_hit_names_list_version_and_load_time(loaded: AssistantService) -> None:
    [info] = loaded.party_lists.lists()
    [hit] = loaded.party_screener().screen_names(["Glacier Wren"])
    assert hit.list_name.startswith("OFAC SDN")
    assert hit.list_version == info.version
    assert hit.loaded_at.startswith(info.loaded_at.date().isoformat())
    assert hit.to_dict()["list_version"] == info.version


def test_reloading_replaces_the_list_whole(loaded: AssistantService, tmp_path: Path) -> None:
    [before] = loaded.party_lists.lists()
    renamed = [row if row[0] != "7004" else [row[0], "GLACIER PETREL", *row[2:]] for row in SDN_ROWS]
    loaded.load_party_list(write_ofac(tmp_path / "ofac-2", renamed), COMPLIANCE)
    [after] = loaded.party_lists.lists()
    assert after.version != before.version
    assert after.entries == before.entries
    assert _parties(loaded, "cargo on the Glacier Petrel") == {"GLACIER PETREL"}
    assert _parties(loaded, "cargo on the Glacier Wren") == set()


def test_a_malformed_file_changes_nothing(loaded: AssistantService, tmp_path: Path) -> None:
    [before] = loaded.party_lists.lists()
    files = write_ofac(tmp_path / "broken")
    files[0].write_text(files[0].read_text(encoding="utf-8") + '7010,"HALF A ROW"\r\n', encoding="utf-8")
    with pytest.raises(ListFormatError, match=r"sdn\.csv, line"):
        loaded.load_party_list(files, COMPLIANCE)
    assert loaded.party_lists.lists() == [before]
    assert _parties(loaded, "cargo on the Glacier Wren") == {"GLACIER WREN"}


def test_lists_of_different_names_are_in_force_together(loaded: AssistantService, tmp_path: Path) -> None:
    loaded.load_party_list([write_ftm(tmp_path / "os.json")], COMPLIANCE, "OpenSanctions sample")
    assert [info.name for info in loaded.party_lists.lists()] == ["OFAC SDN", "OpenSanctions sample"]
    assert _parties(loaded, "deal with Халвард Ильварссон") == {"Halvard Ilvarsson"}
    assert _parties(loaded, "Glacier Wren") == {"GLACIER WREN"}


def test_only_compliance_loads_lists(service: AssistantService, tmp_path: Path) -> None:
    from assistant.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        service.load_party_list(write_ofac(tmp_path / "ofac"), SALES)


def test_without_a_loaded_list_the_shipped_sample_screens(service: AssistantService) -> None:
    assert service.party_lists.lists() == []
    assert _parties(service, "Quote for Kestrelmark Dynamics") == {"Kestrelmark Dynamics LLC"}
    [in_force] = service.party_screener().lists_in_force()
    assert in_force["list"] == "restricted_parties.csv"


def test_a_case_records_the_list_version_and_a_partner_sees_none_of_it(loaded: AssistantService) -> None:
    [info] = loaded.party_lists.lists()
    deal = "Reseller order: 40 IP cameras for Tulpar Crystal Systems in Kazan, Russia."
    staff = loaded.screen(deal, SALES)
    assert staff.level == "prohibited"
    [hit] = staff.signals["restricted_parties"]
    assert hit["list_version"] == info.version and hit["loaded_at"]
    assert staff.signals["screened_against"][0]["version"] == info.version
    assert any(info.version in reason.text for reason in staff.reasons)
    case, _ = loaded.case_for(staff.case_ref, COMPLIANCE)
    assert case.facts["signals"]["restricted_parties"][0]["list_version"] == info.version

    partner = loaded.screen(deal, PARTNER)
    assert partner.level == "prohibited"
    assert partner.signals == {}
    shown = " ".join(r.text for r in partner.reasons)
    for detail in ("OFAC", "TULPAR", info.version, "score"):
        assert detail not in shown
    partner_case = loaded.case_view(partner.case_ref, PARTNER).to_dict(PARTNER)["case"]
    assert "signals" not in partner_case["facts"]
    assert info.version not in str(partner_case)
