"""Helpful / not helpful verdicts on answers, with an optional reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..errors import BadInput
from .rows import FeedbackRow

MAX_REASON_CHARS = 2000


def _now() -> datetime:
    return datetime.now(UTC)


class FeedbackLog:
    """Helpful / not helpful verdicts on answers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        *,
        user_id: str,
        org: str,
        channel: str,
        answer_id: str,
        question: str,
        helpful: bool,
        reason: str | None = None,
    ) -> int:
        """Store one verdict; returns its id."""
        if not answer_id.strip():
            raise BadInput("feedback needs the answer it is about")
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise BadInput(f"the feedback reason is longer than {MAX_REASON_CHARS} characters")
        with Session(self.engine) as session, session.begin():
            row = FeedbackRow(
                created_at=_now(),
                user_id=user_id,
                org=org,
                channel=channel,
                answer_id=answer_id.strip(),
                question=question[:4000],
                helpful=helpful,
                reason=(reason or "").strip() or None,
            )
            session.add(row)
            session.flush()
            return int(row.id)

    def summary(self) -> dict[str, int]:
        """Counts of helpful and unhelpful verdicts."""
        with Session(self.engine) as session:
            rows = session.execute(select(FeedbackRow.helpful, func.count()).group_by(FeedbackRow.helpful)).all()
        counts = {bool(helpful): int(n) for helpful, n in rows}
        return {"helpful": counts.get(True, 0), "not_helpful": counts.get(False, 0)}

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest verdicts, newest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(FeedbackRow).order_by(FeedbackRow.id.desc()).limit(limit)).all()
            return [
                {
                    "id": r.id,
                    "created_at": r.created_at.isoformat(),
                    "user_id": r.user_id,
                    "org": r.org,
                    "channel": r.channel,
                    "answer_id": r.answer_id,
                    "helpful": r.helpful,
                    "reason": r.reason,
                }
                for r in rows
            ]
