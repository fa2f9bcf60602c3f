"""Reading restricted-party lists in their published formats: OFAC SDN files, OpenSanctions, our CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import BadInput, ListFormatError
from assistant.risk.list_formats import read_list_files

from .party_files import ADD_ROWS, ALT_ROWS, write_ftm, write_ofac, write_project_csv


def _by_key(parsed):
    return {entry.key: entry for entry in parsed.entries}


def test_ofac_files_become_one_list_with_aliases_weak_aliases_and_countries(tmp_path: Path) -> None:
    parsed = read_list_files(write_ofac(tmp_path))
    assert parsed.format == "ofac-sdn"
    assert parsed.default_name == "OFAC SDN"
    entries = _by_key(parsed)
    assert len(entries) == 5
    person = entries["7001"]
    assert person.kind == "individual"
    labels = {n.label: n.strength for n in person.names}
    assert labels["MERZLYAKOV, Gennady Pavlovich"] == "primary"
    assert labels["Мерзляков Геннадий Павлович"] == "strong"
    assert labels["GENA SEVER"] == "weak"  # OFAC writes weak a.k.a.s quoted in the remarks
    assert person.countries == ("RU",)
    company = entries["7002"]
    assert company.programs == "RUSSIA-EO14024, CYBER2"
    assert company.countries == ("RU",)  # from add.csv
    vessel = entries["7004"]
    assert (vessel.kind, vessel.countries) == ("vessel", ("IR",))  # the flag
    assert len(parsed.digest) == 16


def test_the_format_is_read_from_the_content_not_the_file_name(tmp_path: Path) -> None:
    files = write_ofac(tmp_path)
    renamed = []
    for number, path in enumerate(files):
        target = path.with_name(f"download-{number}.txt")
        path.rename(target)
        renamed.append(target)
    assert read_list_files(list(reversed(renamed))).format == "ofac-sdn"
    export = write_ftm(tmp_path / "entities.csv")
    assert read_list_files([export]).format == "ftm"


def test_opensanctions_export_keeps_parties_and_skips_other_entities(tmp_path: Path) -> None:
    parsed = read_list_files([write_ftm(tmp_path / "entities.ftm.json")])
    assert parsed.format == "ftm"
    assert parsed.published == "2026-11-21"  # the newest last_seen: when the export was made
    assert parsed.skipped == 1  # the Address entity
    entries = _by_key(parsed)
    person = entries["os-fict-ilvarsson"]
    assert {n.label: n.strength for n in person.names}["The Skipper"] == "weak"
    assert person.countries == ("IS",)
    assert person.listed_on == "2023-05-02"
    assert entries["os-fict-qasr"].programs == "eu_fsf"


def test_project_csv_is_read(tmp_path: Path) -> None:
    parsed = read_list_files([write_project_csv(tmp_path / "denied.csv")])
    [entry] = parsed.entries
    assert parsed.format == "project-csv"
    assert entry.programs == "Internal Denied List"
    assert [n.label for n in entry.names] == ["Borsavik Relay Systems AB", "Borsavik Relay", "Борсавик Релей"]


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("sdn.csv", '7001,"ONLY TWO FIELDS"\r\n', "line 1"),
        ("sdn.csv", "", "line 1: the file is empty"),
        ("entities.json", '{"id": "x", "schema": "Person", "properties": {"name": ["A B"]}}\n{not json\n', "line 2"),
        ("entities.json", '{"id": "x", "schema": "Person", "properties": {"name": "A B"}}\n', "line 1"),
        ("list.txt", "this is not a list\n", "line 1"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_file_and_line(
    tmp_path: Path, name: str, content: str, where: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ListFormatError) as caught:
        read_list_files([path])
    assert str(path) in str(caught.value)
    assert where in str(caught.value)
    assert isinstance(caught.value, BadInput)  # the CLI's exit code 2


def test_ofac_alias_of_an_unknown_entry_is_refused(tmp_path: Path) -> None:
    files = write_ofac(tmp_path)
    files[1].write_text('9999,8001,"aka","NOBODY",-0- \r\n', encoding="utf-8")
    with pytest.raises(ListFormatError, match=r"alt\.csv, line 1: ent_num 9999"):
        read_list_files(files)


def test_several_files_form_one_list_only_for_ofac(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="one at a time"):
        read_list_files([write_ftm(tmp_path / "a.json"), write_project_csv(tmp_path / "b.csv")])
    alt_only = write_ofac(tmp_path / "ofac")[1]
    with pytest.raises(ListFormatError, match=r"exactly one sdn\.csv"):
        read_list_files([alt_only])


def test_fixture_rows_are_referenced_by_the_sdn_rows() -> None:
    # A guard on the fixture itself: every alias and address belongs to a listed entry.
    listed = {"7001", "7002", "7003", "7004", "7005"}
    assert {row[0] for row in ALT_ROWS + ADD_ROWS} <= listed


def test_the_measurement_fixture_round_trips_through_the_ofac_reader(tmp_path: Path) -> None:
    from assistant.evals.metrics import load_jsonl
    from assistant.evals.parties import write_ofac_files

    parties = load_jsonl(Path(__file__).resolve().parent.parent / "evals" / "parties_fixture.jsonl")
    files, ids = write_ofac_files(parties, tmp_path)
    parsed = read_list_files(files)
    assert len(parsed.entries) == len(parties) == len(ids)
    weak = {n.label for e in parsed.entries for n in e.names if n.strength == "weak"}
    assert weak == {w for p in parties for w in p.get("weak_aliases") or []}
