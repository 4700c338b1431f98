"""Who is at the keyboard: the role and building scope every data-layer path asks about.

A database without accounts has one implicit principal with full access (``role is None``),
so the command line and old files keep working until the first account is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Stored role codes; the Chinese labels are in ``ROLE_LABELS``."""

    ADMIN = "admin"
    CLERK = "clerk"
    BUILDING_HEAD = "building_head"
    AUDITOR = "auditor"
    VIEWER = "viewer"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "系统管理员",
    Role.CLERK: "社区工作人员",
    Role.BUILDING_HEAD: "楼栋长",
    Role.AUDITOR: "审计员",
    Role.VIEWER: "只读/领导",
}


@dataclass(frozen=True)
class Principal:
    """The person a connection acts for. ``building_ids`` matters only for building heads."""

    name: str
    role: Role | None = None
    account_id: str | None = None
    building_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def has_account(self) -> bool:
        return self.role is not None

    @property
    def can_write_records(self) -> bool:
        """May change residents' records (households, people, visits, cases, jobs …)."""
        return self.role in (None, Role.ADMIN, Role.CLERK, Role.BUILDING_HEAD)

    @property
    def can_read_records(self) -> bool:
        return self.role != Role.AUDITOR

    @property
    def can_manage_accounts(self) -> bool:
        return self.role in (None, Role.ADMIN)

    @property
    def can_change_settings(self) -> bool:
        """The office settings (name on forms, visit rhythm, time limits, idle lock) are the
        administrator's, like the accounts."""
        return self.role in (None, Role.ADMIN)

    @property
    def can_restore(self) -> bool:
        """Replacing the whole file with a backup undoes everyone's work since: the administrator's."""
        return self.role in (None, Role.ADMIN)

    @property
    def may_export_full(self) -> bool:
        """May write whole ID numbers and phones into a file (with a reason, audited); every other
        role's exports and prints are the masked variant (app.models.core.masking)."""
        return self.role in (None, Role.ADMIN, Role.CLERK)

    @property
    def can_read_audit(self) -> bool:
        return self.role in (None, Role.ADMIN, Role.AUDITOR)

    def building_scope(self) -> frozenset[str] | None:
        """The building ids this principal may see, or None for every building."""
        return self.building_ids if self.role == Role.BUILDING_HEAD else None
