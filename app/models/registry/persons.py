"""Residents: validation of every person field, add/edit, head of household, moving, leaving and death."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from app.models.core import field_rules, id_numbers, masking, pinyin, vocab
from app.models.core.audit_events import Action, record_event
from app.models.core.db import Database
from app.models.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from app.models.core.text_rules import control_problem
from app.models.core.vocab import LabourAbility, PersonStatus
from app.models.registry.addresses import room_address

SEXES = vocab.SEXES
LABOUR_ABILITIES: list[str] = list(LabourAbility)
RELATIONS = ["户主", "配偶", "子", "女", "儿媳", "女婿", "孙子", "孙女", "外孙子", "外孙女", "父亲", "母亲",
             "祖父", "祖母", "兄弟", "姐妹", "其他"]
EDUCATIONS = ["学龄前", "文盲或半文盲", "小学", "初中", "高中", "中专/中职", "大专", "本科及以上", "小学（在读）",
              "初中（在读）", "高中/中职（在读）", "大专（在读）", "本科（在读）"]
ETHNICITIES = [*vocab.ETHNICITIES, "其他"]  # the 56 official names; "苗" typed or imported becomes "苗族"
PERSON_STATES: list[str] = list(PersonStatus)
FLAGS = {
    "sg_left_behind_child": "留守儿童",
    "sg_elderly_alone": "孤寡老人",
    "sg_disabled": "残疾",
    "sg_incapacitated": "失能",
    "sg_hospitalised": "住院",
    "party_member": "党员",
    "student": "在校生",
}
TEXT_LIMITS = field_rules.PERSON_TEXT_LIMITS
LABELS = field_rules.PERSON_LABELS

# Letters of any script, CJK (with extension planes), the middle dot of minority names.
_NAME = re.compile(r"^[\w\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f·•.\- ]+$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")


def mask_id(number: str | None) -> str:
    return id_numbers.mask(number)


def id_display(person: Any, *, masked: bool = True) -> str:
    """How a person's ID number is shown and printed: masked by default, 待核实 and 待补录 said.

    `person`: a :class:`Person`, or a dict or row with its id_number and id_unverified."""
    if isinstance(person, Person):
        number, unverified = person.id_number, person.id_unverified
    else:
        row = person if isinstance(person, dict) else dict(person)  # a sqlite3.Row
        number, unverified = row.get("id_number"), row.get("id_unverified")
    if not number:
        return "（未填，待补录）"
    text = mask_id(number) if masked else number
    return f"{text}（待核实）" if unverified else text


def clean_text(value: Any, fld: str, label: str, max_len: int, *, required: bool = False,
               formula_ok: bool = False) -> str | None:
    """Stripped text or None; ValidationError (Chinese, naming the field) if unfit."""
    text = "" if value is None else str(value)
    text = text.replace("\u3000", " ").strip()
    if not text:
        if required:
            raise ValidationError(f"{label}不能为空（只有空格也不行）。", field=fld)
        return None
    if len(text) > max_len:
        raise ValidationError(f"{label}太长：最多 {max_len} 个字，现在有 {len(text)} 个。", field=fld)
    if not formula_ok and text.startswith(_FORMULA_START):
        raise ValidationError(f"{label}不能以“{text[0]}”开头（导出到 Excel 时会被当成公式）。", field=fld)
    # Free notes may keep line breaks and tabs; nothing may hold escape codes or bidi overrides.
    problem = control_problem(text, label, allow_lines=formula_ok)
    if problem:
        raise ValidationError(f"{problem}，请删除后重新输入。", field=fld)
    return text


def clean_name(value: Any) -> str:
    name = clean_text(value, "name", "姓名", TEXT_LIMITS["name"], required=True)
    assert name is not None
    if not _NAME.match(name) or any(c.isdigit() for c in name) or "_" in name:
        raise ValidationError("姓名只能包含汉字、字母和间隔号“·”，不能有数字、表情或其他符号。", field="name")
    return name


def clean_phone(value: Any) -> str | None:
    text = clean_text(value, "phone", "电话", 30)
    if text is None:
        return None
    compact = re.sub(r"[\s\-()（）]", "", text)
    if re.search(r"[^0-9+]", compact):
        raise ValidationError("电话号码只能包含数字（可带区号和“-”），不能有字母或其他符号。", field="phone")
    if not _PHONE.match(compact):
        raise ValidationError(f"电话号码位数不对（{len(compact.lstrip('+'))} 位）：手机号 11 位，座机带区号 10–12 位。",
                              field="phone")
    if len(compact) == 11 and compact.isdigit() and not compact.startswith(("1", "0")):
        raise ValidationError("11 位手机号应以 1 开头。", field="phone")
    return compact


def clean_date(value: Any, fld: str, label: str, *, today: dt.date | None = None) -> str | None:
    if value in (None, ""):
        return None
    from app.models.core.excel_dates import entered_date

    day = entered_date(value, label, fld)
    if day is None:
        return None
    if day > (today or dt.date.today()):
        raise ValidationError(f"{label} {day.isoformat()} 在今天之后。", field=fld)
    if day.year < 1880:
        raise ValidationError(f"{label}的年份 {day.year} 不合理。", field=fld)
    return day.isoformat()


@dataclass
class CheckedPerson:
    """A person's fields made fit to store, and warnings the clerk should see (nothing blocking)."""

    values: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class UnverifiedIdNumber(ValidationError):
    """Only the check digit is wrong: the clerk may save it marked 待核实 (``accept_unverified_id``)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason, field="id_number")


def check(values: Mapping[str, Any], *, today: dt.date | None = None,
          accept_unverified_id: bool = False) -> CheckedPerson:
    """Validate every field; ID number wins over a typed sex/birth date (the mismatch is a warning).

    A number whose only fault is its check digit raises UnverifiedIdNumber, or with
    ``accept_unverified_id`` is kept as typed and marked 待核实 with the reason.
    """
    out: dict[str, Any] = {}
    warnings: list[str] = []
    out["name"] = clean_name(values.get("name"))
    raw_id = values.get("id_number")
    out["id_unverified"] = None
    if raw_id not in (None, "") and str(raw_id).strip():
        try:
            info = id_numbers.parse(str(raw_id), today=today)
        except id_numbers.CheckDigitError as exc:
            if not accept_unverified_id:
                raise UnverifiedIdNumber(str(exc)) from None
            info = id_numbers.parse(str(raw_id), today=today, allow_bad_check_digit=True)
            out["id_unverified"] = str(exc)
            warnings.append(f"身份证号已标记为“待核实”：{exc}")
        except id_numbers.IdNumberError as exc:
            raise ValidationError(str(exc), field="id_number") from None
        out["id_number"] = info.number
        if info.converted_from_15:
            warnings.append(f"15 位身份证号已转换为 18 位：{info.number}")
    else:
        info = None
        out["id_number"] = None
        warnings.append("未填写身份证号（已标记为待补录）。")
    sex = values.get("sex") or None
    if sex is not None and sex not in SEXES:
        raise ValidationError("性别只能是“男”或“女”。", field="sex")
    birth = clean_date(values.get("birth_date"), "birth_date", "出生日期", today=today)
    if info is not None:
        if sex and sex != info.sex:
            warnings.append(f"填写的性别“{sex}”与身份证号不符，已按身份证号改为“{info.sex}”。")
        if birth and birth != info.birth_date.isoformat():
            warnings.append(f"填写的出生日期 {birth} 与身份证号不符，已按身份证号改为 {info.birth_date.isoformat()}。")
        sex, birth = info.sex, info.birth_date.isoformat()
    out["sex"], out["birth_date"] = sex, birth
    for key in ("ethnicity", "relation", "education", "notes"):
        # Notes may start with "-" or "="; the Excel export guards its cells itself.
        out[key] = clean_text(values.get(key), key, LABELS[key], TEXT_LIMITS[key], formula_ok=key == "notes")
    if out["ethnicity"]:
        try:
            out["ethnicity"] = vocab.ethnicity(out["ethnicity"])
        except vocab.VocabError as exc:
            raise ValidationError(f"{exc.problem}，{exc.hint}。", field="ethnicity") from None
    if out["relation"]:
        out["relation"] = vocab.relation(out["relation"])
    out["phone"] = clean_phone(values.get("phone"))
    labour = values.get("labour_ability") or None
    if labour is not None and labour not in LABOUR_ABILITIES:
        raise ValidationError("劳动能力只能是“全”“半”或“无”。", field="labour_ability")
    out["labour_ability"] = labour
    for key in FLAGS:
        out[key] = 1 if values.get(key) else 0
    out["name_pinyin"], out["name_initials"] = pinyin.name_pinyin(out["name"])
    return CheckedPerson(out, warnings)


# -- duplicates --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Existing:
    """A person already in the database, with where they live (for the duplicate dialog)."""

    person_id: str
    household_id: str | None
    name: str
    id_number: str | None
    birth_date: str | None
    status: str
    address: str
    household_number: str | None


class DuplicateIdNumber(ValidationError):
    """The ID number is already registered; ``existing`` says to whom."""

    def __init__(self, existing: list[Existing]) -> None:
        self.existing = existing
        e = existing[0]
        super().__init__(
            f"身份证号已登记：{e.name}（{e.address or '无地址'}，{e.status}）。同一个人不能登记两次。",
            field="id_number",
        )


def _existing(db: Database, where: str, params: list[Any]) -> list[Existing]:
    rows = db.query(
        "SELECT p.id, p.household_id, p.name, p.id_number, p.birth_date, p.status, h.room_id, h.number "
        f"FROM person p LEFT JOIN household h ON h.id = p.household_id WHERE +p.deleted = 0 AND {where} LIMIT 20",
        params,
    )
    return [Existing(r["id"], r["household_id"], r["name"], r["id_number"], r["birth_date"], r["status"],
                     room_address(db, r["room_id"]), r["number"]) for r in rows]


def find_by_id_number(db: Database, id_number: str, exclude_person_id: str | None = None) -> list[Existing]:
    return _existing(db, "p.id_number = ? AND p.id IS NOT ?", [id_number, exclude_person_id])


def near_matches(db: Database, name: str, birth_date: str | None, exclude_person_id: str | None = None) -> list[Existing]:
    """Same name and same birth date: perhaps the same person typed without (or with another) ID number."""
    if not birth_date:
        return []
    return _existing(db, "p.name = ? AND p.birth_date = ? AND p.id IS NOT ?", [name, birth_date, exclude_person_id])


# -- reading -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    """One resident as stored: flags as stored (0 or 1), the whole ID number (screens show it masked)."""

    id: str
    household_id: str | None
    id_number: str | None
    name: str
    name_pinyin: str | None
    name_initials: str | None
    sex: str | None
    birth_date: str | None
    ethnicity: str | None
    relation: str | None
    phone: str | None
    education: str | None
    labour_ability: str | None
    sg_left_behind_child: int
    sg_elderly_alone: int
    sg_disabled: int
    sg_incapacitated: int
    sg_hospitalised: int
    party_member: int
    student: int
    status: str
    status_date: str | None
    notes: str | None
    deleted: int
    id_unverified: str | None

    @property
    def flags(self) -> dict[str, bool]:
        """The groups a person belongs to by column (FLAGS), set or not."""
        return {key: bool(getattr(self, key)) for key in FLAGS}


_PERSON_COLUMNS = ", ".join(f.name for f in fields(Person))
_PERSON_COLUMNS_OF_P = ", ".join(f"p.{f.name}" for f in fields(Person))


def get(db: Database, person_id: str) -> Person:
    row = db.one(f"SELECT {_PERSON_COLUMNS} FROM person WHERE id = ?", (person_id,))
    if row is None:
        raise NotFoundError("找不到这个人（可能已被删除）。")
    return Person(**dict(row))


REVEAL_REASONS = masking.FULL_REASONS


def reveal_id_number(db: Database, person_id: str, reason: str, note: str | None = None) -> str:
    """The whole ID number of a person this connection may see, recorded in the audit with the reason.

    Lists and detail panes show ID numbers masked; this is the one way to see a whole one on screen.
    """
    if reason not in REVEAL_REASONS:
        raise ValidationError(f"请选择查看理由：{'、'.join(REVEAL_REASONS)}。", field="reason")
    note = (note or "").strip() or None
    if reason == "其他" and not note:
        raise ValidationError("理由选“其他”时请写明用途。", field="note")
    if not db.principal.can_read_records:
        raise PermissionDeniedError(f"“{db.principal.name}”的账号不能查看居民信息。")
    row = db.one("SELECT p.name, p.id_number, h.number FROM person p LEFT JOIN household h ON h.id = p.household_id "
                 "WHERE p.id = ?", (person_id,))
    if row is None:
        raise NotFoundError("找不到这个人（可能已被删除，或不在您负责的楼栋）。")
    record_event(db, Action.REVEAL_ID, {"person": row["name"], "household": row["number"], "reason": reason,
                                        "note": note, "id_masked": mask_id(row["id_number"])})
    return row["id_number"] or ""


def members(db: Database, household_id: str, *, include_gone: bool = False) -> list[Person]:
    """Members, the head first, then by birth date; people who left or died only if asked."""
    gone = "" if include_gone else " AND p.status = '在册'"
    rows = db.query(
        f"SELECT {_PERSON_COLUMNS_OF_P} FROM person p INDEXED BY person_household_status LEFT JOIN household h ON h.id = p.household_id "
        f"WHERE p.household_id = ? AND p.deleted = 0{gone} "
        "ORDER BY p.status != '在册', p.id IS NOT h.head_person_id, p.birth_date IS NULL, p.birth_date, p.name",
        (household_id,),
    )
    return [Person(**dict(r)) for r in rows]


# -- writing -----------------------------------------------------------------------------------
def _household_exists(db: Database, household_id: str) -> None:
    if not db.scalar("SELECT 1 FROM household WHERE id = ? AND deleted = 0", (household_id,)):
        raise NotFoundError("找不到这一户（可能已被删除）。")


def add(db: Database, household_id: str, values: Mapping[str, Any], *, allow_near_match: bool = True,
        make_head: bool = False, accept_unverified_id: bool = False) -> str:
    """Add a member; raises DuplicateIdNumber if the ID number is registered anywhere."""
    checked = check(values, accept_unverified_id=accept_unverified_id)
    row = checked.values
    row["household_id"] = household_id
    row["status"] = PersonStatus.REGISTERED
    with db.write() as tx:
        # Inside the transaction (no other connection can write between the checks and the insert):
        # the whole office is checked, also for a building head.
        _household_exists(db, household_id)
        if row["id_number"] and (dups := find_by_id_number(db, row["id_number"])):
            raise DuplicateIdNumber(dups)
        if not allow_near_match and near_matches(db, row["name"], row["birth_date"]):
            raise ValidationError("已有同名同出生日期的人，请核对。", field="name")
        pid = tx.insert("person", row, summary=f"新增成员 {row['name']}")
        head = tx.conn.execute("SELECT head_person_id FROM household WHERE id = ?", (household_id,)).fetchone()[0]
        if make_head or head is None:
            tx.update("household", household_id, {"head_person_id": pid}, summary=f"户主设为 {row['name']}")
            if not row.get("relation"):
                tx.update("person", pid, {"relation": "户主"})
    return pid


def update(db: Database, person_id: str, values: Mapping[str, Any], *,
           accept_unverified_id: bool = False) -> dict[str, tuple[Any, Any]]:
    """Change a person's fields (all of them are checked again); returns what changed."""
    with db.write() as tx:
        # Read and checked inside the transaction: what another connection wrote meanwhile counts.
        old = get(db, person_id)
        merged = {**asdict(old), **values}
        # A number already kept 待核实 stays so while it is unchanged; a new wrong number is asked about.
        same_id = id_numbers.normalise(str(merged.get("id_number") or "")) == (old.id_number or "")
        checked = check(merged,
                        accept_unverified_id=accept_unverified_id or (same_id and bool(old.id_unverified)))
        row = checked.values
        if row["id_number"] and (dups := find_by_id_number(db, row["id_number"], person_id)):
            raise DuplicateIdNumber(dups)
        return tx.update("person", person_id, row, summary=f"修改成员 {row['name']}")


