"""The compliance case queue: cases opened from risky deals, decided by compliance, audited by hash chain.

    store = create_case_store(settings)          # or CaseStore.from_url("postgresql+psycopg://...")
    case = store.create(level="escalate", summary="...", requester=Requester("U123", "slack", "internal"),
                        reasons=[{"text": "...", "rule": "R4", "citations": [...]}], idempotency_key="slack:evt-1")
    store.assign(case.ref, actor="alice", assignee="alice")
    store.decide(case.ref, "approve", actor="alice", comment="End-user statement received.")
    assert store.verify().ok

Modules: `models` (records and tables), `workflow` (statuses, transitions, SLA), `audit` (hash chain and
its checker), `store` (the database), `views` (what each user may see of a case). The schema's migrations
live with the one database in `assistant.database`; the case errors with every other error in
`assistant.errors`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..database import database_url
    from ..enums import LEVELS, STATUSES
    from ..errors import (
        CaseClosed,
        CaseInputError,
        CaseNotFound,
        CaseStoreUnavailable,
        CommentRequired,
        IdempotencyConflict,
        InvalidTransition,
    )
    from .audit import VerifyProblem, VerifyReport
    from .models import Case, CaseEvent, Requester
    from .store import CaseStore, create_case_store
    from .workflow import DEFAULT_SLA_BUSINESS_DAYS

# Names are resolved on first use, so that importing the light modules (workflow, errors) from the
# command line does not pay for SQLAlchemy and Alembic.
_HOMES = {
    "VerifyProblem": "audit",
    "VerifyReport": "audit",
    "CaseClosed": "..errors",
    "CaseInputError": "..errors",
    "CaseNotFound": "..errors",
    "CaseStoreUnavailable": "..errors",
    "CommentRequired": "..errors",
    "IdempotencyConflict": "..errors",
    "InvalidTransition": "..errors",
    "Case": "models",
    "CaseEvent": "models",
    "Requester": "models",
    "CaseStore": "store",
    "create_case_store": "store",
    "database_url": "..database",
    "DEFAULT_SLA_BUSINESS_DAYS": "workflow",
    "LEVELS": "..enums",
    "STATUSES": "..enums",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home if home.startswith(".") else f".{home}", __name__), name)


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
    "IdempotencyConflict",
    "InvalidTransition",
    "Requester",
    "VerifyProblem",
    "VerifyReport",
    "create_case_store",
    "database_url",
]
