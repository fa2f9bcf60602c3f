"""Postings for the PostgreSQL lexical index: one row per (passage, term), ordered by impact.

Ranking used to unnest the tsvector of every candidate passage (about fifty lexemes each), which made a query
cost grow with the corpus: 66 ms p50 at 100,000 passages. A postings row holds a term's frequency in a passage,
the passage's length and an impact (the BM25 term weight at write time); an index on (collection, audience,
term, impact) lets a query read the rarest terms' postings whole and only the strongest postings of common
terms, so its cost depends on the query, not on the corpus. The GIN index on the tsvectors is no longer read
and is dropped; the tsvectors stay as the record of each passage's terms. Existing passages are backfilled.

Revision ID: 0008_lexical_postings
Revises: 0007_lexical_index
Created: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_lexical_postings"
down_revision: str | None = "0007_lexical_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BM25's k1 and b, as in assistant.knowledge.lexical (kept literal: a migration must not move with the code).
_K1, _B = 1.2, 0.75


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TABLE lexical_postings (
            collection VARCHAR(200) NOT NULL,
            audience VARCHAR(40) NOT NULL,
            term TEXT NOT NULL,
            impact REAL NOT NULL,
            passage_id VARCHAR(500) NOT NULL,
            tf INTEGER NOT NULL,
            length INTEGER NOT NULL
        )
        """
    )
    op.execute(
        f"""
        INSERT INTO lexical_postings (collection, audience, term, impact, passage_id, tf, length)
        SELECT p.collection, p.audience, u.lexeme,
               cardinality(u.positions) / (cardinality(u.positions) + {_K1} * ({1 - _B} + {_B} * p.length
                   / GREATEST(s.total_length::float8 / GREATEST(s.passages, 1), 1))),
               p.id, cardinality(u.positions), p.length
        FROM lexical_passages AS p
        JOIN lexical_stats AS s ON s.collection = p.collection
        CROSS JOIN LATERAL unnest(p.terms) AS u
        """
    )
    op.execute(
        "CREATE INDEX ix_lexical_postings_rank ON lexical_postings (collection, audience, term, impact DESC) "
        "INCLUDE (passage_id, tf, length)"
    )
    op.execute("CREATE INDEX ix_lexical_postings_passage ON lexical_postings (collection, passage_id)")
    op.execute("DROP INDEX IF EXISTS ix_lexical_passages_terms")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_lexical_passages_terms ON lexical_passages USING GIN (terms)")
    op.execute("DROP TABLE lexical_postings")
