"""Review after a sync: the conflicting edits, the persons registered twice and the rooms two
households came to share, as the clerk sees and settles them (each decision a logged write that
travels to the other PCs)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from app.models.core.db import Database
from app.models.core.errors import KnownError, ValidationError
from app.models.core.hlc import Hlc
from app.models.sync import merge
from app.models.sync.sync import site_label

FIELD_LABELS: dict[tuple[str, str], str] = {
    ("person", "name"): "姓名",
    ("person", "id_number"): "身份证号",
    ("person", "household_id"): "所属户",
    ("household", "head_person_id"): "户主",
    ("household", "risk_colour"): "风险颜色",
    ("mediation_case", "status"): "调解案件状态",
}
RISK_LABELS = {"red": "红", "yellow": "黄", "green": "绿"}


@dataclass
class Side:
    value: Any
    shown: str
    user: str
    pc: str
    at: dt.datetime


@dataclass
class Conflict:
    id: int
    tbl: str
    row_id: str
    col: str
    field_label: str
    record: str
    current: Any
    current_shown: str
    loser: Side
    winner: Side


@dataclass
class Duplicate:
    id_number: str
    person_a: str
    person_b: str
    label_a: str
    label_b: str


def record_label(db: Database, tbl: str, row_id: str) -> str:
    from app.models.core.id_numbers import mask

    row = db.one(f'SELECT * FROM "{tbl}" WHERE id = ?', (row_id,)) if tbl in FIELD_TABLES else None
    if row is None:
        return f"{tbl} {row_id[:8]}"
    if tbl == "person":
        hh = db.scalar("SELECT number FROM household WHERE id = ?", (row["household_id"],))
        return f"{row['name']}（{mask(row['id_number']) if row['id_number'] else '无身份证号'}，户 {hh or '—'}）"
    if tbl == "household":
        return f"户 {row['number']}"
    return f"调解案件 {row['number']} {row['title']}"


FIELD_TABLES = {"person", "household", "mediation_case"}


def show_value(db: Database, tbl: str, col: str, value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if col == "household_id":
        n = db.scalar("SELECT number FROM household WHERE id = ?", (value,))
        return f"户 {n}" if n else f"户 {str(value)[:8]}"
    if col == "head_person_id":
        n = db.scalar("SELECT name FROM person WHERE id = ?", (value,))
        return n or str(value)[:8]
    if col == "risk_colour":
        return RISK_LABELS.get(value, str(value))
    if col == "id_number":
        return str(value)
    return str(value)


def _side(db: Database, tbl: str, col: str, site: str, seq: int) -> Side:
    row = db.one("SELECT value, user, hlc FROM change_log WHERE site_id = ? AND seq = ?", (site, seq))
    value = json.loads(row["value"]) if row else None
    at = dt.datetime.fromtimestamp(Hlc.parse(row["hlc"]).ms / 1000) if row else dt.datetime.now()
    return Side(value, show_value(db, tbl, col, value), (row["user"] if row else "") or "未知", site_label(db, site), at)


def open_conflicts(db: Database) -> list[Conflict]:
    """Concurrent key-field edits no later edit (made having seen both) has settled yet."""
    causal = merge.Causality(db.conn)
    out = []
    field_ops: dict[tuple[str, str, str], list] = {}
    for c in db.query("SELECT * FROM sync_conflict ORDER BY id"):
        key = (c["tbl"], c["row_id"], c["col"])
        if key not in field_ops:
            field_ops[key] = db.query(
                "SELECT site_id, seq FROM change_log WHERE tbl = ? AND row_id = ? AND col = ?", key)
        lo, hi = (c["lo_site"], c["lo_seq"]), (c["hi_site"], c["hi_seq"])
        if any(causal.saw(z[0], z[1], *lo) and causal.saw(z[0], z[1], *hi) for z in field_ops[key]):
            continue
        current = db.scalar(f'SELECT "{c["col"]}" FROM "{c["tbl"]}" WHERE id = ?', (c["row_id"],))
        out.append(Conflict(
            c["id"], c["tbl"], c["row_id"], c["col"], FIELD_LABELS.get((c["tbl"], c["col"]), c["col"]),
            record_label(db, c["tbl"], c["row_id"]), current, show_value(db, c["tbl"], c["col"], current),
            _side(db, c["tbl"], c["col"], *lo), _side(db, c["tbl"], c["col"], *hi),
        ))
    return out


def _review_id(kind: str, subject: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"anju-review:{kind}:{subject}"))


def open_duplicates(db: Database) -> list[Duplicate]:
    """Live persons sharing an ID number (registered on two PCs), unless a clerk said they differ."""
    dismissed = {r[0] for r in db.query(
        "SELECT subject FROM sync_review WHERE kind = 'not_duplicate' AND deleted = 0")}
    out = []
    for r in db.query(
        "SELECT id_number FROM person WHERE deleted = 0 AND id_number IS NOT NULL AND id_number <> '' "
        "GROUP BY id_number HAVING count(*) > 1"
    ):
        people = db.query(
            "SELECT p.id, p.name, h.number FROM person AS p LEFT JOIN household AS h ON h.id = p.household_id "
            "WHERE p.id_number = ? AND p.deleted = 0 ORDER BY p.id", (r[0],))
        for i, a in enumerate(people):
            for b in people[i + 1:]:
                if f"{a['id']}|{b['id']}" in dismissed:
                    continue
                out.append(Duplicate(r[0], a["id"], b["id"], f"{a['name']}（户 {a['number'] or '—'}）",
                                     f"{b['name']}（户 {b['number'] or '—'}）"))
    return out


@dataclass
class SharedRoom:
    """A room with more than one live household, as sync can leave it (never a local edit)."""

    room_id: str
    address: str
    household_ids: list[str]
    labels: list[str]

    @property
    def subject(self) -> str:
        return "|".join([self.room_id, *sorted(self.household_ids)])


def open_shared_rooms(db: Database) -> list[SharedRoom]:
    """Rooms holding two or more 在住 households, unless a clerk confirmed that very set of households."""
    from app.models.registry.households import room_address

    confirmed = {r[0] for r in db.query(
        "SELECT subject FROM sync_review WHERE kind = 'shared_room' AND deleted = 0")}
    out = []
    for r in db.query(
        "SELECT room_id FROM household WHERE deleted = 0 AND status = '在住' AND room_id IS NOT NULL "
        "GROUP BY room_id HAVING count(*) > 1"
    ):
        rows = db.query(
            "SELECT h.id, h.number, p.name FROM household h LEFT JOIN person p ON p.id = h.head_person_id "
            "WHERE h.room_id = ? AND h.deleted = 0 AND h.status = '在住' ORDER BY h.number", (r[0],))
        item = SharedRoom(r[0], room_address(db, r[0]), [x["id"] for x in rows],
                          [f"户 {x['number']}（户主 {x['name'] or '—'}）" for x in rows])
        if item.subject not in confirmed:
            out.append(item)
    return out


def confirm_shared_room(db: Database, item: SharedRoom) -> None:
    """The clerk checked that these households really share the room (a new op that syncs onward)."""
    with db.write() as tx:
        _record_review(db, tx, "shared_room", item.subject, "已核实同住", f"一房多户审核：{item.address} 已核实")


def _record_review(db: Database, tx: Any, kind: str, subject: str, decision: str, summary: str) -> None:
    """A clerk's review decision as a row with a stable id, so the same decision on two PCs merges."""
    rid = _review_id(kind, subject)
    values = {"kind": kind, "subject": subject, "decision": decision, "decided_by": db.user, "decided_at": tx.now,
              "deleted": 0}
    if db.scalar("SELECT 1 FROM sync_review WHERE id = ?", (rid,)):
        tx.update("sync_review", rid, values, summary=summary)
    else:
        tx.insert("sync_review", {"id": rid, **values}, summary=summary)


