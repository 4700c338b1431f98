"""Households (一户一档): addresses, create/edit/delete, moving rooms, head of household, derived tags."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from app.models.core import settings, vocab
from app.models.core.db import Database
from app.models.core.errors import NotFoundError, ValidationError
from app.models.core.field_rules import text_limit
from app.models.core.vocab import HouseholdStatus
from app.models.registry import persons
from app.models.registry.addresses import address_text, building_match_sql, parse_address, room_address
from app.models.registry.persons import clean_date, clean_text

TAGS: dict[str, str] = {
    "tag_lifted": "脱贫户",
    "tag_monitored": "监测户",
    "tag_dibao": "低保",
    "tag_tekun": "特困",
}
ZERO_EMPLOYMENT = "零就业家庭"  # derived, never stored
ALL_TAGS = [*TAGS.values(), ZERO_EMPLOYMENT]
RISK_COLOURS = vocab.RISK_COLOURS
CERT_STATES = vocab.CERT_STATES
HOUSEHOLD_STATES: list[str] = list(HouseholdStatus)

# The address of a household as SQL over the aliases b (building), u (unit), r (room).
ADDRESS_SQL = (
    "CASE WHEN r.id IS NULL THEN '' ELSE "
    "(CASE WHEN b.name GLOB '*[0-9]' THEN b.name || '栋' ELSE coalesce(b.name, '') END)"
    " || coalesce(u.number || '单元', '') || coalesce(r.number, '') END"
)
ADDRESS_ORDER_SQL = "b.number {dir}, b.name {dir}, u.number {dir}, r.floor {dir}, length(r.number) {dir}, r.number {dir}"
PLACE_JOINS = (
    "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)

def resolve_room(db: Database, text: str) -> str:
    """The room id of "3-2-501" / "3栋2单元501"; raises ValidationError (Chinese) if there is none."""
    addr = parse_address(text)
    if addr is None or addr.unit is None or not addr.room:
        raise ValidationError(f"“{_short(text)}”不是完整的房号，请按“3-2-501”或“3栋2单元501”填写。", field="room")
    bsql, bparams = building_match_sql(addr.building)
    rows = db.query(
        "SELECT r.id FROM room r JOIN unit u ON u.id = r.unit_id JOIN building b ON b.id = u.building_id "
        f"WHERE {bsql} AND u.number = ? AND r.number = ? AND r.deleted = 0 AND u.deleted = 0 AND b.deleted = 0",
        [*bparams, addr.unit, addr.room],
    )
    if not rows:
        raise ValidationError(
            f"找不到房间“{address_text(addr.building, addr.unit, addr.room)}”，请先在“楼栋网格”中登记。", field="room"
        )
    if len(rows) > 1:
        raise ValidationError(f"“{_short(text)}”对应多个房间，请在楼栋名称上写得更具体。", field="room")
    return rows[0]["id"]


def _short(text: str, n: int = 30) -> str:
    text = text or ""
    return text if len(text) <= n else text[:n] + "…"


def _labour_bounds(db: Database, today: dt.date) -> tuple[str, str]:
    """Birth dates (exclusive lower, inclusive upper) of people within working age today."""
    lo_age = int(settings.get(db, "working_age_min"))
    hi_age = int(settings.get(db, "working_age_max"))
    youngest = _years_before(today, lo_age)  # born on or before this date: old enough
    oldest = _years_before(today, hi_age + 1)  # born after this date: not too old
    return oldest.isoformat(), youngest.isoformat()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def zero_employment_sql(db: Database, today: dt.date | None = None) -> tuple[str, list[Any]]:
    """SQL over alias h: true for a household with labour-force members of whom none is employed.

    Labour force: status 在册, age within the working-age settings, labour ability 全 or 半.
    Employed: an employment row with start_date <= today and no end_date or end_date >= today.
    The dates are written into the SQL as literals (they are ISO dates made here, never typed
    text) so the expression can also be used as a SELECT column; the params list is empty.
    """
    today = today or dt.date.today()
    after, upto = _labour_bounds(db, today)
    t = today.isoformat()
    labour = (
        "lf.household_id = h.id AND lf.deleted = 0 AND lf.status = '在册' AND lf.labour_ability IN ('全','半') "
        f"AND lf.birth_date > '{after}' AND lf.birth_date <= '{upto}'"
    )
    sql = (
        f"(EXISTS (SELECT 1 FROM person lf INDEXED BY person_household_status WHERE {labour}) "
        "AND NOT EXISTS (SELECT 1 FROM person lf INDEXED BY person_household_status "
        f"JOIN employment e ON e.person_id = lf.id AND e.deleted = 0 AND e.start_date <= '{t}' "
        f"AND (e.end_date IS NULL OR e.end_date = '' OR e.end_date >= '{t}') WHERE {labour}))"
    )
    return sql, []


def tag_sql(db: Database, tag: str) -> tuple[str, list[Any]]:
    """SQL over alias h selecting households that carry `tag` (stored or derived)."""
    if tag == ZERO_EMPLOYMENT:
        return zero_employment_sql(db)
    for col, name in TAGS.items():
        if name == tag:
            return f"h.{col} = 1", []
    raise ValidationError(f"没有“{tag}”这个标签。", field="tag")


def is_zero_employment(db: Database, household_id: str, today: dt.date | None = None) -> bool:
    sql, params = zero_employment_sql(db, today)
    return bool(db.scalar(f"SELECT {sql} FROM household h WHERE h.id = ?", [*params, household_id]))


@dataclass(frozen=True)
class Household:
    """One household as the registry shows it: its stored fields (flags as stored, 0 or 1) and
    its address text ("" without a room)."""

    id: str
    number: str
    room_id: str | None
    head_person_id: str | None
    origin_township: str | None
    origin_village: str | None
    move_in_date: str | None
    risk_colour: str
    tag_lifted: int
    tag_monitored: int
    tag_dibao: int
    tag_tekun: int
    hukou_moved: int
    residence_permit: str | None
    property_cert: str | None
    garden_plot_m2: float | None
    status: str
    notes: str | None
    deleted: int
    ext_number: str | None
    entered_date: str | None
    address: str

    @property
    def tags(self) -> dict[str, bool]:
        """The stored tags by column (TAGS), set or not."""
        return {col: bool(getattr(self, col)) for col in TAGS}


_HOUSEHOLD_COLUMNS = ", ".join(f.name for f in fields(Household) if f.name != "address")


def tag_names(household: Household, zero_employment: bool = False) -> list[str]:
    names = [name for col, name in TAGS.items() if household.tags[col]]
    if zero_employment:
        names.append(ZERO_EMPLOYMENT)
    return names


def get(db: Database, household_id: str) -> Household:
    row = db.one(f"SELECT {_HOUSEHOLD_COLUMNS} FROM household WHERE id = ?", (household_id,))
    if row is None:
        raise NotFoundError("找不到这一户（可能已被删除）。")
    return Household(**dict(row), address=room_address(db, row["room_id"]))


# -- writing -----------------------------------------------------------------------------------
FIELDS = ["number", "origin_township", "origin_village", "move_in_date", "risk_colour", *TAGS, "hukou_moved",
          "residence_permit", "property_cert", "garden_plot_m2", "status", "notes"]


def check(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the household fields a clerk edits; raises ValidationError naming the field."""
    out: dict[str, Any] = {}
    out["number"] = clean_text(values.get("number"), "number", "户号", text_limit("household", "number"))
    for key, label in (("origin_township", "迁出乡镇"), ("origin_village", "迁出村")):
        out[key] = clean_text(values.get(key), key, label, text_limit("household", key))
    out["move_in_date"] = clean_date(values.get("move_in_date"), "move_in_date", "入住日期")
    risk = values.get("risk_colour") or "green"
    if risk not in RISK_COLOURS:
        raise ValidationError("风险等级只能是红、黄、绿。", field="risk_colour")
    out["risk_colour"] = risk
    for col in TAGS:
        out[col] = 1 if values.get(col) else 0
    out["hukou_moved"] = 1 if values.get("hukou_moved") else 0
    for key, label in (("residence_permit", "居住证"), ("property_cert", "产权证")):
        v = values.get(key) or None
        if v is not None and v not in CERT_STATES:
            raise ValidationError(f"{label}状态只能是：{'、'.join(CERT_STATES)}。", field=key)
        out[key] = v
    plot = values.get("garden_plot_m2")
    if plot in (None, ""):
        out["garden_plot_m2"] = None
    else:
        try:
            out["garden_plot_m2"] = float(str(plot).strip())
        except ValueError:
            raise ValidationError("微菜园面积应是数字（平方米）。", field="garden_plot_m2") from None
        if not 0 <= out["garden_plot_m2"] <= 10000:
            raise ValidationError("微菜园面积应在 0 到 10000 平方米之间。", field="garden_plot_m2")
    status = values.get("status") or HouseholdStatus.LIVING
    if status not in HOUSEHOLD_STATES:
        raise ValidationError(f"户状态只能是：{'、'.join(HOUSEHOLD_STATES)}。", field="status")
    out["status"] = status
    out["notes"] = clean_text(values.get("notes"), "notes", "备注", text_limit("household", "notes"), formula_ok=True)
    return out


