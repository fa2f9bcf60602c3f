"""API keys per organisation and role: only a hash of each secret is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..enums import ROLES, STAFF_ROLES
from ..errors import BadInput
from ..identity import STAFF_ORG, User
from .rows import ApiKeyRow

KEY_PREFIX = "ddk"

# The Slack app names Slack Connect users' organisations `slack:<team id>` from what Slack tells it.
SLACK_ORG_PREFIX = "slack:"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiKey:
    """An API key's public record (never the secret)."""

    key_id: str
    org: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    #: Browser sessions carry the version they started under; signing out moves it on, ending them all.
    session_version: int = 0

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def user(self) -> User:
        """The User this key acts as; its id names the key, so the audit trail shows which key acted."""
        return User(id=f"key:{self.key_id}", role=self.role, org=self.org, display_name=self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "org": self.org,
            "role": self.role,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_key_scope(org: str, role: str) -> None:
    """Refuse a key whose role and organisation do not belong together (BadInput, one line).

    A partner key in `internal` would list every staff case; a staff key in a partner's organisation would
    give that partner internal guidance; a key in a `slack:` organisation would read a Slack Connect team's
    cases, which only the Slack app may vouch for.
    """
    name = org.strip().casefold()
    if name.startswith(SLACK_ORG_PREFIX):
        raise BadInput(
            f"organisation '{org}' is reserved for Slack Connect users, named by the Slack app; API keys cannot use it"
        )
    if role in STAFF_ROLES and org.strip() != STAFF_ORG:
        raise BadInput(f"'{role}' is a staff role: staff keys belong to the organisation '{STAFF_ORG}', not '{org}'")
    if role not in STAFF_ROLES and name == STAFF_ORG:
        raise BadInput(f"the organisation '{STAFF_ORG}' is for staff keys; a partner key needs the partner's own")


def _record(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.key_id, row.org, row.role, row.name, row.created_at, row.revoked_at, row.session_version)


class ApiKeys:
    """API keys per organisation and role, stored as SHA-256 hashes of high-entropy secrets."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, org: str, role: str, name: str = "") -> tuple[ApiKey, str]:
        """A new key; the full key string is returned once and cannot be recovered later."""
        org = org.strip()
        if not org:
            raise BadInput("an API key needs an organisation (--org)")
        if role not in ROLES:
            raise BadInput(f"role '{role}' is not one of {', '.join(ROLES)}")
        check_key_scope(org, role)
        key_id = secrets.token_hex(6)
        secret = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with Session(self.engine) as session, session.begin():
            row = ApiKeyRow(
                key_id=key_id,
                secret_hash=_hash(secret),
                org=org,
                role=role,
                name=name.strip() or f"{org} {role}",
                created_at=_now(),
                revoked_at=None,
            )
            session.add(row)
            session.flush()
            return _record(row), secret

    def authenticate(self, presented: str) -> ApiKey | None:
        """The active key matching a presented secret, or None (unknown, malformed or revoked)."""
        parts = presented.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            return None
        with Session(self.engine) as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == parts[1]))
            if row is None or not hmac.compare_digest(row.secret_hash, _hash(presented.strip())):
                return None
            return _record(row) if row.revoked_at is None else None

    def get(self, key_id: str) -> ApiKey | None:
        """A key's public record by id, or None."""
        with Session(self.engine) as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            return _record(row) if row is not None else None

    def list(self) -> list[ApiKey]:
        with Session(self.engine) as session:
            return [_record(r) for r in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)).all()]

    def end_sessions(self, key_id: str) -> None:
        """End every browser session of a key (sign-out), including copies of its cookie elsewhere."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.key_id == key_id)
                .values(session_version=ApiKeyRow.session_version + 1)
            )

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id; revoking twice is harmless."""
        with Session(self.engine) as session, session.begin():
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id.strip()))
            if row is None:
                raise BadInput(f"no API key with id '{key_id}'")
            if row.revoked_at is None:
                row.revoked_at = _now()
            return _record(row)
