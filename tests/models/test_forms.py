"""Tests of the data behind the printed forms (app.models.forms.forms), on a small fixture community."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core.errors import NotFoundError, ValidationError
from app.models.core.id_numbers import mask
from app.models.employment import training
from app.models.forms import forms
from tests.builders.forms import make_fixture

TODAY = dt.date(2026, 3, 20)
@pytest.fixture
def community(db):
    return make_fixture(db)


def test_every_form_is_described():
    for key, fs in forms.FORMS.items():
        assert fs.key == key and fs.title and fs.selectors
    assert [k for k, f in forms.FORMS.items() if f.full_id_numbers] == ["residence-certificate"]


def test_household_card_masks_ids_and_lists_members(db, community):
    data = forms.gather(db, "household-card", community["households"][0], today=TODAY)
    assert data["number"] == "HL0001"
    assert data["address"] == "红路馨居社区3栋1单元101"
    assert data["sign"]["key"] == "apple" and data["sign"]["name"] == "苹果"
    assert len(data["members"]) == 4 and data["members"][0]["relation"] == "户主"
    full = db.scalar("SELECT id_number FROM person WHERE id = ?", (community["persons"][0],))
    assert data["members"][0]["id_number"] == mask(full) and "*" in data["members"][0]["id_number"]
    assert "脱贫户" in data["tags"] and "低保" in data["tags"]
    assert data["jobs"][0]["employer"] == "馨居服装帮扶车间" and data["jobs"][0]["income"] == "3,200"
    assert data["visits"][0]["date"] == "2026-03-10"
    assert data["office"]["phone"] == "0851-1234567"


def test_household_without_job_but_with_labour_is_zero_employment(db, community):
    data = forms.gather(db, "household-card", community["households"][1], today=TODAY)
    assert "零就业家庭" in data["tags"]


def test_residence_certificate_has_the_full_number(db, community):
    pid = community["persons"][0]
    full = db.scalar("SELECT id_number FROM person WHERE id = ?", (pid,))
    data = forms.gather(db, "residence-certificate", pid, today=TODAY)
    assert data["id_number"] == full
    assert data["today"] == "2026年3月20日"
    assert data["move_in_date"] == "2024年5月1日"
    assert forms.records(db, "residence-certificate", person=full) == [pid]


def test_round_sheet_orders_rooms_and_computes_next_due(db, community):
    data = forms.gather(db, "round-sheet", community["b3"], today=TODAY)
    assert data["building"] == "3栋" and data["count"] == 45
    assert data["head_name"] == forms.gather(db, "household-card", community["households"][0])["head_name"]
    units = [h["unit"] for h in data["households"]]
    assert units == sorted(units)
    by_number = {h["number"]: h for h in data["households"]}
    # HL0001: red, visited 2026-03-10 → due the next day; HL0002: yellow, never visited → move-in + 7.
    assert by_number["HL0001"]["next_due"] == "03-11" and by_number["HL0001"]["overdue"]
    assert by_number["HL0002"]["next_due"] == "2024-05-08"
    # HL0009 is green, visited 2026-03-10 → 30 days; HL0005 (yellow) has an elderly person living alone.
    assert by_number["HL0009"]["next_due"] == "04-09" and not by_number["HL0009"]["overdue"]
    assert "孤寡老人" in by_number["HL0005"]["special"] and by_number["HL0005"]["next_due"] == "03-17"
    assert data["red"] + data["yellow"] + data["green"] == 45


def test_round_sheet_without_head(db, community):
    data = forms.gather(db, "round-sheet", community["b5"], today=TODAY)
    assert data["head_name"] == "（未设楼栋长）" and data["households"] == []
    assert data["sign"] == {"key": "nosuchsign", "name": "nosuchsign", "src": "sign:nosuchsign"}


def test_visit_form_blank_and_prefilled(db, community):
    assert forms.records(db, "visit-form") == [None]
    blank = forms.gather(db, "visit-form", None, today=TODAY)
    assert blank["blank"] and len(blank["kinds"]) == 6
    filled = forms.gather(db, "visit-form", community["households"][0], today=TODAY)
    assert filled["prefilled"] and filled["last_visit"]["date"] == "2026-03-10"


def test_mediation_agreement(db, community):
    data = forms.gather(db, "mediation-agreement", community["case"], today=TODAY)
    # The clerk's own numbering is printed as written, never renumbered.
    assert [t["no"] + t["text"] for t in data["terms"]][0] == "1、楼上住户于3月25日前修好防水层。"
    assert len(data["terms"]) == 3
    assert data["agreement_date"] == "2026年3月12日"
    assert [p["role"] for p in data["parties"]] == ["申请人", "被申请人"]
    assert all("*" in p["id_number"] for p in data["parties"])
    assert forms.records(db, "mediation-agreement", case="2026-0007") == [community["case"]]
    assert forms.records(db, "mediation-agreement", month="2026-03") == [community["case"]]


def test_agreement_refused_for_an_open_case(db, community):
    with pytest.raises(ValidationError):
        forms.gather(db, "mediation-agreement", community["open_case"], today=TODAY)


def test_monthly_disputes(db, community):
    data = forms.gather(db, "monthly-disputes", "2026-03", today=TODAY)
    assert data["received"] == data["count"] == 2
    assert (data["settled"], data["in_progress"]) == (1, 1)
    assert data["settlement_rate"] == "50.0%"
    assert data["month_text"] == "2026年3月"
    assert {"name": "邻里", "count": 1} in data["by_category"]
    assert "外来商户" in data["cases"][1]["parties"]
    assert data["cases"][0]["outcome"] == "已调解"
    april = forms.gather(db, "monthly-disputes", "2026-04", today=TODAY)
    assert april["count"] == 0 and april["earlier_count"] == 1  # 2026-0008 is still open


def test_training_attendance_and_certificate(db, community):
    (session,) = forms.records(db, "training-attendance", course="家政服务技能培训")  # one whole-course session
    data = forms.gather(db, "training-attendance", session, today=TODAY)
    assert data["count"] == 40 and data["hours"] == "40" and data["session_hours"] == "40"
    assert all("*" in p["id_number"] for p in data["people"])
    assert data["dates"] == "2026年3月1日 至 2026年3月5日" == data["session_date"]
    assert data["session"] == "第 1 次（共 1 次）"
    ids = forms.records(db, "training-certificate", course="家政服务技能培训")
    assert len(ids) == 40
    cert = forms.gather(db, "training-certificate", ids[0], today=TODAY)
    assert cert["course"] == "家政服务技能培训" and "*" in cert["id_number"]


def test_selectors_resolve_batches(db, community):
    assert len(forms.records(db, "household-card", building="3栋")) == 45
    assert len(forms.records(db, "household-card", building="3")) == 45
    assert forms.records(db, "household-card", household="HL0002") == [community["households"][1]]
    assert len(forms.records(db, "residence-certificate", household="HL0001")) == 4
    assert len(forms.records(db, "round-sheet")) == 2


@pytest.mark.parametrize(
    ("form", "selector", "error"),
    [
        ("household-card", {}, ValidationError),
        ("household-card", {"household": "NOPE"}, NotFoundError),
        ("household-card", {"month": "2026-03"}, ValidationError),
        ("round-sheet", {"building": "99栋"}, NotFoundError),
        ("monthly-disputes", {"month": "2026-13"}, ValidationError),
        ("mediation-agreement", {"case": "1999-0001"}, NotFoundError),
        ("training-attendance", {"course": "没有的班"}, NotFoundError),
        ("no-such-form", {}, ValidationError),
    ],
)
def test_bad_selectors_give_chinese_messages(db, community, form, selector, error):
    with pytest.raises(error) as info:
        forms.records(db, form, **selector)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(info.value))


def test_selectors_also_take_record_ids(db, community):
    """The print buttons on records pass ids; the command line passes names and numbers."""
    hid = community["households"][2]
    assert forms.records(db, "household-card", household=hid) == [hid]
    assert len(forms.records(db, "household-card", building=community["b3"])) == 45
    assert forms.records(db, "mediation-agreement", case=community["case"]) == [community["case"]]
    (session,) = forms.records(db, "training-attendance", course=community["course"])
    assert forms.records(db, "training-attendance", session=session) == [session]


def test_the_sign_in_sheet_of_one_session(db, community):
    """Chosen by number or date within its course; it shows that session and everyone on the course."""
    course = community["course"]
    # The builder put children on the course too; the course dialog would refuse them, so they leave it.
    people = [r[0] for r in db.query(
        "SELECT a.person_id FROM training_attendance a JOIN person p ON p.id = a.person_id "
        "WHERE a.course_id = ? AND a.deleted = 0 AND p.birth_date <= '2010-03-01'", (course,))]
    training.save_course_sessions(
        db, {"name": "家政服务技能培训", "kind": "技能提升", "start_date": "2026-03-01", "end_date": "2026-03-05",
             "with_certificate": 1, "certificate_name": "家政服务员"}, people,
        [training.SessionInput("2026-03-01", 4, start_time="9:00", topic="家政服务概述", place="社区活动室"),
         training.SessionInput("2026-03-02", 3.5, topic="母婴护理", present=set(people[:30]))], course_id=course)
    first, second = forms.records(db, "training-attendance", course="家政服务技能培训")
    assert forms.records(db, "training-attendance", course="家政服务技能培训", session="2") == [second]
    assert forms.records(db, "training-attendance", course="家政服务技能培训", session="2026/3/1") == [first]
    data = forms.gather(db, "training-attendance", second, today=TODAY)
    assert (data["session"], data["session_date"], data["session_hours"], data["topic"]) == (
        "第 2 次（共 2 次）", "2026年3月2日", "3.5", "母婴护理")
    assert data["count"] == len(people) > 30  # the absent ones still have a line to sign
    assert forms.gather(db, "training-attendance", first, today=TODAY)["session_date"] == "2026年3月1日 09:00"
    assert "第2次" in forms.record_label(db, "training-attendance", second)
    with pytest.raises(NotFoundError, match="没有第 3 次"):
        forms.records(db, "training-attendance", course="家政服务技能培训", session="3")
    with pytest.raises(NotFoundError, match="2026-03-09 没有课"):
        forms.records(db, "training-attendance", course="家政服务技能培训", session="2026-03-09")
    with pytest.raises(ValidationError, match="--course"):
        forms.records(db, "training-attendance", session="2")


def test_agreement_terms_keep_the_clerks_numbering():
    written = "一、甲方赔偿500元。\n二、乙方撤回投诉。"
    assert [t["no"] + t["text"] for t in forms.agreement_terms(written)] == ["一、甲方赔偿500元。", "二、乙方撤回投诉。"]
    plain = "\n".join(f"第{i}条" for i in range(1, 13))
    numbered = [t["no"] for t in forms.agreement_terms(plain)]
    assert numbered[:3] == ["一、", "二、", "三、"] and numbered[9:] == ["十、", "十一、", "十二、"]
    one = "经调解达成如下协议：一、甲方赔偿；二、乙方撤诉。"
    assert forms.agreement_terms(one) == [{"no": "", "text": one}]
