"""Reading the audit trail and the change log: who changed a record, when, and on which PC."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.models.core.db import Database
from app.models.core.hlc import Hlc


@dataclass(frozen=True)
class LastChange:
    user: str
    site_id: str
    at: dt.datetime

    def describe(self, this_site: str | None = None) -> str:
        pc = "本机" if self.site_id == this_site else f"电脑 {self.site_id[:8]}"
        return f"最后修改：{self.user or '未知'}，{pc}，{self.at:%Y-%m-%d %H:%M}"


# The tables whose rows' history is looked up (最后修改, a household's 修改记录): the audit log's
# row index holds their entries only (m0042).
ROW_HISTORY_TABLES = frozenset({"household", "person"})


def last_change(db: Database, table: str, row_id: str) -> LastChange | None:
    """The newest op on a row (by hybrid clock), wherever it was made."""
    row = db.one(
        "SELECT user, site_id, hlc FROM change_log WHERE tbl = ? AND row_id = ? ORDER BY hlc DESC, op_id DESC LIMIT 1",
        (table, row_id),
    )
    if row is None:
        # Its ops were folded away (every PC has them): the audit log still says who and when.
        # The table as a literal: the planner uses the partial row index only when it can see that
        # the query asks for one of its tables (any other table is a scan of the log).
        tbl = f"'{table}'" if table in ROW_HISTORY_TABLES else "?"
        params = (row_id,) if table in ROW_HISTORY_TABLES else (table, row_id)
        row = db.one(f"SELECT user, site_id, at FROM audit_log WHERE tbl = {tbl} AND row_id = ? "
                     "ORDER BY id DESC LIMIT 1", params)
        if row is None or not row["at"]:
            return None
        return LastChange(row["user"] or "", row["site_id"] or "", dt.datetime.fromisoformat(row["at"]))
    at = dt.datetime.fromtimestamp(Hlc.parse(row["hlc"]).ms / 1000)
    return LastChange(row["user"] or "", row["site_id"], at)


def household_history(db: Database, household_id: str, limit: int = 200) -> list[dict]:
    """A household's 修改记录: its own entries and those of its members (added, changed,
    deleted, moved in; a member who moved away left a note on the household), newest first."""
    rows = db.query(
        "SELECT id, at, user, action, summary, detail FROM audit_log WHERE tbl = 'household' AND row_id = ? "
        "UNION ALL "
        "SELECT id, at, user, action, summary, detail FROM audit_log WHERE tbl = 'person' AND row_id IN "
        "(SELECT id FROM person WHERE household_id = ?) "
        "ORDER BY id DESC LIMIT ?",
        (household_id, household_id, limit),
    )
    return [dict(r) for r in rows]
