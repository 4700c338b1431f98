"""Reading the event audit: filters, pages, JSON lines and the Excel export, for roles that may read it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models.core import masking
from app.models.core.audit_events import (
    ACTION_LABELS,
    OUTCOME_LABELS,
    Action,
    Outcome,
    record_event,
    verify_chain,
)
from app.models.core.db import Database
from app.models.core.errors import PermissionDeniedError, ValidationError
from app.models.core.safe_files import atomic_file, check_zip

COLUMNS = ("id", "at", "user", "action", "detail", "outcome", "site_id")


@dataclass(frozen=True)
class AuditFilter:
    """What the viewer's filter row (or ``anju audit``) asks for; None means any."""

    user: str | None = None
    since: dt.date | None = None  # from this day on (inclusive)
    until: dt.date | None = None  # up to and including this day
    action: str | None = None
    record: str | None = None  # text in the detail: a household number, a file name, a form …

    def where(self) -> tuple[str, list[Any]]:
        conds: list[str] = []
        params: list[Any] = []
        if self.user:
            conds.append("user = ?")
            params.append(self.user)
        if self.since:
            conds.append("at >= ?")
            params.append(self.since.isoformat())
        if self.until:
            conds.append("at < ?")
            params.append((self.until + dt.timedelta(days=1)).isoformat())
        if self.action:
            conds.append("action = ?")
            params.append(self.action)
        if self.record:
            conds.append("instr(coalesce(detail, ''), ?) > 0")
            # Details are stored as JSON with ensure_ascii=False, so Chinese text matches as typed.
            params.append(self.record.strip())
        return (" WHERE " + " AND ".join(conds)) if conds else "", params


def parse_day(text: str | None, what: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{what}“{text}”格式不对，应为 YYYY-MM-DD。", field=what) from None


def require_reader(db: Database) -> None:
    """Only 系统管理员 and 审计员 (and a database without accounts) read the audit."""
    p = db.principal
    if not p.can_read_audit:
        record_event(db, Action.AUDIT_VIEW, None, Outcome.REFUSED)
        raise PermissionDeniedError(f"“{p.name}”的账号不能查看操作日志：只有系统管理员和审计员可以查看。")


def latest_id(db: Database) -> int:
    """The newest entry's id (0 for none): pages anchored there do not shift while new entries come."""
    require_reader(db)
    return int(db.scalar("SELECT coalesce(max(id), 0) FROM audit_events"))


def _upto(f: AuditFilter, upto: int | None) -> tuple[str, list[Any]]:
    where, params = f.where()
    if upto is None:
        return where, params
    return (where + " AND" if where else " WHERE") + " id <= ?", [*params, upto]


def count(db: Database, f: AuditFilter, *, upto: int | None = None) -> int:
    """Entries matching `f` (up to entry `upto`)."""
    require_reader(db)
    where, params = _upto(f, upto)
    return int(db.scalar(f"SELECT count(*) FROM audit_events{where}", params))


def page(db: Database, f: AuditFilter, offset: int, limit: int, *, upto: int | None = None) -> list[dict[str, Any]]:
    """Entries newest first, `limit` from `offset` (of those up to entry `upto`)."""
    require_reader(db)
    where, params = _upto(f, upto)
    rows = db.query(
        f"SELECT {', '.join(COLUMNS)} FROM audit_events{where} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [dict(r) for r in rows]


def entries(db: Database, f: AuditFilter, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """Every matching entry, oldest first (the CLI's JSON lines, the export)."""
    require_reader(db)
    where, params = f.where()
    last = 0
    while True:
        cond = (where + " AND" if where else " WHERE") + " id > ?"
        rows = db.query(f"SELECT {', '.join(COLUMNS)} FROM audit_events{cond} ORDER BY id LIMIT ?",
                        [*params, last, chunk])
        if not rows:
            return
        for r in rows:
            yield dict(r)
        last = rows[-1]["id"]


def users(db: Database) -> list[str]:
    return [r[0] for r in db.query("SELECT DISTINCT user FROM audit_events WHERE user IS NOT NULL ORDER BY user")]


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def outcome_label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome)


_KEY_LABELS = {
    "ledger": None, "title": "台账", "masked": "身份证号", "file": "文件", "rows": "行数", "filtered": "筛选",
    "form": None, "records": "记录", "count": "份数", "pages": "页数", "to": "输出", "full_id_numbers": None,
    "files": "文件", "applied": "新增修改", "already_had": "已有", "conflicts": "冲突", "rejected": "拒收",
    "other_community": None, "ops": "修改条数", "folder": "文件夹", "bytes": None, "key": "设置项", "old": "原值",
    "new": "新值", "person": "居民", "household": "户号", "id_masked": "身份证号", "reason": "理由", "note": "说明",
    "error": "错误", "forced": None,
}


def describe(detail: str | None) -> str:
    """The stored detail as one line of Chinese (JSON details key by key)."""
    if not detail:
        return ""
    try:
        data = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(data, dict):
        return str(data)
    parts = []
    order = list(_KEY_LABELS)
    for key, value in sorted(data.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)):
        label = _KEY_LABELS.get(key, key)
        if label is None or value in (None, [], ""):
            continue
        if key == "masked":
            value = "已遮挡" if value else "完整"
        elif key == "filtered":
            value = "是" if value else "否"
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value[:10]) + ("…" if len(value) > 10 else "")
        parts.append(f"{label}：{value}")
    return "；".join(parts)


def export(db: Database, f: AuditFilter, out: str | Path) -> int:
    """Write the matching entries to .xlsx (temporary name first); the export is itself audited."""
    import xlsxwriter

    require_reader(db)
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        out = out.with_suffix(".xlsx")
    n = 0
    with atomic_file(out, check=check_zip, what="操作日志 Excel 文件") as fh:
        wb = xlsxwriter.Workbook(fh, {"constant_memory": True, "strings_to_formulas": False})
        try:
            ws = wb.add_worksheet("操作日志")
            bold = wb.add_format({"bold": True})
            headers = ["序号", "时间", "用户", "操作", "内容", "结果", "电脑编号"]
            for c, h in enumerate(headers):
                ws.write_string(0, c, h, bold)
            for c, w in enumerate((8, 20, 12, 14, 80, 8, 38)):
                ws.set_column(c, c, w)
            ws.freeze_panes(1, 0)
            for e in entries(db, f):
                n += 1
                # The audit leaves the office masked: an ID or phone typed into a note, a setting or a
                # file name is masked like any other (app.models.core.masking).
                values = [str(e["id"]), e["at"], e["user"] or "", action_label(e["action"]),
                          masking.text(describe(e["detail"])), outcome_label(e["outcome"]), e["site_id"] or ""]
                for c, v in enumerate(values):
                    ws.write_string(n, c, v)
        finally:
            wb.close()
    record_event(db, Action.EXPORT, {"ledger": "audit", "title": "操作日志", "masked": True, "file": out.name,
                                     "rows": n, "filtered": f != AuditFilter()})
    return n


def chain_problems(db: Database) -> list[str]:
    """`anju check`'s look at the audit: the first broken entry (and how many more), or nothing."""
    if not db.scalar("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'audit_events'"):
        return []
    with contextlib.suppress(Exception):
        problems = verify_chain(db)
        if not problems:
            return []
        more = f"（另有 {len(problems) - 1} 处问题）" if len(problems) > 1 else ""
        return [f"{problems[0]}{more}"]
    return ["操作日志无法读取，可能已被改动。"]
