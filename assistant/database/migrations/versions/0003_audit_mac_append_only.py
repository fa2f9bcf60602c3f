"""Audit events get a MAC under a key held outside the database, and their table becomes append-only.

- `case_events.mac` (nullable): HMAC-SHA256 of each event under ASSISTANT_AUDIT_KEY (`audit.event_mac`).
  Events written before this revision, or by a process without the key, have none; `cases verify`
  reports them as unauthenticated, not as tampered.
- Audit events are never updated or deleted by the application, so the database refuses it too:
  - SQLite: BEFORE UPDATE and BEFORE DELETE triggers that abort the statement.
  - PostgreSQL: a trigger that raises on UPDATE and DELETE (per row) and TRUNCATE (per statement), which
    holds for the table's owner as well; and UPDATE, DELETE and TRUNCATE are revoked from the role that
    migrates (current_user, normally the role the application connects as) unless it is a superuser, whom
    privileges do not bind. A deployment whose application connects as a separate role should grant that
    role only SELECT and INSERT on case_events.

Limits: the table's owner can disable the trigger and grant itself the privileges back, and anyone who can
write the SQLite file can drop its triggers. These guards stop mistakes and misuse through the application;
what a database writer cannot forge is the MAC (without the key) and a checkpoint kept elsewhere.
A later migration that rebuilds case_events (Alembic's SQLite batch mode copies the table) must create the
triggers again; one that changes existing events must lift the guards explicitly.

Revision ID: 0003_audit_mac_append_only
Revises: 0002_feedback_events_keys
Created: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_audit_mac_append_only"
down_revision: str | None = "0002_feedback_events_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# No '%' and no ':name' in these statements: they pass through SQLAlchemy's text() on every driver.
REFUSAL = "audit events are append-only; case_events rows are never updated or deleted"

SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END
    """,
    f"""
    CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END
    """,
)

POSTGRESQL_GUARDS = (
    f"""
    CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = '{REFUSAL} (' || TG_OP || ' refused)', ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only()
    """,
    """
    CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only()
    """,
    # A DO block, so that `alembic upgrade --sql` writes the same decision into its script.
    """
    DO $$
    BEGIN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON TABLE case_events FROM ' || quote_ident(current_user);
        END IF;
    END
    $$
    """,
)


def upgrade() -> None:
    op.add_column("case_events", sa.Column("mac", sa.String(length=64), nullable=True))
    dialect = op.get_context().dialect.name
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_GUARDS}.get(dialect, ())
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
