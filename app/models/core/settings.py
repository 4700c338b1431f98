"""Office settings (synced between the office's PCs): a typed registry, after MusicBrainz Picard's options.

Each :class:`Setting` says its key, type, default, allowed range or length, Chinese label and help
text, and who may change it. The registry checks every value written (:func:`set_value`,
:func:`set_values`), so the CLI, an import and the settings dialog (which is generated from the
registry) all refuse the same things with the same Chinese message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from app.models.core import backup
from app.models.core.access import Principal
from app.models.core.db import Database
from app.models.core.errors import PermissionDeniedError, ValidationError


class Changer(StrEnum):
    """Who may change a setting."""

    ADMIN = "系统管理员"
    WRITER = "可修改台账的用户"

    def allows(self, principal: Principal) -> bool:
        return principal.can_change_settings if self is Changer.ADMIN else principal.can_write_records


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One office setting. ``section`` groups it in the settings dialog; ``in_dialog`` is False for
    a setting edited elsewhere (the mediation categories, whose removal checks the cases using them)."""

    key: str
    label: str
    help: str = ""
    section: str = "单位"
    changer: Changer = Changer.ADMIN
    in_dialog: bool = True
    kind: ClassVar[str] = ""

    @property
    def default(self) -> Any:  # pragma: no cover - every kind has one
        raise NotImplementedError

    def clean(self, value: Any) -> Any:
        """The value to store, or ValidationError (naming this setting) when it may not be."""
        raise NotImplementedError

    def _refuse(self, why: str) -> ValidationError:
        return ValidationError(f"{self.label}{why}", field=self.key)


