"""Restricted-party lists loaded from their published files, with a word-key index for screening.

Revision ID: 0006_party_lists
Revises: 0005_screenings
Created: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_party_lists"
down_revision: str | None = "0005_screenings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "party_lists",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("source_files", sa.JSON(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("name_count", sa.Integer(), nullable=False),
        sa.Column("published", sa.String(length=32), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_lists")),
        sa.UniqueConstraint("name", name=op.f("uq_party_lists_name")),
    )
    op.create_table(
        "party_entries",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("programs", sa.Text(), nullable=False),
        sa.Column("countries", sa.String(length=400), nullable=False),
        sa.Column("listed_on", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_entries")),
    )
    op.create_index(op.f("ix_party_entries_list_id"), "party_entries", ["list_id"])
    op.create_table(
        "party_names",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("strength", sa.String(length=8), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_names")),
    )
    op.create_index(op.f("ix_party_names_list_id"), "party_names", ["list_id"])
    op.create_index(op.f("ix_party_names_entry_id"), "party_names", ["entry_id"])
    op.create_table(
        "party_keys",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("anchors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "name_id", "slot", name=op.f("pk_party_keys")),
    )
    op.create_index(op.f("ix_party_keys_list_id"), "party_keys", ["list_id"])


def downgrade() -> None:
    for table in ("party_keys", "party_names", "party_entries"):
        op.drop_index(op.f(f"ix_{table}_list_id"), table_name=table)
    op.drop_index(op.f("ix_party_names_entry_id"), table_name="party_names")
    for table in ("party_keys", "party_names", "party_entries", "party_lists"):
        op.drop_table(table)
