"""Errors raised by the case queue. They extend the project tree in `assistant.errors`.

    AssistantError
    ├── BadInput
    │   └── CaseInputError          a case request we refuse; nothing was changed
    │       ├── CaseNotFound        no such reference (or not visible to the caller's organisation)
    │       ├── InvalidTransition   the action is not allowed from the case's current status
    │       │   └── CaseClosed      a decision or assignment on a closed case
    │       ├── CommentRequired     the action needs a non-empty comment (and an actor)
    │       └── IdempotencyConflict the idempotency key was used before for a different request
    └── CaseStoreUnavailable        the case database cannot be opened or migrated

Every refusal is raised before the write transaction commits, so a refused request leaves the
cases and their audit trail exactly as they were.
"""

from __future__ import annotations

from ..errors import AssistantError, BadInput


class CaseInputError(BadInput):
    """A request to the case queue that was refused as invalid; nothing was changed."""


class CaseNotFound(CaseInputError):
    """No case has this reference, or the caller's organisation may not see it."""


class InvalidTransition(CaseInputError):
    """The requested action is not allowed from the case's current status."""


class CaseClosed(InvalidTransition):
    """The case is closed: it must be reopened before anything else happens to it."""


class CommentRequired(CaseInputError):
    """The action needs a non-empty comment (decisions, reopening, closing an undecided case)."""


class IdempotencyConflict(CaseInputError):
    """An idempotency key was reused with a different request (IETF Idempotency-Key draft: 422)."""


class CaseStoreUnavailable(AssistantError):
    """The case database cannot be reached, opened or brought to the current schema."""
