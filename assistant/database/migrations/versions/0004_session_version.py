"""API keys get a session version, so signing out ends every browser session of the key.

A session cookie records the version of its key at sign-in; sign-out moves the version on, and the web
app refuses cookies that carry an older one (copies of a cookie included). Existing keys start at 0.

Revision ID: 0004_session_version
Revises: 0003_audit_mac_append_only
Created: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_session_version"
down_revision: str | None = "0003_audit_mac_append_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default: no table rebuild on SQLite.
    op.add_column("api_keys", sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
