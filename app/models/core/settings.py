"""Office settings (synced between the office's PCs), with defaults for every key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.models.core import backup
from app.models.core.db import Database
from app.models.core.errors import PermissionDeniedError

DEFAULTS: dict[str, Any] = {
    "office_name": "红路馨居社区服务中心",
    "office_address": "",
    "office_phone": "",
    # Visit rhythm in days by risk colour; 四必访 groups get at most this interval.
    "visit_interval_red": 1,
    "visit_interval_yellow": 7,
    "visit_interval_green": 30,
    "visit_interval_special": 7,
    "working_age_min": 16,
    "working_age_max": 60,
    "stable_job_months": 6,
    "mediation_limit_楼栋": 3,
    "mediation_limit_社区": 15,
    "mediation_limit_街道": 30,
    # Minutes without keyboard or mouse before the window locks (set by the administrator).
    "lock_idle_minutes": 10,
    "mediation_categories": ["邻里", "家庭/婚姻", "物业费", "劳资/欠薪", "土地/山林", "其他"],
}


def get(db: Database, key: str) -> Any:
    raw = db.scalar("SELECT value FROM setting WHERE id = ? AND deleted = 0", (key,))
    if raw is None:
        if key not in DEFAULTS:
            raise KeyError(key)
        return DEFAULTS[key]
    return json.loads(raw)


def get_all(db: Database) -> dict[str, Any]:
    out = dict(DEFAULTS)
    for row in db.query("SELECT id, value FROM setting WHERE deleted = 0"):
        out[row["id"]] = json.loads(row["value"])
    return out


def set_value(db: Database, key: str, value: Any) -> None:
    from app.models.core.audit_events import Action, record_event

    if key in DEFAULTS and not db.principal.can_change_settings:
        # Remembered import column mappings (not office settings) stay open to every writer.
        raise PermissionDeniedError("只有系统管理员可以修改单位设置（单位名称、走访频次、调解时限、自动锁定等）。")
    raw = json.dumps(value, ensure_ascii=False)
    with db.write() as tx:
        old = db.scalar("SELECT value FROM setting WHERE id = ?", (key,))
        if old is not None or db.scalar("SELECT 1 FROM setting WHERE id = ?", (key,)):
            changed = tx.update("setting", key, {"value": raw, "deleted": 0}, summary=f"设置 {key}")
        else:
            changed = {"value": (None, raw)}
            tx.insert("setting", {"id": key, "value": raw}, summary=f"设置 {key}")
        if changed:
            record_event(db, Action.SETTING_CHANGE, {"key": key, "old": old, "new": raw})


def set_values(db: Database, values: Mapping[str, Any], *, second_place: str | None = None,
               label: str = "修改单位设置") -> None:
    """The 单位设置 form's save, all or nothing: the settings that change and, when given, this PC's
    second backup place."""
    with db.write(label=label):
        for key, value in values.items():
            if get(db, key) != value:
                set_value(db, key, value)
        if second_place is not None:
            backup.set_second_place(db, second_place)
