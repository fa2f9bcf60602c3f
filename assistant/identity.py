"""Who is asking, and which guidance audiences they may read."""

from __future__ import annotations

from dataclasses import dataclass

from .enums import DECIDER_ROLES, Role

PARTNER_AUDIENCES = ("public", "partner")
INTERNAL_AUDIENCES = ("public", "partner", "internal")
# Staff share one organisation, so its cases are every staff member's cases; partners each have their own.
STAFF_ORG = "internal"


@dataclass(frozen=True)
class User:
    """A person or system asking the assistant. Partners read only public and partner guidance."""

    id: str
    role: str = Role.SALES
    org: str = STAFF_ORG
    display_name: str = ""

    @property
    def audiences(self) -> tuple[str, ...]:
        return PARTNER_AUDIENCES if self.role == Role.PARTNER else INTERNAL_AUDIENCES

    @property
    def is_partner(self) -> bool:
        return self.role == Role.PARTNER

    @property
    def is_decider(self) -> bool:
        """Whether this user decides cases (compliance, admin): sees every organisation's queue and may decide."""
        return self.role in DECIDER_ROLES

    @classmethod
    def for_audience(cls, audience: str, user_id: str = "cli") -> User:
        """A command-line user reading as 'internal' (staff) or 'partner'."""
        if audience == "partner":
            return cls(id=user_id, role=Role.PARTNER, org="cli-partner")
        return cls(id=user_id, role=Role.SALES, org=STAFF_ORG)