def next_number(db: Database) -> str:
    """The next household number after the highest one, keeping its prefix and width (HLX-000124)."""
    top = db.scalar("SELECT max(number) FROM household INDEXED BY household_number")
    m = re.match(r"^(.*?)(\d+)$", top or "")
    prefix, digits = (m.group(1), m.group(2)) if m else ("", "000000")
    n = int(digits) + 1
    while True:
        candidate = f"{prefix}{n:0{len(digits)}d}"
        if not db.scalar("SELECT 1 FROM household WHERE number = ?", (candidate,)):
            return candidate
        n += 1


def room_occupant(db: Database, room_id: str, household_id: str | None = None) -> dict[str, Any] | None:
    """The live (在住) household other than `household_id` in the room: its number and head's name."""
    row = db.one(
        "SELECT h.id, h.number, p.name AS head FROM household h "
        "LEFT JOIN person p ON p.id = h.head_person_id "
        "WHERE h.room_id = ? AND h.deleted = 0 AND h.status = '在住' AND h.id IS NOT ? LIMIT 1",
        (room_id, household_id),
    )
    return dict(row) if row is not None else None


def occupied_text(db: Database, room_id: str, occupant: Mapping[str, Any]) -> str:
    head = f"（户主 {occupant['head']}）" if occupant.get("head") else ""
    return f"{room_address(db, room_id)}已住有户号 {occupant['number']}{head}的住户"