def _validated(db: Database, tbl: str, col: str, value: Any) -> dict[str, Any]:
    """The columns to write for a reviewed value (derived columns included); raises ValidationError."""

    if col == "name":
        from app.models.core.pinyin import name_pinyin

        name = str(value or "").strip()
        if not name:
            raise ValidationError("姓名不能为空。", field="name")
        full, initials = name_pinyin(name)
        return {"name": name, "name_pinyin": full, "name_initials": initials}
    if col == "id_number":
        if value in (None, ""):
            return {"id_number": None}
        from app.models.core.id_numbers import IdNumberError, parse

        try:
            info = parse(str(value))
        except IdNumberError as exc:
            raise ValidationError(str(exc), field="id_number") from exc
        return {"id_number": info.number}
    if col == "risk_colour":
        if value not in RISK_LABELS:
            raise ValidationError("风险颜色只能是红、黄、绿。", field="risk_colour")
        return {col: value}
    if col in ("household_id", "head_person_id"):
        target = "household" if col == "household_id" else "person"
        if value is not None and db.scalar(f'SELECT 1 FROM "{target}" WHERE id = ?', (value,)) is None:
            raise ValidationError("所选记录不存在。", field=col)
        return {col: value}
    if col == "status":
        if not str(value or "").strip():
            raise ValidationError("状态不能为空。", field="status")
        return {col: str(value).strip()}
    return {col: value}


def resolve_conflict(db: Database, conflict: Conflict, value: Any) -> None:
    """The clerk's decision: a new op on the field (even when the value stays) that syncs onward."""
    values = _validated(db, conflict.tbl, conflict.col, value)
    label = FIELD_LABELS.get((conflict.tbl, conflict.col), conflict.col)
    with db.write() as tx:
        changed = tx.update(conflict.tbl, conflict.row_id, values,
                            summary=f"冲突审核：{label} 定为“{show_value(db, conflict.tbl, conflict.col, values[conflict.col])}”")
        if conflict.col not in changed:
            # Keeping the current value still needs an op: it tells every PC the clerk decided.
            tx.conn.execute(
                "INSERT INTO change_log(site_id, tbl, row_id, col, value, hlc, user) "
                "SELECT site_id, ?, ?, ?, json_quote(?), hlc, user FROM write_ctx",
                (conflict.tbl, conflict.row_id, conflict.col, values[conflict.col]),
            )


def resolve_duplicate(db: Database, dup: Duplicate, *, remove: str | None) -> None:
    """`remove` = the person id to mark deleted (same person registered twice), or None: not the same person."""
    with db.write() as tx:
        if remove is None:
            _record_review(db, tx, "not_duplicate", f"{dup.person_a}|{dup.person_b}", "不是同一人",
                           "重复登记审核：不是同一人")
        else:
            if remove not in (dup.person_a, dup.person_b):
                raise KnownError("只能删除这两条记录之一。")
            tx.delete("person", remove, summary=f"重复登记审核：删除重复的 {dup.id_number[-4:]}")
