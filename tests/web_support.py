"""What the web tests share: a service over the session's index with a case database of its own."""

from __future__ import annotations

from pathlib import Path

from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService, create_service

SECRET = "test-only-session-secret-0123456789abcdefghijklmnop"


def web_service_over(corpus_service: AssistantService, embedder: Embedder, db_dir: Path) -> AssistantService:
    """The indexed corpus (read only), a fresh case database in `db_dir`, a session secret, no rate pressure."""
    settings = corpus_service.settings.model_copy(
        update={
            "database_url": f"sqlite:///{db_dir / 'cases.db'}",
            "session_secret": SECRET,
            "rate_limit_per_minute": 10_000,
        }
    )
    return create_service(settings, embedder=embedder)


def bearer(service: AssistantService, org: str, role: str) -> dict[str, str]:
    """The Authorization header of a new API key for this organisation and role."""
    _, secret = service.api_keys.create(org, role, f"{org} {role}")
    return {"Authorization": f"Bearer {secret}"}
