"""Screenings that opened no case: the trace every escalate or prohibited screening leaves.

Revision ID: 0005_screenings
Revises: 0004_session_version
Created: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_screenings"
down_revision: str | None = "0004_session_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenings")),
    )
    op.create_index(op.f("ix_screenings_org"), "screenings", ["org"])
    op.create_index(op.f("ix_screenings_created_at"), "screenings", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_screenings_created_at"), table_name="screenings")
    op.drop_index(op.f("ix_screenings_org"), table_name="screenings")
    op.drop_table("screenings")
