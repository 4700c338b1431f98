"""The monthly 矛盾纠纷排查情况表 on a fixture with known counts."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core.errors import ValidationError
from app.models.mediation import mediation as med
from app.models.mediation import mediation_report as rep
from tests.builders.mediation import make_places


@pytest.fixture
def fixture(db):
    """Five cases received in 2026-03, one in 2026-02, one in 2026-04, with known outcomes."""
    p = make_places(db)
    two = [{"person_id": p["张三"]}, {"person_id": p["李四"]}]

    def case(date, category, source, title="纠纷"):
        return med.create_case(db, title=title, received_date=date, category=category, source=source,
                               building_id=p["building"], parties=two)

    ids = {
        "settled_followed": case("2026-03-02", "邻里", "走访发现"),
        "settled_only": case("2026-03-05", "物业费", "来访"),
        "failed": case("2026-03-10", "邻里", "网格上报"),
        "referred": case("2026-03-20", "劳资/欠薪", "热线"),
        "open": case("2026-03-31", "家庭/婚姻", "来访"),
        "feb_open": case("2026-02-27", "邻里", "来访"),
        "april": case("2026-04-01", "邻里", "来访"),
    }
    for key in ("settled_followed", "settled_only"):
        med.change_status(db, ids[key], "调解中", date="2026-03-06")
        med.change_status(db, ids[key], "已调解", date="2026-03-08", agreement_text="双方和解")
    med.add_followup(db, ids["settled_followed"], followup_date="2026-03-15", visitor="王", outcome="满意")
    med.change_status(db, ids["settled_followed"], "结案", date="2026-03-16")
    med.change_status(db, ids["failed"], "调解中", date="2026-03-11")
    med.change_level(db, ids["failed"], "社区", reason="楼栋调解未果", date="2026-03-12")
    med.change_status(db, ids["failed"], "调解不成", date="2026-04-02")
    med.change_status(db, ids["referred"], "已移交", date="2026-03-21", referred_to="劳动监察大队")
    return ids


def test_month_counts(db, fixture):
    r = rep.monthly_report(db, "2026-03", today=dt.date(2026, 4, 3))
    assert r["received"] == 5
    assert r["by_category"] == {"邻里": 2, "家庭/婚姻": 1, "物业费": 1, "劳资/欠薪": 1, "土地/山林": 0, "其他": 0}
    assert r["by_level"] == {"楼栋": 4, "社区": 1, "街道": 0}
    assert r["by_source"] == {"走访发现": 1, "来访": 2, "网格上报": 1, "热线": 1, "其他": 0}
    assert (r["settled"], r["failed"], r["referred"], r["in_progress"], r["closed"]) == (2, 1, 1, 1, 1)
    assert r["escalated"] == 1
    assert r["settlement_rate"] == pytest.approx(2 / 5)
    assert r["settled_followed_up"] == 1 and r["followup_rate"] == pytest.approx(1 / 2)
    # concluded in March by outcome date: the failure happened in April
    assert r["concluded_in_month"] == {"已调解": 2, "调解不成": 0, "已移交": 1}
    assert r["followups_in_month"] == 1
    # open cases received up to the month's end, April's case not among them; overdue first
    assert {c["id"] for c in r["open_cases"]} == {fixture["open"], fixture["feb_open"]}
    feb = next(c for c in r["open_cases"] if c["id"] == fixture["feb_open"])
    assert feb["colour"] == "red" and feb["days_left"] == 3 - 35
    assert r["open_cases"][0]["id"] == fixture["feb_open"]


def test_empty_month_and_bad_month(db, fixture):
    r = rep.monthly_report(db, "2025-07")
    assert r["received"] == 0 and r["settlement_rate"] is None and r["followup_rate"] is None
    assert rep.percent(r["settlement_rate"]) == "—"
    for bad in ("2026-13", "2026/03", "", "March"):
        with pytest.raises(ValidationError, match="月份"):
            rep.monthly_report(db, bad)


def test_report_html_has_the_figures(db, fixture):
    html = rep.report_html(rep.monthly_report(db, "2026-03"))
    assert "矛盾纠纷排查情况表（2026年3月）" in html
    assert "40.0%" in html and "50.0%" in html and "劳资/欠薪" in html
