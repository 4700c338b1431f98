"""Windows and dialogs fit a small screen (office PCs at 1366×768)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QDialog

from app.widgets import screen_fit


def test_a_dialog_taller_than_the_screen_is_brought_inside_it(qtbot):
    screen_fit.install(QApplication.instance())
    try:
        area = screen_fit.available()
        dlg = QDialog()
        qtbot.addWidget(dlg)
        dlg.resize(area.width() + 300, area.height() + 200)
        dlg.show()
        dlg.activateWindow()
        qtbot.waitUntil(lambda: dlg.height() <= area.height() and dlg.width() <= area.width())
    finally:
        QApplication.instance().focusWindowChanged.disconnect(screen_fit._clamp_dialog)


def test_print_preview_fits(qtbot):
    area = screen_fit.available()
    dlg = QDialog()
    qtbot.addWidget(dlg)
    screen_fit.fit_size(dlg, 900, 1000)
    assert dlg.height() <= area.height() * screen_fit.MARGIN and dlg.width() <= 900
