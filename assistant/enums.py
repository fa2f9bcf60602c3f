"""The product's shared vocabulary: risk levels, case statuses and roles, each defined here once.

They are string enums, so a member equals its value ("escalate" == Level.ESCALATE), is stored and sent as
that string, and FastAPI lists the allowed values in the OpenAPI document. The policy, the case workflow,
the API models, the pages and the Slack cards all read them from here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Level(StrEnum):
    """A deal's risk level under the policy, lowest first (RAS 6)."""

    PROCEED = "proceed"
    ENHANCED_DUE_DILIGENCE = "enhanced_due_diligence"
    ESCALATE = "escalate"
    PROHIBITED = "prohibited"

    @property
    def rank(self) -> int:
        """0 for proceed up to 3 for prohibited: levels compare by rank, never alphabetically."""
        return LEVELS.index(self)

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]


class Status(StrEnum):
    """Where a compliance case stands."""

    OPEN = "open"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"

    @property
    def undecided(self) -> bool:
        """Whether the case still waits for a decision (it sits in the queue and its SLA runs)."""
        return self in UNDECIDED

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


class Role(StrEnum):
    """What a user is to the vendor: a partner's staff, or the vendor's sales, compliance or admins."""

    PARTNER = "partner"
    SALES = "sales"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


LEVELS: Final[tuple[Level, ...]] = tuple(Level)
CASE_LEVELS: Final[tuple[Level, ...]] = (Level.ESCALATE, Level.PROHIBITED)
"""Levels at which a screened deal opens a compliance case."""
LEVEL_LABELS: Final[dict[str, str]] = {
    Level.PROCEED: "Proceed (standard screening)",
    Level.ENHANCED_DUE_DILIGENCE: "Enhanced due diligence",
    Level.ESCALATE: "Escalate to compliance",
    Level.PROHIBITED: "Prohibited",
}

STATUSES: Final[tuple[Status, ...]] = tuple(Status)
UNDECIDED: Final[tuple[Status, ...]] = (Status.OPEN, Status.IN_REVIEW, Status.NEEDS_INFO)
"""Statuses of a case that still waits for a decision."""
STATUS_LABELS: Final[dict[str, str]] = {
    Status.OPEN: "Open",
    Status.IN_REVIEW: "In review",
    Status.NEEDS_INFO: "Waiting for information",
    Status.APPROVED: "Approved",
    Status.REJECTED: "Rejected",
    Status.CLOSED: "Closed",
}

ROLES: Final[tuple[Role, ...]] = tuple(Role)
STAFF_ROLES: Final[tuple[Role, ...]] = (Role.SALES, Role.COMPLIANCE, Role.ADMIN)
DECIDER_ROLES: Final[tuple[Role, ...]] = (Role.COMPLIANCE, Role.ADMIN)
"""Roles that see every organisation's cases and may assign and decide them."""