@dataclass(frozen=True, kw_only=True)
class TextSetting(Setting):
    text_default: str = ""
    max_length: int = 100
    required: str = ""  # why it may not be empty (the message's second half); "" = may be empty
    kind: ClassVar[str] = "text"

    @property
    def default(self) -> str:
        return self.text_default

    def clean(self, value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if not text and self.required:
            raise self._refuse(f"不能为空：{self.required}")
        if len(text) > self.max_length:
            raise self._refuse(f"太长：最多 {self.max_length} 个字（现在 {len(text)} 个字）。")
        return text


@dataclass(frozen=True, kw_only=True)
class IntSetting(Setting):
    int_default: int
    minimum: int
    maximum: int
    unit: str = ""  # 天, 岁, 个月, 分钟
    kind: ClassVar[str] = "int"

    @property
    def default(self) -> int:
        return self.int_default

    def clean(self, value: Any) -> int:
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None:
            raise self._refuse(f"应填写整数（{self.minimum} 到 {self.maximum} {self.unit}），“{value}”不是整数。")
        if not self.minimum <= number <= self.maximum:
            raise self._refuse(f"应在 {self.minimum} 到 {self.maximum} {self.unit}之间（填写的是 {number}）。")
        return number


@dataclass(frozen=True, kw_only=True)
class TextListSetting(Setting):
    list_default: tuple[str, ...] = ()
    max_length: int = 40  # of each entry
    kind: ClassVar[str] = "text_list"

    @property
    def default(self) -> list[str]:
        return list(self.list_default)

    def clean(self, value: Any) -> list[str]:
        items = [str(v).strip() for v in (value.splitlines() if isinstance(value, str) else value or [])]
        items = [v for v in items if v]
        if not items:
            raise self._refuse("至少要保留一项。")
        repeated = sorted({v for v in items if items.count(v) > 1})
        if repeated:
            raise self._refuse(f"中“{'、'.join(repeated)}”重复了。")
        long = [v for v in items if len(v) > self.max_length]
        if long:
            raise self._refuse(f"中“{long[0]}”太长：每项最多 {self.max_length} 个字。")
        return items


_VISITS = "走访频次"
_WORK = "就业统计"
_MEDIATION = "调解时限"

SETTINGS: tuple[Setting, ...] = (
    TextSetting(key="office_name", label="单位名称", text_default="红路馨居社区服务中心", max_length=40,
                required="它印在每一张表格的抬头上。", help="印在打印表格的抬头和导出文件里，也显示在窗口标题上。"),
    TextSetting(key="office_address", label="单位地址", help="印在调解协议书等表格上。"),
    TextSetting(key="office_phone", label="联系电话", max_length=40, help="印在调解协议书等表格上。"),
    # Visit rhythm in days by risk colour; 四必访 groups get at most this interval.
    IntSetting(key="visit_interval_red", label="红色户走访间隔", int_default=1, minimum=1, maximum=60, unit="天",
               section=_VISITS, help="红色（高风险）户两次走访最多相隔的天数；超过即列入“到期未访”。"),
    IntSetting(key="visit_interval_yellow", label="黄色户走访间隔", int_default=7, minimum=1, maximum=90, unit="天",
               section=_VISITS, help="黄色（关注）户两次走访最多相隔的天数。"),
    IntSetting(key="visit_interval_green", label="绿色户走访间隔", int_default=30, minimum=1, maximum=180, unit="天",
               section=_VISITS, help="绿色（稳定）户两次走访最多相隔的天数。"),
    IntSetting(key="visit_interval_special", label="四必访对象最长间隔", int_default=7, minimum=1, maximum=90, unit="天",
               section=_VISITS, help="独居老人、留守儿童等四必访对象所在户，无论颜色，最多相隔的天数。"),
    # The two ranges do not overlap, so the lower bound stays below the upper one.
    IntSetting(key="working_age_min", label="劳动年龄下限", int_default=16, minimum=14, maximum=30, unit="岁",
               section=_WORK, help="统计劳动力、就业率时计入的最小年龄（含）。"),
    IntSetting(key="working_age_max", label="劳动年龄上限", int_default=60, minimum=45, maximum=75, unit="岁",
               section=_WORK, help="统计劳动力、就业率时计入的最大年龄（含）。"),
    IntSetting(key="stable_job_months", label="稳定就业最短月数", int_default=6, minimum=1, maximum=24, unit="个月",
               section=_WORK, help="连续就业达到这个月数才算“稳定就业”。"),
    IntSetting(key="mediation_limit_楼栋", label="楼栋调解时限", int_default=3, minimum=1, maximum=365, unit="天",
               section=_MEDIATION, help="案件在楼栋层级办结的期限；超过在调解台账中标红。"),
    IntSetting(key="mediation_limit_社区", label="社区调解时限", int_default=15, minimum=1, maximum=365, unit="天",
               section=_MEDIATION, help="案件在社区层级办结的期限。"),
    IntSetting(key="mediation_limit_街道", label="街道调解时限", int_default=30, minimum=1, maximum=365, unit="天",
               section=_MEDIATION, help="案件在街道层级办结的期限。"),
    # Minutes without keyboard or mouse before the window locks (set by the administrator).
    IntSetting(key="lock_idle_minutes", label="无人操作自动锁定", int_default=10, minimum=1, maximum=120, unit="分钟",
               section="安全", help="这么久没有键盘和鼠标操作，窗口锁定，需要输入密码才能继续。"),
    TextListSetting(key="mediation_categories", label="纠纷类别",
                    list_default=("邻里", "家庭/婚姻", "物业费", "劳资/欠薪", "土地/山林", "其他"),
                    section=_MEDIATION, in_dialog=False,
                    help="调解台账的类别选项；在“矛盾调解 → 调解设置”中修改（已有案件使用的类别不能删除）。"),
)

REGISTRY: dict[str, Setting] = {s.key: s for s in SETTINGS}
DEFAULTS: dict[str, Any] = {s.key: s.default for s in SETTINGS}

# Values remembered for the clerk (not office settings): free-form, open to every writer.
MEMORY_PREFIXES = ("import_mapping",)


def sections() -> Iterator[tuple[str, list[Setting]]]:
    """The settings the dialog shows, by section, in registry order."""
    seen: dict[str, list[Setting]] = {}
    for s in SETTINGS:
        if s.in_dialog:
            seen.setdefault(s.section, []).append(s)
    yield from seen.items()


def get(db: Database, key: str) -> Any:
    raw = db.scalar("SELECT value FROM setting WHERE id = ? AND deleted = 0", (key,))
    if raw is None:
        if key not in REGISTRY:
            raise KeyError(key)
        return REGISTRY[key].default
    return json.loads(raw)


def get_all(db: Database) -> dict[str, Any]:
    out = {s.key: s.default for s in SETTINGS}  # fresh lists: a caller may change what it is given
    for row in db.query("SELECT id, value FROM setting WHERE deleted = 0"):
        out[row["id"]] = json.loads(row["value"])
    return out


def clean(key: str, value: Any) -> Any:
    """The registry's check of one value (ValidationError with a Chinese message naming the setting)."""
    setting = REGISTRY.get(key)
    if setting is None:
        if not key.startswith(MEMORY_PREFIXES):
            raise KeyError(f"unknown setting {key!r}")  # a programming error, not a clerk's
        return value
    return setting.clean(value)


def set_value(db: Database, key: str, value: Any) -> None:
    from app.models.core.audit_events import Action, record_event

    value = clean(key, value)
    setting = REGISTRY.get(key)
    changer = setting.changer if setting is not None else Changer.WRITER
    if not changer.allows(db.principal):
        if changer is Changer.ADMIN:
            raise PermissionDeniedError("只有系统管理员可以修改单位设置（单位名称、走访频次、调解时限、自动锁定等）。")
        raise PermissionDeniedError(f"只有{changer}可以修改“{setting.label if setting else key}”。")
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
    second backup place. Every value is checked before anything is written."""
    cleaned = {key: clean(key, value) for key, value in values.items()}
    with db.write(label=label):
        for key, value in cleaned.items():
            if get(db, key) != value:
                set_value(db, key, value)
        if second_place is not None:
            backup.set_second_place(db, second_place)
