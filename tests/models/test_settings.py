"""The typed settings registry: defaults, ranges and lengths refused with a Chinese message, rules over
several settings, who may change what — the same for every path that writes a setting."""

from __future__ import annotations

import pytest

from app.models.core import accounts, settings
from app.models.core.access import Role
from app.models.core.errors import PermissionDeniedError, ValidationError


def test_every_setting_has_a_default_a_chinese_label_and_help(db):
    assert settings.get_all(db) == settings.DEFAULTS
    for s in settings.SETTINGS:
        assert s.label and s.help and not s.label.isascii() and not s.help.isascii(), s.key
        assert s.clean(s.default) == s.default, s.key  # a default passes its own check
        assert settings.get(db, s.key) == s.default
    assert settings.get(db, "visit_interval_green") == 30
    assert settings.get(db, "mediation_categories")[0] == "邻里"
    with pytest.raises(KeyError):
        settings.get(db, "no_such_setting")


def test_a_number_outside_its_range_is_refused_and_nothing_is_written(db):
    with pytest.raises(ValidationError) as refused:
        settings.set_value(db, "visit_interval_red", 61)
    assert str(refused.value) == "红色户走访间隔应在 1 到 60 天之间（填写的是 61）。"
    assert refused.value.field == "visit_interval_red"
    with pytest.raises(ValidationError, match="应填写整数"):
        settings.set_value(db, "stable_job_months", "半年")
    assert settings.get(db, "visit_interval_red") == 1
    assert db.scalar("SELECT count(*) FROM setting") == 0


def test_all_or_nothing_when_one_value_of_the_form_is_refused(db):
    with pytest.raises(ValidationError, match="单位名称不能为空"):
        settings.set_values(db, {"visit_interval_green": 20, "office_name": "  "})
    with pytest.raises(ValidationError, match="单位地址太长"):
        settings.set_values(db, {"visit_interval_green": 20, "office_address": "长" * 101})
    assert settings.get(db, "visit_interval_green") == 30
    settings.set_values(db, {"visit_interval_green": "20", "office_name": " 幸福里服务中心 "})
    assert settings.get(db, "visit_interval_green") == 20  # typed: stored as a number
    assert settings.get(db, "office_name") == "幸福里服务中心"


def test_the_working_age_ranges_cannot_cross(db):
    # The lower bound's range ends below the upper bound's: no pair of allowed values inverts them.
    low, high = settings.REGISTRY["working_age_min"], settings.REGISTRY["working_age_max"]
    assert isinstance(low, settings.IntSetting) and isinstance(high, settings.IntSetting)
    assert low.maximum < high.minimum
    with pytest.raises(ValidationError, match="劳动年龄上限应在 45 到 75 岁之间（填写的是 30）"):
        settings.set_values(db, {"working_age_min": 30, "working_age_max": 30})
    assert settings.get(db, "working_age_min") == 16


def test_a_list_setting_refuses_repeats_and_an_empty_list(db):
    with pytest.raises(ValidationError, match="纠纷类别中“邻里”重复了"):
        settings.set_value(db, "mediation_categories", ["邻里", "邻里"])
    with pytest.raises(ValidationError, match="至少要保留一项"):
        settings.set_value(db, "mediation_categories", [" "])


def test_only_the_administrator_changes_office_settings_but_a_clerk_keeps_an_import_mapping(db):
    accounts.add_account(db, "管理员", Role.ADMIN, "Admin-Pass-2026")
    accounts.add_account(db, "小李", Role.CLERK, "Clerk-Pass-2026")
    accounts.use_principal(db, accounts.authenticate(db, "小李", "Clerk-Pass-2026"))
    with pytest.raises(PermissionDeniedError, match="只有系统管理员可以修改单位设置"):
        settings.set_value(db, "office_name", "别的名字")
    settings.set_value(db, "import_mapping:abc", {"姓名": "name"})
    assert settings.get(db, "import_mapping:abc") == {"姓名": "name"}
    with pytest.raises(KeyError):
        settings.set_value(db, "misspelt_setting", 1)  # a programming error, not a clerk's
