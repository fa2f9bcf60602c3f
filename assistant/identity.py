"""Who is asking, and which guidance audiences they may read."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("partner", "sales", "compliance", "admin")
PARTNER_AUDIENCES = ("public", "partner")
INTERNAL_AUDIENCES = ("public", "partner", "internal")


@dataclass(frozen=True)
class User:
    """A person or system asking the assistant. Partners read only public and partner guidance."""

    id: str
    role: str = "sales"
    org: str = "internal"
    display_name: str = ""

    @property
    def audiences(self) -> tuple[str, ...]:
        return PARTNER_AUDIENCES if self.role == "partner" else INTERNAL_AUDIENCES

    @property
    def is_partner(self) -> bool:
        return self.role == "partner"

    @classmethod
    def for_audience(cls, audience: str, user_id: str = "cli") -> User:
        """A command-line user reading as 'internal' (staff) or 'partner'."""
        if audience == "partner":
            return cls(id=user_id, role="partner", org="cli-partner")
        return cls(id=user_id, role="sales", org="internal")