def room_free(db: Database, room_id: str, household_id: str | None = None) -> None:
    """The one rule: an occupied room gets no second live household. Call it inside the write
    transaction that places the household, so no other write slips in between check and write."""
    other = room_occupant(db, room_id, household_id)
    if other is not None:
        raise ValidationError(occupied_text(db, room_id, other) + "，一间房只能住一户。", field="room")


def _room_id(db: Database, room: str | None) -> str | None:
    """A room id, or the room typed as an address; None for no room."""
    if not room or not str(room).strip():
        return None
    room = str(room).strip()
    if db.scalar("SELECT 1 FROM room WHERE id = ? AND deleted = 0", (room,)):
        return room
    return resolve_room(db, room)


@dataclass(frozen=True)
class NewMember:
    """A member entered in the new-household dialog before the household was saved."""

    values: Mapping[str, Any]
    accept_unverified_id: bool = False


def create(db: Database, values: Mapping[str, Any], *, room: str | None = None, allow_shared_room: bool = False,
           members: Sequence[NewMember] = ()) -> str:
    """A new household; `room` is a room id or "3-2-501". `members` (the first becomes the head)
    are added in the same transaction: the household and its people are saved together or not at all."""
    row = check(values)
    room_id = _room_id(db, room)
    with db.write() as tx:
        hid = _insert(db, tx, row, room_id, allow_shared_room)
        for m in members:
            persons.add(db, hid, m.values, accept_unverified_id=m.accept_unverified_id)
    return hid


def empty_rooms(db: Database) -> list[dict[str, Any]]:
    """Rooms with no live (在住) household, for the new-household dialog: building, unit, room."""
    rows = db.query(
        "SELECT r.id, b.id AS building_id, b.name AS building, u.number AS unit, r.number AS room "
        "FROM room r JOIN unit u ON u.id = r.unit_id JOIN building b ON b.id = u.building_id "
        "WHERE r.deleted = 0 AND u.deleted = 0 AND b.deleted = 0 AND b.retired = 0 "
        "AND NOT EXISTS (SELECT 1 FROM household h WHERE h.room_id = r.id AND h.deleted = 0 AND h.status = '在住') "
        "ORDER BY b.number, b.name COLLATE natsort, u.number, r.number COLLATE natsort"
    )
    return [dict(r) for r in rows]


def _insert(db: Database, tx: Any, row: dict[str, Any], room_id: str | None, allow_shared_room: bool) -> str:
    """The household row and its first address; the occupied-room rule runs here, inside the write."""
    if room_id and not allow_shared_room:
        room_free(db, room_id, None)
    row["number"] = row["number"] or next_number(db)
    if db.scalar("SELECT 1 FROM household WHERE number = ? AND deleted = 0", (row["number"],)):
        raise ValidationError(f"户号 {row['number']} 已被使用。", field="number")
    row["room_id"] = room_id
    row["entered_date"] = dt.date.today().isoformat()
    hid = tx.insert("household", row, summary=f"新增住户 {row['number']}")
    if room_id:
        tx.insert("household_address", {"household_id": hid, "room_id": room_id,
                                        "address_text": room_address(db, room_id),
                                        "from_date": row["move_in_date"] or tx.now[:10]})
    return hid


