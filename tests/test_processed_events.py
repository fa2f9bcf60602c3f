"""Handled inbound events are remembered long enough to drop every retry, and then forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from assistant.cases import CaseStore
from assistant.records.events import EVENT_RETENTION, EventLog
from assistant.records.rows import ProcessedEventRow


def test_a_retry_is_dropped_and_old_events_are_forgotten(db_url: str) -> None:
    with CaseStore.from_url(db_url) as store:
        events = EventLog(store.engine)
        assert events.first_time("slack-event:Ev1")
        assert not events.first_time("slack-event:Ev1")  # Slack's retry of the same event
        assert events.first_time("slack-event:Ev2")
        # Ev1 was handled long ago (beyond the retention), Ev2 just now
        long_ago = datetime.now(UTC) - EVENT_RETENTION - timedelta(days=1)
        with Session(store.engine) as session, session.begin():
            session.execute(
                update(ProcessedEventRow).where(ProcessedEventRow.key == "slack-event:Ev1").values(created_at=long_ago)
            )
        assert events.prune() == 1
        assert not events.first_time("slack-event:Ev2")  # still remembered
        assert events.first_time("slack-event:Ev1")  # forgotten, so a new record
