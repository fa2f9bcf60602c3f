"""The lexical (BM25) index of the guidance passages, when the case database is PostgreSQL.

Every web and Slack replica reads this one index instead of building its own. Each passage's stemmed terms
are a tsvector (lexemes with positions, written as given: no text-search dictionary re-stems them) under a
GIN index; document frequencies and collection statistics are kept beside it so that a query ranks by BM25
exactly as the SQLite FTS5 index and the old in-memory index did. On SQLite case databases the lexical
index is a file of its own under ASSISTANT_HOME, so this revision creates nothing there.

Revision ID: 0007_lexical_index
Revises: 0006_party_lists
Created: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_lexical_index"
down_revision: str | None = "0006_party_lists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TABLE lexical_passages (
            collection VARCHAR(200) NOT NULL,
            id VARCHAR(500) NOT NULL,
            fingerprint VARCHAR(64) NOT NULL,
            audience VARCHAR(40) NOT NULL,
            locator TEXT NOT NULL,
            base_locator TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            length INTEGER NOT NULL,
            terms TSVECTOR NOT NULL,
            CONSTRAINT pk_lexical_passages PRIMARY KEY (collection, id)
        )
        """
    )
    op.execute("CREATE INDEX ix_lexical_passages_terms ON lexical_passages USING GIN (terms)")
    op.execute("CREATE INDEX ix_lexical_passages_locator ON lexical_passages (collection, locator)")
    op.execute("CREATE INDEX ix_lexical_passages_base_locator ON lexical_passages (collection, base_locator)")
    op.execute(
        """
        CREATE TABLE lexical_terms (
            collection VARCHAR(200) NOT NULL,
            term TEXT NOT NULL,
            doc_freq INTEGER NOT NULL,
            CONSTRAINT pk_lexical_terms PRIMARY KEY (collection, term)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE lexical_stats (
            collection VARCHAR(200) NOT NULL,
            passages BIGINT NOT NULL,
            total_length BIGINT NOT NULL,
            CONSTRAINT pk_lexical_stats PRIMARY KEY (collection)
        )
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("lexical_stats", "lexical_terms", "lexical_passages"):
        op.execute(f"DROP TABLE {table}")
