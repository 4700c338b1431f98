"""The message seam (app.ui.common.messages): the real boxes it builds, and the test fixture that
records and answers them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.ui.common import messages as seam


@pytest.fixture
def real_boxes(messages, monkeypatch):
    """The seam's own boxes, answered by `click(button)` once they are up: a button's text or
    standard button, or None for Esc. Returns what each box showed."""
    monkeypatch.setattr(seam, "_present", messages.real_present)
    seen: list[dict] = []

    def click(button: str | QMessageBox.StandardButton | None) -> list[dict]:
        def poll() -> None:
            box = QApplication.activeModalWidget()
            if not isinstance(box, QMessageBox):
                QTimer.singleShot(10, poll)
                return
            default = box.defaultButton()
            seen.append({"title": box.windowTitle(), "text": box.text(), "name": box.objectName(),
                         "default": box.standardButton(default) if default else None, "details": box.detailedText(),
                         "informative": box.informativeText(), "icon": box.icon(),
                         "buttons": [b.text() for b in box.buttons()]})
            if button is None:
                box.reject()
            elif isinstance(button, str):
                next(b for b in box.buttons() if b.text() == button).click()
            else:
                box.button(button).click()

        QTimer.singleShot(0, poll)
        return seen

    return click


def test_a_destructive_question_defaults_to_no_and_a_plain_one_to_yes(qtbot, real_boxes):
    yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
    seen = real_boxes(yes)
    assert seam.confirm_destructive(None, "删除培训", "删除培训“电工”？") is True
    assert seen[0]["default"] == no and seen[0]["title"] == "删除培训"
    real_boxes(no)
    assert seam.confirm(None, "同一天再次走访", "仍然保存吗？") is False
    assert seen[1]["default"] in (None, yes)  # Qt's own choice, as QMessageBox.question makes it
    real_boxes(None)  # Esc is no
    assert seam.confirm(None, "确认导入", "是否继续？") is False


def test_choose_returns_the_option_clicked_or_none(qtbot, real_boxes):
    seen = real_boxes("搬迁住户…")
    options = ["搬迁住户…"]
    assert seam.choose(None, "还有住户", "还住着 1 户", options, cancel="关闭", icon="warning",
                       object_name="placeHasHouseholdsBox") == "搬迁住户…"
    assert seen[0]["name"] == "placeHasHouseholdsBox" and seen[0]["buttons"] == ["搬迁住户…", "关闭"]
    assert seen[0]["icon"] == QMessageBox.Icon.Warning
    real_boxes("关闭")
    assert seam.choose(None, "还有住户", "还住着 1 户", options, cancel="关闭") is None


def test_an_error_with_details_folds_them_away(qtbot, real_boxes):
    seen = real_boxes(QMessageBox.StandardButton.Ok)
    seam.error(None, "程序出错", "程序遇到了意外错误。", informative="错误详情已写入：x.log", details="Traceback …",
               object_name="crashDialog")
    assert seen[0]["name"] == "crashDialog" and seen[0]["icon"] == QMessageBox.Icon.Critical
    assert (seen[0]["informative"], seen[0]["details"]) == ("错误详情已写入：x.log", "Traceback …")


def test_the_fixture_records_answers_and_refuses_what_it_was_not_told(messages):
    log = type(messages)()  # a second log, so that its complaints do not fail this test
    seam_present = log.present
    seam_present(None, seam.Message("warn", "无法保存", "电话号码不对"))
    log.answer(True, "搬迁住户…")
    assert seam_present(None, seam.Message("confirm", "删除", "删除？")) is True
    assert seam_present(None, seam.Message("choose", "还有住户", "…", options=("搬迁住户…",))) == "搬迁住户…"
    assert log.said == ["电话号码不对"] and log.asked == ["删除？", "…"]
    log.check()  # everything asked was answered, every answer used

    with pytest.raises(AssertionError, match="unanswered confirm: 删除培训"):
        seam_present(None, seam.Message("confirm", "删除培训", "删除培训“电工”？"))
    with pytest.raises(pytest.fail.Exception, match="did not expect"):
        log.check()

    wrong = type(messages)()
    wrong.answer("好")
    with pytest.raises(AssertionError, match="does not answer"):
        wrong.present(None, seam.Message("confirm", "删除", "删除？"))

    left = type(messages)()
    left.answer(False)
    with pytest.raises(pytest.fail.Exception, match="never asked"):
        left.check()

    always = type(messages)()
    always.always(False)
    assert [always.present(None, seam.Message("confirm", "删除", str(i))) for i in range(3)] == [False] * 3
    always.check()
