"""The trace of risky screenings that opened no case: every escalate or prohibited screening leaves one.

Staff may screen without opening a case (the CLI's --no-case, evaluations); partners may not. What such a
screening leaves is a row here, in the case database, so compliance can see who screened what risky deal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .models import ScreeningRow


@dataclass(frozen=True)
class ScreeningTrace:
    """One recorded screening."""

    created_at: datetime
    user_id: str
    org: str
    channel: str
    level: str
    rule: str
    fingerprint: str
    summary: str


class ScreeningLog:
    """Escalate and prohibited screenings that opened no case."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self, *, user_id: str, org: str, channel: str, level: str, rule: str, fingerprint: str, summary: str
    ) -> None:
        """Append one trace."""
        with Session(self.engine) as session, session.begin():
            session.add(
                ScreeningRow(
                    created_at=datetime.now(UTC),
                    user_id=user_id[:200],
                    org=org[:200],
                    channel=channel[:100],
                    level=level,
                    rule=rule[:100],
                    fingerprint=fingerprint,
                    summary=summary,
                )
            )

    def recent(self, limit: int = 100) -> list[ScreeningTrace]:
        """The newest traces first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(ScreeningRow).order_by(ScreeningRow.id.desc()).limit(limit))
            return [
                ScreeningTrace(r.created_at, r.user_id, r.org, r.channel, r.level, r.rule, r.fingerprint, r.summary)
                for r in rows
            ]
