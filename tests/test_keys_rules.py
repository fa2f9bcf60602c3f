"""Which organisation an API key's role may belong to (review finding F9), in the record layer and the CLI.

Staff (sales, compliance, admin) all share the organisation `internal`, so a partner key there would list every
staff case, and a staff key for a partner organisation would hand that partner internal guidance. `slack:<team>`
organisations are given by the Slack app to Slack Connect users; a key for one would read that team's cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import cli
from assistant.cases import CaseStore
from assistant.errors import BadInput
from assistant.records.api_keys import ApiKeys


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[ApiKeys]:
    with CaseStore.from_url(f"sqlite:///{tmp_path / 'cases.db'}") as store:
        yield ApiKeys(store.engine)


@pytest.mark.parametrize(
    ("org", "role"),
    [
        ("internal", "partner"),
        (" Internal ", "partner"),
        ("acme-reseller", "sales"),
        ("acme-reseller", "compliance"),
        ("acme-reseller", "admin"),
        ("INTERNAL", "admin"),
        ("slack:T0123ABCD", "partner"),
        ("slack:T0123ABCD", "sales"),
        ("Slack:T0123ABCD", "partner"),
    ],
)
def test_keys_that_cross_staff_and_partner_organisations_are_refused(keys: ApiKeys, org: str, role: str) -> None:
    with pytest.raises(BadInput) as refused:
        keys.create(org, role, "someone")
    assert "\n" not in str(refused.value)
    assert keys.list() == []


@pytest.mark.parametrize(
    ("org", "role"),
    [("internal", "sales"), ("internal", "compliance"), ("internal", "admin"), ("acme-reseller", "partner")],
)
def test_staff_keys_for_internal_and_partner_keys_for_partners_are_issued(keys: ApiKeys, org: str, role: str) -> None:
    record, secret = keys.create(org, role, "someone")
    assert (record.org, record.role) == (org, role)
    assert keys.authenticate(secret) == record


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "")
    return tmp_path / "home"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(["keys", *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("org", "role", "says"),
    [("internal", "partner", "internal"), ("acme", "sales", "staff"), ("slack:T0123ABCD", "partner", "Slack")],
)
def test_cli_refuses_with_exit_2_and_one_line(
    home: Path, capsys: pytest.CaptureFixture[str], org: str, role: str, says: str
) -> None:
    code, out, err = run(capsys, "create", "--org", org, "--role", role)
    assert code == 2 and out == ""  # no key was printed, so none exists
    assert len(err.strip().splitlines()) == 1 and says in err
    assert run(capsys, "list", "--json")[1].strip() == "[]"

    code, out, err = run(capsys, "create", "--org", "internal", "--role", "compliance")
    assert code == 0 and out.startswith("ddk_")
