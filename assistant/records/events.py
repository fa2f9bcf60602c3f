"""Inbound events already handled (Slack event ids), remembered across processes to drop retries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .rows import ProcessedEventRow


def _now() -> datetime:
    return datetime.now(UTC)


EVENT_RETENTION = timedelta(days=30)
"""How long a handled event is remembered: far longer than Slack retries an event (hours), so a retry is
always recognised, while the table stops growing."""
_PRUNE_EVERY = 500


class EventLog:
    """Remembers inbound events already handled, across processes (a unique key in the database)."""

    _recorded = itertools.count(1)  # per process: every _PRUNE_EVERY-th record also prunes

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def first_time(self, key: str) -> bool:
        """True exactly once per key, however many processes race for it (within EVENT_RETENTION)."""
        try:
            with Session(self.engine) as session, session.begin():
                session.add(ProcessedEventRow(key=key[:200], created_at=_now()))
        except IntegrityError:
            return False
        if next(self._recorded) % _PRUNE_EVERY == 0:
            self.prune()
        return True

    def prune(self, older_than: timedelta = EVENT_RETENTION) -> int:
        """Forget events handled longer ago than `older_than`; returns how many were forgotten."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                delete(ProcessedEventRow).where(ProcessedEventRow.created_at < _now() - older_than)
            )
        return int(getattr(result, "rowcount", 0) or 0)
