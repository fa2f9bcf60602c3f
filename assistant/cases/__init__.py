"""The compliance case queue: cases opened from risky deals, decided by compliance, audited by hash chain.

    store = create_case_store(settings)          # or CaseStore.from_url("postgresql+psycopg://...")
    case = store.create(level="escalate", summary="...", requester=Requester("U123", "slack", "internal"),
                        reasons=[{"text": "...", "rule": "R4", "citations": [...]}], idempotency_key="slack:evt-1")
    store.assign(case.ref, actor="alice", assignee="alice")
    store.decide(case.ref, "approve", actor="alice", comment="End-user statement received.")
    assert store.verify().ok

Modules: `models` (records and tables), `workflow` (statuses, transitions, SLA), `audit` (hash chain and
its checker), `store` (the database), `migrations` (Alembic, run at start), `errors`.
"""

from __future__ import annotations

from .audit import VerifyProblem, VerifyReport
from .errors import (
    CaseClosed,
    CaseInputError,
    CaseNotFound,
    CaseStoreUnavailable,
    CommentRequired,
    InvalidTransition,
)
from .models import Case, CaseEvent, Requester
from .store import CaseStore, create_case_store, database_url
from .workflow import DEFAULT_SLA_BUSINESS_DAYS, LEVELS, STATUSES

__all__ = [
    "DEFAULT_SLA_BUSINESS_DAYS",
    "LEVELS",
    "STATUSES",
    "Case",
    "CaseClosed",
    "CaseEvent",
    "CaseInputError",
    "CaseNotFound",
    "CaseStore",
    "CaseStoreUnavailable",
    "CommentRequired",
    "InvalidTransition",
    "Requester",
    "VerifyProblem",
    "VerifyReport",
    "create_case_store",
    "database_url",
]
