"""Secrets in the settings are never echoed: not by the settings themselves, not by a database URL that
cannot be used; and a weak Slack signing secret is refused as a weak session secret is."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.cases import create_case_store
from assistant.config import Settings
from assistant.errors import ConfigError

from .conftest import run_cli

PASSWORD = "hunter2-db-pass"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"  # the shape Slack issues: 32 hex characters
SECRETS = {
    "slack_bot_token": "xoxb-1111-2222-bot-token-value",
    "slack_app_token": "xapp-1-A111-app-token-value",
    "slack_signing_secret": SIGNING_SECRET,
    "session_secret": "session-secret-value-0123456789abcdefghijklmn",
    "llm_api_key": "sk-llm-api-key-value",
    "database_url": f"postgresql://dd:{PASSWORD}@db.internal/cases",
}
MALFORMED_URLS = [
    f"dd:{PASSWORD}@db.internal/cases",  # no scheme
    f"postgresql://dd:{PASSWORD}@db.internal:port/cases",  # a port that is not a number
]


@pytest.fixture
def no_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without a .env file, and none of the secrets in the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "ASSISTANT_SESSION_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_secrets_are_secret_str_and_never_shown(no_env: Path) -> None:
    settings = Settings(home=no_env, **SECRETS)  # type: ignore[arg-type]
    shown = f"{settings!r} {settings!s} {settings.model_dump()} {settings.model_dump_json()}"
    for name, value in SECRETS.items():
        field = getattr(settings, name)
        assert isinstance(field, SecretStr), name
        assert field.get_secret_value() == value, name
        assert value not in shown, name
    assert PASSWORD not in shown


def test_copies_with_plain_string_secrets_still_hold_secret_str(no_env: Path) -> None:
    copy = Settings(home=no_env).model_copy(update={"llm_api_key": "sk-copied", "home": no_env / "other"})
    assert isinstance(copy.llm_api_key, SecretStr) and copy.llm_api_key.get_secret_value() == "sk-copied"
    assert copy.home == no_env / "other"


@pytest.mark.parametrize("url", MALFORMED_URLS, ids=["no-scheme", "bad-port"])
def test_a_malformed_database_url_is_reported_without_its_password(no_env: Path, url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        create_case_store(Settings(home=no_env, database_url=url))  # type: ignore[arg-type]
    message = str(raised.value)
    assert "case database URL" in message and "db.internal" in message
    assert PASSWORD not in message


def test_the_cli_reports_a_malformed_database_url_in_one_line_without_its_password(
    no_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", MALFORMED_URLS[1])
    result = run_cli("cases", "list", home=no_env / "home")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "case database URL" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


@pytest.mark.parametrize("weak", ["changeme", "your-slack-signing-secret-change-me", "0123456789abcdef", "  secret  "])
def test_a_weak_slack_signing_secret_is_refused(no_env: Path, weak: str) -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        Settings(home=no_env, slack_signing_secret=weak)  # type: ignore[arg-type]


def test_a_real_or_absent_slack_signing_secret_is_accepted(no_env: Path) -> None:
    assert Settings(home=no_env, slack_signing_secret=SIGNING_SECRET).slack_signing_secret.get_secret_value()  # type: ignore[arg-type]
    assert not Settings(home=no_env).slack_signing_secret


def test_the_cli_starts_without_slack_and_names_a_weak_signing_secret(
    no_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "")
    assert run_cli("cases", "list", home=no_env / "home").returncode == 0

    monkeypatch.setenv("SLACK_SIGNING_SECRET", "changeme")
    refused = run_cli("cases", "list", home=no_env / "home")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "SLACK_SIGNING_SECRET" in refused.stderr and "changeme" not in refused.stderr