def update(db: Database, household_id: str, values: Mapping[str, Any], *, risk_reason: str | None = None) -> dict:
    """Change household fields (not the room: see :func:`move`); a risk change is also logged."""
    old = get(db, household_id)
    if old.deleted:
        raise ValidationError("这一户已删除，请先恢复再修改。", field="status")
    row = check({**asdict(old), **values})
    row["number"] = row["number"] or old.number
    if row["number"] != old.number and db.scalar(
        "SELECT 1 FROM household WHERE number = ? AND deleted = 0 AND id != ?", (row["number"], household_id)
    ):
        raise ValidationError(f"户号 {row['number']} 已被使用。", field="number")
    with db.write() as tx:
        if row["status"] == HouseholdStatus.LIVING and old.status != HouseholdStatus.LIVING and old.room_id:
            room_free(db, old.room_id, household_id)  # back from 迁出: its room may be taken
        changed = tx.update("household", household_id, row, summary=f"修改住户 {row['number']}")
        if "risk_colour" in changed:
            tx.insert("risk_change", {"household_id": household_id, "old_colour": old.risk_colour,
                                      "new_colour": row["risk_colour"], "reason": risk_reason or "一户一档修改",
                                      "changed_by": db.user, "changed_at": tx.now})
    return changed


def move(db: Database, household_id: str, room: str, on: Any = None, *, allow_shared_room: bool = False) -> None:
    """Move the household to another room: the old address stays in its history with dates.

    Visits, mediation cases and employment records hang on the household and its people, so
    they move with it.
    """
    h = get(db, household_id)
    room_id = _room_id(db, room)
    if room_id is None:
        raise ValidationError("请填写要搬入的房号。", field="room")
    if room_id == h.room_id:
        raise ValidationError("新房号与现住址相同。", field="room")
    day = clean_date(on, "move_date", "搬迁日期") or dt.date.today().isoformat()
    with db.write() as tx:
        if not allow_shared_room:
            room_free(db, room_id, household_id)
        current = tx.conn.execute(
            "SELECT id FROM household_address WHERE household_id = ? AND deleted = 0 AND to_date IS NULL "
            "ORDER BY from_date DESC", (household_id,)).fetchall()
        if not current and h.room_id:
            tx.insert("household_address", {"household_id": household_id, "room_id": h.room_id,
                                            "address_text": h.address, "from_date": h.move_in_date,
                                            "to_date": day})
        for r in current:
            tx.update("household_address", r["id"], {"to_date": day})
        tx.insert("household_address", {"household_id": household_id, "room_id": room_id,
                                        "address_text": room_address(db, room_id), "from_date": day})
        tx.update("household", household_id, {"room_id": room_id},
                  summary=f"搬迁：{h.address or '无'} → {room_address(db, room_id)}")


def address_history(db: Database, household_id: str) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT room_id, address_text, from_date, to_date FROM household_address "
        "WHERE household_id = ? AND deleted = 0 ORDER BY to_date IS NULL, from_date, to_date",
        (household_id,),
    )
    return [dict(r) for r in rows]


def delete(db: Database, household_id: str) -> None:
    """Tombstone the household; its people, visits and records stay for history and can be restored."""
    h = get(db, household_id)
    with db.write() as tx:
        tx.delete("household", household_id, summary=f"删除住户 {h.number} {h.address}")


def restore(db: Database, household_id: str) -> None:
    """Undo a delete; refused if another household has since moved into its room."""
    h = get(db, household_id)
    with db.write() as tx:
        if h.room_id and h.status == HouseholdStatus.LIVING:
            room_free(db, h.room_id, household_id)
        tx.restore("household", household_id, summary="恢复住户")


def origin_townships(db: Database) -> list[str]:
    """The townships households moved from, as typed so far (for filters and the form's list)."""
    return [r[0] for r in db.query(
        "SELECT DISTINCT origin_township FROM household WHERE origin_township IS NOT NULL "
        "AND origin_township != '' ORDER BY origin_township")]


def head_of(db: Database, household_id: str) -> str | None:
    """The id of the household's head, or None."""
    return db.scalar("SELECT head_person_id FROM household WHERE id = ?", (household_id,))


def any_household(db: Database) -> bool:
    """Whether the file holds any household at all (deleted ones too)."""
    return db.scalar("SELECT 1 FROM household LIMIT 1") is not None