def set_head(db: Database, household_id: str, person_id: str, *, old_head_relation: str | None = None) -> None:
    """Make `person_id` the head; the old head keeps the relation given (e.g. 配偶), or 其他."""
    p = get(db, person_id)
    if p.household_id != household_id or p.deleted:
        raise ValidationError("户主必须是本户的成员。", field="head")
    if p.status != PersonStatus.REGISTERED:
        raise ValidationError(f"{p.name}已{p.status}，不能当户主。", field="head")
    old_head = db.scalar("SELECT head_person_id FROM household WHERE id = ?", (household_id,))
    if old_head == person_id:
        return
    relation = clean_text(old_head_relation, "relation", "原户主的关系", 20) or "其他"
    with db.write() as tx:
        tx.update("household", household_id, {"head_person_id": person_id}, summary=f"更换户主为 {p.name}")
        tx.update("person", person_id, {"relation": "户主"})
        if old_head:
            tx.update("person", old_head, {"relation": relation})


def record_status(db: Database, person_id: str, status: str, on: Any = None, note: str | None = None) -> None:
    """Death (死亡) or moving away (迁出): the person stays in history with a status; 在册 undoes it."""
    if status not in PERSON_STATES:
        raise ValidationError(f"状态只能是：{'、'.join(PERSON_STATES)}。", field="status")
    day = clean_date(on, "status_date", "日期") or dt.date.today().isoformat()
    note = clean_text(note, "notes", "说明", 200)
    p = get(db, person_id)
    changes: dict[str, Any] = {"status": status, "status_date": None if status == PersonStatus.REGISTERED else day}
    if note:
        changes["notes"] = ((p.notes or "") + f"\n{day} {status}：{note}").strip()
    with db.write() as tx:
        tx.update("person", person_id, changes, summary=f"{p.name} {status}")
        if status != PersonStatus.REGISTERED and p.household_id:
            head = tx.conn.execute("SELECT head_person_id FROM household WHERE id = ?", (p.household_id,)).fetchone()
            if head and head[0] == person_id:
                # A household keeps no dead or departed head: the clerk picks a new one.
                tx.update("household", p.household_id, {"head_person_id": None}, summary="户主已不在册")


