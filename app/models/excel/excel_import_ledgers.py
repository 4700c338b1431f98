"""Importing ledgers other than the resident roll: households, employment, training, intentions and
visits, record by record. Their columns are the ledgers' one definition (app.models.excel.ledger_fields)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models.core.db import Database, Tx
from app.models.core.errors import KnownError, ValidationError
from app.models.excel.excel_read import (
    RISK_DISPLAY,
    TAG_COLUMNS,
    CellError,
    CellProblem,
    ImportCancelled,
    ImportPlan,
    LedgerImporter,
    Places,
    ProgressFn,
    RowResult,
    cell_show,
    checkpoint,
    header_finder,
    mark_repeated,
    norm_header,
    place_text,
    query_in,
    rows_planner,
    show_value,
    update_household,
)
from app.models.excel.ledger_fields import (
    EMPLOYMENT,
    HOUSEHOLDS,
    INTENTIONS,
    TRAINING,
    VISITS,
    ErrFn,
    Raw,
    read_rows,
    reporter,
    shown,
)
from app.models.excel.ledger_spec import LedgerSpec

Rows = list[tuple[int, list[Any]]]
Record = dict[str, Any]


def _summary(plan: ImportPlan) -> str:
    return f"Excel 导入 {Path(plan.path).name}"


def _good(plan: ImportPlan, statuses: tuple[str, ...] = ("new", "updated")) -> list[RowResult]:
    return [r for r in plan.rows if r.status in statuses]


# -- records of a person: jobs and intentions -----------------------------------------------------
@dataclass(frozen=True)
class PersonRecords:
    """How one ledger of per-person records (jobs, intentions) is matched and checked."""

    spec: LedgerSpec
    table: str
    key_fields: tuple[str, str]  # with the person, what identifies a record: (kind, its date)
    compared: tuple[str, ...]
    validate: Callable[[Database, Record], Record]
    what: str  # 就业 / 需求, for messages
    field_map: dict[str, str]  # the feature's ValidationError.field → our key


def _plan_person_records(db: Database, plan: ImportPlan, rows: Rows, records: PersonRecords, *,
                         progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """Validate every row with the feature's own rules and match it to the person's records."""
    spec, headers, columns = records.spec, plan.headers, plan.columns
    labels = spec.labels
    raw = read_rows(spec, plan, rows, progress=progress, cancelled=cancelled)
    by_id, by_name = _people(db, raw)
    person_ids = sorted({p["id"] for ps in by_id.values() for p in ps} | {p["id"] for ps in by_name.values() for p in ps})
    k1, k2 = records.key_fields
    on_record: dict[tuple[Any, ...], Record] = {}
    for j in query_in(db, f"SELECT * FROM {records.table} WHERE deleted = 0 AND person_id IN ({{marks}})", person_ids):
        on_record.setdefault((j["person_id"], j[k1], j[k2]), dict(j))
    seen: dict[tuple[Any, ...], list[RowResult]] = {}
    for r, values, errs in raw:
        res, err, person = _person_row(spec, plan, r, values, errs, by_id, by_name)
        if person is None:
            continue
        missing = [k for k in records.key_fields if not values.get(k)]
        if missing:
            err(missing[0], f"缺少{labels[missing[0]]}", f"每条{records.what}记录都要有{labels[k1]}和{labels[k2]}")
            continue
        key3 = (person["id"], values[k1], values[k2])
        seen.setdefault(key3, []).append(res)
        existing = on_record.get(key3)
        present = [k for k in records.compared if k in values]
        diffs: list[str] = []
        if existing is not None:
            res.person_id = existing["id"]  # the record's id
            diffs = [k for k in present if values[k] != existing.get(k)]
            if not diffs:
                res.status = "unchanged"  # as recorded: not checked again against today's rules
                continue
            merged = {**existing, **{k: values[k] for k in present}}
        else:
            merged = {k: values.get(k) for k in records.compared}
            merged.update({k1: values[k1], k2: values[k2]})
        merged["person_id"] = person["id"]
        try:
            row = records.validate(db, merged)
        except ValidationError as exc:
            key = records.field_map.get(exc.field or "", exc.field or k1)
            err(key if key in columns else k1, str(exc.message).rstrip("。"), "")
            continue
        if existing is None:
            # The feature's normal form, but what the file says is kept as said (a post name on a
            # flexible job, say), so that exporting and importing again changes nothing.
            row.update({k: values[k] for k in present})
            res.values = row
            res.status = "new"
        else:
            res.values = {k: values[k] for k in diffs}
            res.changes = [(headers.get(k, labels[k]), shown(spec, k, existing.get(k)), shown(spec, k, values[k]))
                           for k in diffs]
            res.status = "updated"
    mark_repeated(seen.values(), lambda x, rows_txt: CellError(
        plan.sheet, x.row, headers.get(k2, labels[k2]), columns.get(k2), None,
        f"第 {rows_txt} 行是同一人的同一条{records.what}记录（{labels[k1]}和{labels[k2]}相同）", "请删除重复的行"))


def _apply_records(db: Database, plan: ImportPlan, table: str, *, progress: ProgressFn | None = None,
                   cancelled: Callable[[], bool] | None = None, new_row: Callable[[RowResult], Record] | None = None,
                   update: Callable[[Tx, str, Record, str], None] | None = None) -> None:
    """Inside the caller's transaction: insert the new records (`new_row`: the row inserted), update
    the changed ones (`update`: how, given the record's id, its changes and the audit summary)."""
    summary = _summary(plan)
    good = _good(plan)
    with db.write() as tx:
        for n, r in enumerate(good):
            checkpoint(n, len(good), progress, cancelled, "正在写入…")
            if r.status == "new":
                tx.insert(table, r.values if new_row is None else new_row(r), summary=summary)
                continue
            assert r.person_id is not None
            if update is None:
                tx.update(table, r.person_id, r.values, summary=summary)
            else:
                update(tx, r.person_id, r.values, summary)


def _employment_records() -> PersonRecords:
    from app.models.employment import employment

    return PersonRecords(
        spec=EMPLOYMENT, table="employment", key_fields=("kind", "start_date"),
        compared=("sub_kind", "organised", "in_province", "destination", "place", "employer", "post_name",
                  "funding_source", "business_type", "end_date", "monthly_income_fen", "subsidy_fen", "notes"),
        validate=employment.validate, what="就业",
        field_map={"monthly_income": "monthly_income_fen", "subsidy": "subsidy_fen", "person_id": "id_number"},
    )


def plan_employment(db: Database, plan: ImportPlan, rows: Rows, *, progress: ProgressFn | None = None,
                    cancelled: Callable[[], bool] | None = None) -> None:
    """The employment ledger, checked with the employment feature's own rules."""
    _plan_person_records(db, plan, rows, _employment_records(), progress=progress, cancelled=cancelled)


def apply_employment(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                     cancelled: Callable[[], bool] | None = None) -> None:
    _apply_records(db, plan, "employment", progress=progress, cancelled=cancelled)


def _validate_intention(db: Database, values: Record) -> Record:
    """The intentions feature's rules (its `add` checks and writes at once; here they are apart)."""
    from app.models.employment import intentions

    kind = (values.get("kind") or "").strip()
    if kind not in intentions.KINDS:
        raise ValidationError(f"需求类型应为：{'、'.join(intentions.KINDS)}。", field="kind")
    if kind == "培训" and not values.get("training_wanted"):
        raise ValidationError("请填写想参加什么培训（如 电焊、家政、厨师）。", field="training_wanted")
    recorded, closed = values.get("recorded_date"), values.get("closed_date")
    if closed and recorded and closed < recorded:
        raise ValidationError(f"办结日期（{closed}）早于登记日期（{recorded}），请核对。", field="closed_date")
    return {
        "person_id": values["person_id"], "kind": kind,
        "job_kind": values.get("job_kind") if kind == "就业" else None, "place": values.get("place"),
        "training_wanted": values.get("training_wanted") if kind == "培训" else None,
        "detail": values.get("detail"), "recorded_date": recorded, "closed_date": closed, "notes": values.get("notes"),
    }


INTENTION_RECORDS = PersonRecords(
    spec=INTENTIONS, table="intention", key_fields=("kind", "recorded_date"),
    compared=("job_kind", "place", "training_wanted", "detail", "closed_date", "notes"),
    validate=_validate_intention, what="需求", field_map={"person_id": "id_number"},
)


def plan_intentions(db: Database, plan: ImportPlan, rows: Rows, *, progress: ProgressFn | None = None,
                    cancelled: Callable[[], bool] | None = None) -> None:
    _plan_person_records(db, plan, rows, INTENTION_RECORDS, progress=progress, cancelled=cancelled)


def apply_intentions(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                     cancelled: Callable[[], bool] | None = None) -> None:
    _apply_records(db, plan, "intention", progress=progress, cancelled=cancelled)


# -- the visits ledger ---------------------------------------------------------------------------
VISIT_COMPARED = ("findings", "finding_flags", "problems", "follow_up_needed", "follow_up_note")


def visits_header(found: set[str]) -> bool:
    return {"hh_number", "visit_date", "kind"} <= found


def plan_visits(db: Database, plan: ImportPlan, rows: Rows, *, progress: ProgressFn | None = None,
                cancelled: Callable[[], bool] | None = None) -> None:
    """Visit records are insert-only: a row is new, the same as one on record, or an error."""
    from app.models.places import visits

    columns, labels = plan.columns, VISITS.labels
    parsed = read_rows(VISITS, plan, rows, progress=progress, cancelled=cancelled)
    numbers = sorted({v["hh_number"] for _, v, _ in parsed if v.get("hh_number")})
    households: dict[str, list[str]] = {}
    for h in query_in(db, "SELECT id, number FROM household WHERE deleted = 0 AND number IN ({marks})", numbers):
        households.setdefault(h["number"], []).append(h["id"])
    on_record: dict[tuple[Any, ...], Record] = {}
    ids = sorted({i for v in households.values() for i in v})
    for v in query_in(db, "SELECT * FROM visit WHERE deleted = 0 AND household_id IN ({marks})", ids):
        on_record.setdefault((v["household_id"], v["visit_date"], v["kind"], v["visitor_name"]), dict(v))
    seen: dict[tuple[Any, ...], list[RowResult]] = {}
    for r, values, errs in parsed:
        res = RowResult(row=r + 1, status="error", hh_number=values.get("hh_number") or "",
                        name=f"{values.get('visit_date') or ''} {values.get('kind') or ''}".strip(), errors=errs)
        plan.rows.append(res)
        err = reporter(VISITS, plan, r, values, errs)
        if errs:
            continue
        number = values.get("hh_number")
        found = households.get(number or "", [])
        if not number:
            err("hh_number", "户编号为空", "每条走访记录都要写明走访的是哪一户")
            continue
        if len(found) != 1:
            err("hh_number", f"系统中{'没有' if not found else '有多户使用'}户编号“{number}”",
                "请核对户编号，或先在居民管理中登记这一户")
            continue
        flags = values.get("flags") or []
        key4 = (found[0], values.get("visit_date"), values.get("kind"), values.get("visitor_name"))
        old = on_record.get(key4)
        if old is not None:
            # On record already: compared as it is, not checked again against today's rules.
            seen.setdefault(key4, []).append(res)
            note = values.get("follow_up_note")
            cand = {
                "findings": values.get("findings"), "problems": values.get("problems"), "follow_up_note": note,
                "finding_flags": (json.dumps(flags, ensure_ascii=False) if flags else None) if "flags" in columns
                else old["finding_flags"],
                "follow_up_needed": 1 if (values.get("follow_up_needed") or note) else 0,
            }
            diffs = [k for k in VISIT_COMPARED if (cand.get(k) or None) != (old.get(k) or None)]
            if not diffs:
                res.status = "unchanged"
                continue
            changed = "、".join(labels.get("flags" if k == "finding_flags" else k, k) for k in diffs)
            err("findings" if "findings" in columns else "visit_date",
                f"系统中已有这次走访（同户、同日、同类型、同走访人），但{changed}不同；走访记录只能新增，不能通过导入修改",
                "如是另一次走访，请改正日期或走访人；如需更正原记录，请在走访页面处理")
            continue
        try:
            row = visits.validate(db, visits.VisitInput(
                household_id=found[0], visit_date=values.get("visit_date") or "", kind=values.get("kind") or "",
                visitor_name=values.get("visitor_name"), findings=values.get("findings"), finding_flags=flags,
                problems=values.get("problems"), follow_up_needed=bool(values.get("follow_up_needed")),
                follow_up_note=values.get("follow_up_note")))
        except KnownError as exc:  # a ValidationError names its field
            field = {"date": "visit_date", "kind": "kind", "visitor": "visitor_name", "flags": "flags",
                     "findings": "findings", "走访情况": "findings", "反映问题": "problems", "跟进说明": "follow_up_note"}
            key = field.get(getattr(exc, "field", None) or "", "visit_date")
            err(key if key in columns else "visit_date", str(exc.message).rstrip("。"), "")
            continue
        row.pop("_household_number", None)
        seen.setdefault((row["household_id"], row["visit_date"], row["kind"], row["visitor_name"]), []).append(res)
        res.values, res.status = row, "new"
    mark_repeated(seen.values(), lambda x, rows_txt: CellError(
        plan.sheet, x.row, plan.headers.get("visit_date", "走访日期"), columns.get("visit_date"), None,
        f"第 {rows_txt} 行是同一次走访（同户、同日、同类型、同走访人）", "请删除重复的行"))


def apply_visits(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
    summary = _summary(plan)
    good = _good(plan, ("new",))
    with db.write() as tx:
        rows = []
        for n, r in enumerate(good):
            checkpoint(n, len(good), progress, cancelled, "正在写入…")
            rows.append({**r.values, "created_at": tx.now})
        if cancelled is not None and cancelled():
            raise ImportCancelled("已取消导入，未作任何改动。")
        tx.insert_many("visit", rows, summary=summary)


# -- the households ledger -----------------------------------------------------------------------
HH_SIMPLE = ("ext_number", "origin_township", "origin_village", "move_in_date", "hukou_moved", "residence_permit",
             "property_cert", "garden_plot_m2", "status", "notes")


def households_header(found: set[str]) -> bool:
    return "hh_number" in found and ("head_name" in found or "size" in found)


def looks_like_households(header_cells: list[Any]) -> bool:
    return households_header(HOUSEHOLDS.keys_of(header_cells)) and norm_header("姓名") not in {
        norm_header(c) for c in header_cells}


def plan_households(db: Database, plan: ImportPlan, rows: Rows, *, progress: ProgressFn | None = None,
                    cancelled: Callable[[], bool] | None = None) -> None:
    """Household attributes by 户编号: changed, or new households (which need their room)."""
    columns, headers, labels = plan.columns, plan.headers, HOUSEHOLDS.labels
    parsed = read_rows(HOUSEHOLDS, plan, rows, progress=progress, cancelled=cancelled)
    numbers = sorted({v["hh_number"] for _, v, _ in parsed if v.get("hh_number")})
    existing: dict[str, list[Record]] = {}
    for h in query_in(db, "SELECT * FROM household WHERE deleted = 0 AND number IN ({marks})", numbers):
        existing.setdefault(h["number"], []).append(dict(h))
    places = Places(db)
    occupants = {row[0]: (row[1], row[2]) for row in db.query(
        "SELECT room_id, id, number FROM household WHERE deleted = 0 AND status = '在住' AND room_id IS NOT NULL")}
    claimed: dict[str, str] = {}
    seen: dict[str, list[RowResult]] = {}
    for r, values, errs in parsed:
        number = values.get("hh_number") or ""
        res = RowResult(row=r + 1, status="error", hh_number=number, name=number, errors=errs)
        plan.rows.append(res)
        err = reporter(HOUSEHOLDS, plan, r, values, errs, show=cell_show)
        if errs:
            continue
        if not number:
            err("hh_number", "户编号为空", "每行都要有户编号")
            continue
        seen.setdefault(number, []).append(res)
        found = existing.get(number, [])
        if len(found) > 1:
            err("hh_number", f"系统中有多户使用户编号“{number}”", "请先在居民管理中处理重复的户编号")
            continue
        old = found[0] if found else {}
        want: Record = {}
        place = [k for k in ("building", "unit", "room") if k in values]
        if place:
            if len(place) < 3:
                err(place[0], "楼栋、单元、房号要一起填写", "")
                continue
            if not _room_for(want, values, old, number, places, occupants, claimed, err):
                continue
        elif not old:
            err("building" if "building" in columns else "hh_number", "新户需要填写楼栋、单元、房号",
                "请填写该户所住的楼栋、单元和房号（家庭成员请用居民花名册导入）")
            continue
        want.update({k: values[k] for k in HH_SIMPLE if k in values})
        if "tags" in values:
            want.update(values["tags"])
        if "risk" in values:
            want["risk_colour"] = values["risk"]
        if not old:
            res.values, res.status = want, "new"
            continue
        res.person_id = old["id"]  # the household's id
        diffs = {k: v for k, v in want.items() if v != old.get(k) and not (k in TAG_COLUMNS and v == (old.get(k) or 0))}
        if not diffs:
            res.status = "unchanged"
            continue
        res.values, res.status = diffs, "updated"
        for k, v in diffs.items():
            if k == "room_id":
                res.changes.append(("房屋", place_text(places, old.get("room_id")), place_text(places, v)))
            elif k == "risk_colour":
                res.changes.append(("风险等级", RISK_DISPLAY.get(old.get(k) or "", ""), RISK_DISPLAY.get(v, "")))
            elif k in TAG_COLUMNS:
                if not any(c[0] == "户标签" for c in res.changes):
                    res.changes.append(("户标签", cell_show("tags", {c: old.get(c) for c in TAG_COLUMNS}),
                                        cell_show("tags", {c: want.get(c, old.get(c)) for c in TAG_COLUMNS})))
            else:
                res.changes.append((headers.get(k, labels[k]), shown(HOUSEHOLDS, k, old.get(k)),
                                    shown(HOUSEHOLDS, k, v)))
    mark_repeated(seen.values(), lambda x, rows_txt: CellError(
        plan.sheet, x.row, headers.get("hh_number", "户编号"), columns.get("hh_number"), x.hh_number,
        f"同一户编号出现在第 {rows_txt} 行", "每户只能有一行，请删除重复的行"))


def _room_for(want: Record, values: Record, old: Record, number: str, places: Places,
              occupants: dict[str, tuple[str, str]], claimed: dict[str, str], err: ErrFn) -> bool:
    """The room a row names, into want["room_id"]; False (and the row's error) when it cannot be."""
    try:
        want["room_id"] = room = places.room(str(values["building"]), int(values["unit"]), str(values["room"]))
    except CellProblem as p:
        err("building", p.problem, p.hint)
        return False
    occ = occupants.get(room)
    if room != old.get("room_id") and occ is not None and occ[0] != old.get("id"):
        err("building", f"{place_text(places, room)} 已住有户号 {occ[1]} 的住户", "一间房只能住一户")
        return False
    if claimed.setdefault(room, number) != number:
        err("building", f"{place_text(places, room)} 在本文件中已分给户 {claimed[room]}", "一间房只能住一户，请核对房号")
        return False
    return True


def apply_households(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                     cancelled: Callable[[], bool] | None = None) -> None:
    entered = dt.date.today().isoformat()  # a new household's first visit is due from today at the earliest
    _apply_records(db, plan, "household", progress=progress, cancelled=cancelled,
                   new_row=lambda r: {"number": r.hh_number, **r.values, "entered_date": entered},
                   update=lambda tx, hid, values, summary: update_household(db, tx, hid, values, summary))


# -- the training ledger -------------------------------------------------------------------------
COURSE_FIELDS = ("kind", "provider", "end_date", "hours", "with_certificate", "certificate_name")


@dataclass
class CoursePlan:
    """A course the file names (by name and start date): on record or new, and what changes."""

    first: int  # 0-based row that first names it
    id: str | None  # None: created by the import
    given: Record  # its fields as that row gives them
    set: Record  # what is written (a new course's whole row, or the changed fields)
    changes: list[tuple[str, str, str]]
    error: tuple[str, str] | None = None  # (field key, problem)


def _course_plan(key: tuple[str, str], values: Record, r: int, old_course: Record | None, plan: ImportPlan
                 ) -> CoursePlan:
    from app.models.employment import training

    columns, headers = plan.columns, plan.headers
    given = {k: values[k] for k in COURSE_FIELDS if k in values}
    entry = CoursePlan(r, old_course["id"] if old_course else None, given, {}, [])
    if old_course is None:
        try:
            entry.set = training.validate_course({"name": key[0], "start_date": key[1], **given})
        except ValidationError as exc:
            field = {"name": "course", "start_date": "start_date"}.get(exc.field or "", exc.field or "kind")
            entry.error = (field if field in columns else "course", str(exc.message).rstrip("。"))
        return entry
    diffs = {k: v for k, v in given.items() if v != old_course.get(k)}
    if diffs:
        try:
            training.validate_course({**old_course, **diffs})
        except ValidationError as exc:
            entry.error = (exc.field if exc.field and exc.field in columns else "course", str(exc.message).rstrip("。"))
        entry.set = diffs
        # The course's own fields as their cells show them.
        entry.changes = [(headers.get(k, TRAINING.labels[k]), show_value(old_course.get(k)) if old_course.get(k)
                          is not None else "", show_value(v)) for k, v in diffs.items()]
    return entry


def plan_training(db: Database, plan: ImportPlan, rows: Rows, *, progress: ProgressFn | None = None,
                  cancelled: Callable[[], bool] | None = None) -> None:
    """Attendance rows; a course is found by name and start date, or created from the first row naming it."""
    from app.models.employment import training

    labels = TRAINING.labels
    raw = read_rows(TRAINING, plan, rows, progress=progress, cancelled=cancelled)
    by_id, by_name = _people(db, raw)
    courses: dict[tuple[str, str], Record] = {}
    for c in db.query("SELECT * FROM training_course WHERE deleted = 0"):
        courses.setdefault((c["name"], c["start_date"]), dict(c))
    attendance: dict[tuple[str, str], Record] = {}
    for a in db.query("SELECT * FROM training_attendance WHERE deleted = 0"):
        attendance.setdefault((a["course_id"], a["person_id"]), dict(a))
    course_plan: dict[tuple[str, str], CoursePlan] = {}
    seen: dict[tuple[Any, ...], list[RowResult]] = {}
    for r, values, errs in raw:
        res, err, person = _person_row(TRAINING, plan, r, values, errs, by_id, by_name)
        if person is None:
            continue
        if not values.get("course") or not values.get("start_date"):
            key = "course" if not values.get("course") else "start_date"
            err(key, f"缺少{labels[key]}", "每行都要有培训名称和开始日期")
            continue
        ckey = (values["course"], values["start_date"])
        entry = course_plan.get(ckey)
        if entry is None:
            entry = course_plan[ckey] = _course_plan(ckey, values, r, courses.get(ckey), plan)
            if entry.error is not None:
                err(entry.error[0], entry.error[1], "")
                continue
        else:
            clash = [k for k in COURSE_FIELDS if k in values and k in entry.given and values[k] != entry.given[k]]
            if clash:
                err(clash[0], f"同一培训班（{ckey[0]}，{ckey[1]}）在第 {entry.first + 1} 行填的是"
                    f"“{show_value(entry.given[clash[0]])}”，与本行不一致", "同一培训班各行的培训信息应一致")
                continue
            if entry.error is not None:
                err("course", f"这个培训班的信息有错，见第 {entry.first + 1} 行", "")
                continue
        seen.setdefault((ckey, person["id"]), []).append(res)
        old = attendance.get((entry.id, person["id"])) if entry.id else None
        mine: Record = {k: values[k] for k in ("certificate_obtained", "notes") if k in values}
        if old is None:
            try:
                training.check_participants(db, ckey[1], [person["id"]])
            except ValidationError as exc:
                err("name", str(exc.message).replace("\n", "").rstrip("。"), "")
                continue
            res.values = {"course": ckey, "person_id": person["id"], "certificate_obtained": mine.get("certificate_obtained")
                          or 0, "notes": mine.get("notes")}
            res.status = "new"
        else:
            diffs = {k: v for k, v in mine.items() if v != old.get(k)}
            res.person_id = old["id"]
            res.values = {"course": ckey, **diffs}
            res.changes = [(plan.headers.get(k, labels[k]), shown(TRAINING, k, old.get(k)), shown(TRAINING, k, v))
                           for k, v in diffs.items()]
            res.status = "updated" if diffs else "unchanged"
        if entry.first == r and entry.changes:
            res.changes.extend(entry.changes)
            if res.status == "unchanged":
                res.status = "updated"
    plan.extra["courses"] = course_plan
    mark_repeated(seen.values(), lambda x, rows_txt: CellError(
        plan.sheet, x.row, plan.headers.get("name", "姓名"), plan.columns.get("name"), x.name,
        f"第 {rows_txt} 行是同一人参加同一培训班", "请删除重复的行"))


def apply_training(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                   cancelled: Callable[[], bool] | None = None) -> None:
    """Write the plan. A ledger row carries no sessions: a new course is one whole-course session,
    a new participant attended every session of the course, and a participant already on the
    course keeps the sessions ticked for them."""
    from app.models.employment import training

    summary = _summary(plan)
    course_plan: dict[tuple[str, str], CoursePlan] = plan.extra.get("courses", {})
    good = _good(plan)
    used = {r.values["course"] for r in good}
    ok_rows = {r.row for r in plan.rows if r.status != "error"}
    with db.write() as tx:
        ids: dict[tuple[str, str], str] = {}
        for key, entry in course_plan.items():
            if entry.error is not None:
                continue
            if entry.id is None:
                if key in used:
                    ids[key] = tx.insert("training_course", entry.set, summary=summary)
                    training.follow_course(tx, ids[key])
            else:
                ids[key] = entry.id
                if entry.set and entry.first + 1 in ok_rows:
                    tx.update("training_course", entry.id, entry.set, summary=summary)
                    training.follow_course(tx, entry.id)
        for n, r in enumerate(good):
            checkpoint(n, len(good), progress, cancelled, "正在写入…")
            values = {k: v for k, v in r.values.items() if k != "course"}
            if r.status == "new":
                course_id = ids[r.values["course"]]
                att = tx.insert("training_attendance", {"course_id": course_id, **values}, summary=summary)
                training.present_at_all_sessions(tx, att, course_id)
            elif values:
                assert r.person_id is not None
                tx.update("training_attendance", r.person_id, values, summary=summary)


# -- the people a ledger of records names --------------------------------------------------------
People = dict[Any, list[Record]]


def _people(db: Database, raw: Raw) -> tuple[People, People]:
    """The people a file names: by ID number, and by (household number, name) for rows without one."""
    ids = sorted({v["id_number"] for _, v, _ in raw if v.get("id_number")})
    by_id: People = {}
    for p in query_in(db, "SELECT id, name, id_number FROM person WHERE deleted = 0 AND id_number IN ({marks})", ids):
        by_id.setdefault(p["id_number"], []).append(dict(p))
    numbers = sorted({v["hh_number"] for _, v, _ in raw if v.get("hh_number") and not v.get("id_number")})
    by_name: People = {}
    for p in query_in(db, "SELECT p.id, p.name, h.number FROM person p JOIN household h ON h.id = p.household_id "
                      "WHERE p.deleted = 0 AND h.number IN ({marks})", numbers):
        by_name.setdefault((p["number"], p["name"]), []).append(dict(p))
    return by_id, by_name


def _person_row(spec: LedgerSpec, plan: ImportPlan, r: int, values: Record, errs: list[CellError], by_id: People,
                by_name: People) -> tuple[RowResult, ErrFn, Record | None]:
    """A row of a ledger of a person's records: its result (an error until found otherwise), its
    error reporter and the person it names (None when the row is wrong already or names nobody)."""
    res = RowResult(row=r + 1, status="error", name=values.get("name") or "", id_number=values.get("id_number") or "",
                    hh_number=values.get("hh_number") or "", errors=errs)
    plan.rows.append(res)
    err = reporter(spec, plan, r, values, errs)
    return res, err, None if errs else _find_person(values, by_id, by_name, err)


def _find_person(values: Record, by_id: People, by_name: People, err: ErrFn) -> Record | None:
    person = None
    if values.get("id_number"):
        found = by_id.get(values["id_number"], [])
        if not found:
            err("id_number", "系统中没有这个身份证号的居民", "请先在居民管理中登记此人（或先导入居民花名册）")
        elif len(found) > 1:
            err("id_number", "系统中有两条以上记录使用这个身份证号", "请先在居民管理中合并重复的居民")
        else:
            person = found[0]
    elif values.get("hh_number") and values.get("name"):
        found = by_name.get((values["hh_number"], values["name"]), [])
        if len(found) == 1:
            person = found[0]
        else:
            err("name", f"户 {values['hh_number']} 中{'没有' if not found else '有多位'}叫“{values['name']}”的居民",
                "请填写身份证号")
    else:
        err("id_number", "缺少身份证号", "每行都要有身份证号（或户编号加姓名）")
    if person is not None and values.get("name") and values["name"] != person["name"]:
        err("name", f"与身份证号不符（系统中此身份证号是“{person['name']}”）", "请核对姓名或身份证号")
        return None
    return person


# -- the registry entries of this module's ledgers -----------------------------------------------
def _has(spec: LedgerSpec, *keys: str) -> Callable[[list[Any]], bool]:
    """Does a header row name all of `keys` of this ledger?"""
    wanted = set(keys)
    return lambda header_cells: wanted <= spec.keys_of(header_cells)


IMPORTERS = (
    LedgerImporter("employment", EMPLOYMENT.title, EMPLOYMENT.aliases, EMPLOYMENT.labels,
                   _has(EMPLOYMENT, "kind", "start_date"),
                   "看起来不是就业台账：表头中没有“就业形式”和“开始日期”。", rows_planner(plan_employment), apply_employment),
    LedgerImporter("visits", VISITS.title, VISITS.aliases, VISITS.labels,
                   lambda cells: visits_header(VISITS.keys_of(cells)),
                   "看起来不是走访台账：表头中没有“户编号”“走访日期”和“走访类型”。", rows_planner(plan_visits), apply_visits,
                   header_finder(VISITS.aliases, visits_header)),
    LedgerImporter("intentions", INTENTIONS.title, INTENTIONS.aliases, INTENTIONS.labels,
                   _has(INTENTIONS, "kind", "recorded_date", "name"),
                   "看起来不是需求台账：表头中没有“姓名”“需求类型”和“登记日期”。", rows_planner(plan_intentions), apply_intentions),
    LedgerImporter("training", TRAINING.title, TRAINING.aliases, TRAINING.labels,
                   _has(TRAINING, "course", "start_date", "name"),
                   "看起来不是培训台账：表头中没有“姓名”“培训名称”和“开始日期”。", rows_planner(plan_training), apply_training),
    LedgerImporter("households", HOUSEHOLDS.title, HOUSEHOLDS.aliases, HOUSEHOLDS.labels, looks_like_households,
                   "看起来不是搬迁户台账：表头中没有“户编号”和“户主姓名”（或“人口数”）。", rows_planner(plan_households),
                   apply_households, header_finder(HOUSEHOLDS.aliases, households_header)),
)
