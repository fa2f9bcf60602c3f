"""`assistant parties ...` as a user runs it: exit codes, one-line refusals, what is in force."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import run_cli
from .party_files import write_ftm, write_ofac


def test_load_list_and_search_through_the_cli(cli_home: Path, tmp_path: Path) -> None:
    empty = run_cli("parties", "list", home=cli_home)
    assert empty.returncode == 0, empty.stderr
    assert "no list loaded" in empty.stdout

    files = [str(p) for p in write_ofac(tmp_path / "ofac")]
    loaded = run_cli("parties", "load", *files, "--by", "carla", home=cli_home)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("loaded OFAC SDN: 5 parties")

    shown = run_cli("parties", "list", "--json", home=cli_home)
    [info] = json.loads(shown.stdout)
    assert (info["list"], info["entries"], info["loaded_by"]) == ("OFAC SDN", 5, "carla")

    found = run_cli("parties", "search", "Gena Sever", "--country", "Russia", "--json", home=cli_home)
    assert found.returncode == 0, found.stderr
    [hit] = json.loads(found.stdout)
    assert hit["party"] == "MERZLYAKOV, Gennady Pavlovich"
    assert hit["list_version"] == info["version"]

    text = run_cli("parties", "search", "Glacier Wren", home=cli_home)
    assert "GLACIER WREN" in text.stdout and "version " + info["version"] in text.stdout


def test_refusals_are_one_line_with_exit_code_2(cli_home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "sdn.csv"
    broken.write_text('7001,"TOO SHORT"\r\n', encoding="utf-8")
    for args in (
        ("parties", "load", str(broken)),
        ("parties", "load", str(tmp_path / "missing.csv")),
        ("parties", "search", "Glacier Wren", "--country", "Atlantis"),
        ("parties", "remove", "No Such List", "--by", "carla"),
    ):
        result = run_cli(*args, home=cli_home)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert "line 1" in run_cli("parties", "load", str(broken), home=cli_home).stderr


def test_a_reload_under_another_name_keeps_both_lists(cli_home: Path, tmp_path: Path) -> None:
    assert (
        run_cli("parties", "load", str(write_ftm(tmp_path / "os.json")), "--list", "OS", home=cli_home).returncode == 0
    )
    assert run_cli("parties", "load", *map(str, write_ofac(tmp_path / "o")), home=cli_home).returncode == 0
    names = [i["list"] for i in json.loads(run_cli("parties", "list", "--json", home=cli_home).stdout)]
    assert names == ["OFAC SDN", "OS"]
    removed = run_cli("parties", "remove", "OS", "--by", "carla", home=cli_home)
    assert removed.returncode == 0, removed.stderr
    names = [i["list"] for i in json.loads(run_cli("parties", "list", "--json", home=cli_home).stdout)]
    assert names == ["OFAC SDN"]