def move(db: Database, person_id: str, to_household_id: str, *, relation: str | None = None) -> None:
    """Move a member into another household (marriage, splitting a household …)."""
    p = get(db, person_id)
    _household_exists(db, to_household_id)
    if p.household_id == to_household_id:
        raise ValidationError("这个人已经在这一户。", field="household")
    relation = clean_text(relation, "relation", "与户主关系", 20) or "其他"
    with db.write() as tx:
        old = p.household_id
        if old:
            head = tx.conn.execute("SELECT head_person_id FROM household WHERE id = ?", (old,)).fetchone()
            if head and head[0] == person_id:
                tx.update("household", old, {"head_person_id": None}, summary=f"{p.name} 迁到他户，原户暂无户主")
            else:
                to_number = tx.conn.execute("SELECT number FROM household WHERE id = ?", (to_household_id,)).fetchone()
                tx.note("household", old, f"成员 {p.name} 迁到户 {to_number[0] if to_number else ''}")
        tx.update("person", person_id, {"household_id": to_household_id, "relation": relation},
                  summary=f"{p.name} 迁入另一户")
        new_head = tx.conn.execute("SELECT head_person_id FROM household WHERE id = ?", (to_household_id,)).fetchone()
        if new_head and new_head[0] is None:
            tx.update("household", to_household_id, {"head_person_id": person_id})
            tx.update("person", person_id, {"relation": "户主"})


def remove(db: Database, person_id: str) -> None:
    """Tombstone a member typed by mistake (a real departure is :func:`record_status`)."""
    p = get(db, person_id)
    with db.write() as tx:
        if p.household_id:
            head = tx.conn.execute("SELECT head_person_id FROM household WHERE id = ?", (p.household_id,)).fetchone()
            if head and head[0] == person_id:
                tx.update("household", p.household_id, {"head_person_id": None})
        tx.delete("person", person_id, summary=f"删除成员 {p.name}")


def name_of(db: Database, person_id: str | None) -> str | None:
    """The person's name (deleted people too), or None."""
    if not person_id:
        return None
    name = db.scalar("SELECT name FROM person WHERE id = ?", (person_id,))
    return None if name is None else str(name)


def registered_count(db: Database) -> int:
    """Registered residents (在册, not deleted) of households not deleted: an indexed count."""
    return int(db.scalar(
        "SELECT count(*) FROM person p JOIN household h ON h.id = p.household_id "
        "WHERE p.deleted = 0 AND p.status = '在册' AND h.deleted = 0"))
