"""The recovery code, shown once when a database is encrypted, and its one-page sheet 数据恢复码 (PDF)."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.models.core.errors import KnownError
from app.models.core.safe_files import check_pdf, write_bytes
from app.ui.common import messages
from app.ui.printing.printing import ensure_fonts

SHEET_TITLE = "数据恢复码"


def sheet_html(code: str, community: str, db_name: str, when: dt.date) -> str:
    esc = html.escape
    return f"""
<h1 style="font-size:26pt; text-align:center; margin-bottom:4pt;">{SHEET_TITLE}</h1>
<p style="text-align:center; font-size:12pt; color:#444;">安居台账 · {esc(community or '（未填写社区名称）')}</p>
<table width="100%" cellpadding="4" style="font-size:11pt; margin-top:10pt;">
<tr><td width="28%">社区：</td><td>{esc(community or '（未填写）')}</td></tr>
<tr><td>数据库文件：</td><td>{esc(db_name)}</td></tr>
<tr><td>生成日期：</td><td>{when:%Y年%m月%d日}</td></tr>
</table>
<p style="font-size:12pt; margin-top:18pt;">恢复码：</p>
<p style="font-family:'DejaVu Sans Mono', monospace; font-size:25pt; font-weight:bold; text-align:center;
   letter-spacing:2pt; border:2px solid #000; padding:14pt;">{esc(code)}</p>
<h3 style="font-size:14pt; margin-top:18pt;">这张纸有什么用</h3>
<p style="font-size:11.5pt;">本社区的居民数据在电脑上是<b>加密保存</b>的，平时用各人的账号和密码打开。
<b>如果所有账号的密码都忘记了</b>，只有这个恢复码能打开数据：有了它，就能重新设置管理员密码；
没有它，任何人（包括技术人员）都无法再打开这些数据和它们的备份。</p>
<h3 style="font-size:14pt; margin-top:12pt;">请这样保管</h3>
<ul style="font-size:11.5pt;">
<li>把这张纸<b>锁进保险柜或上锁的抽屉</b>，由社区负责人保管；<b>不要</b>和电脑、U 盘或备份放在一起。</li>
<li>不要拍照、不要存进电脑或手机、不要发到微信或邮箱：拿到恢复码和数据库文件的人就能看到全部居民信息。</li>
<li>交接工作时，把这张纸当面交给接任的负责人，并登记。</li>
<li>若怀疑恢复码被人看到，请及时联系技术支持人员处理。</li>
</ul>
<h3 style="font-size:14pt; margin-top:12pt;">需要用它时</h3>
<p style="font-size:11.5pt;">请技术人员在这台电脑上运行：<br>
<span style="font-family:monospace;">anju recover --db 数据库文件 --code-file 恢复码文件 --new-password-file 新密码文件</span><br>
它会为“管理员”账号设置新密码；之后用新密码登录，再在“账号管理”中为其他人重设密码。</p>
"""


def write_sheet_pdf(target: str | Path, code: str, community: str, db_name: str,
                    when: dt.date | None = None) -> Path:
    """The one-page sheet as a PDF (written to a temporary name, checked, renamed)."""
    family = ensure_fonts()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(SHEET_TITLE)
    writer.setResolution(300)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(18, 18, 18, 18), QPageLayout.Unit.Millimeter))
    doc = QTextDocument()
    doc.setDefaultFont(QFont(family, 11))
    doc.setHtml(sheet_html(code, community, db_name, when or dt.date.today()))
    rect = writer.pageLayout().paintRectPixels(writer.resolution())
    painter = QPainter(writer)
    try:
        # Laid out at 96 dpi points, painted scaled to the writer's resolution: one page.
        scale = writer.resolution() / 96
        doc.setPageSize(QSizeF(rect.width() / scale, rect.height() / scale))
        painter.scale(scale, scale)
        doc.drawContents(painter)
    finally:
        painter.end()
    buffer.close()
    return write_bytes(target, bytes(data.data()), check=check_pdf, what="恢复码单")


class RecoveryCodeDialog(QDialog):
    """Shown once after a database is encrypted: the code, what it is for, and its sheet to print."""

    def __init__(self, code: str, community: str, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.code = code
        self.community = community
        self.db_path = Path(db_path)
        self.saved: Path | None = None
        self.setObjectName("recoveryCodeDialog")
        self.setWindowTitle("安居台账 — 数据恢复码")
        self.setMinimumWidth(560)
        intro = QLabel(
            "<b>数据库已加密。</b>居民数据从现在起加密保存，用各人的账号和密码打开。<br>"
            "下面是<b>数据恢复码</b>：所有密码都丢失时，只有它能打开数据。它<b>只显示这一次</b>。"
            "请保存并打印恢复码单，锁在与电脑分开的地方。", self)
        intro.setWordWrap(True)
        shown = QLabel(code, self)
        shown.setObjectName("recoveryCode")
        shown.setStyleSheet("font-family: monospace; font-size: 20pt; font-weight: bold; padding: 10px;"
                            "border: 2px solid #333;")
        shown.setTextInteractionFlags(shown.textInteractionFlags())
        self.keep = QCheckBox("我已把恢复码单打印（或抄写）好，并会锁在与电脑分开的地方", self)
        self.keep.setObjectName("recoveryKept")
        buttons = QDialogButtonBox(self)
        save = buttons.addButton("保存恢复码单（PDF）…", QDialogButtonBox.ButtonRole.ActionRole)
        save.setObjectName("recoverySave")
        save.clicked.connect(self.save_sheet)
        self.done_button = buttons.addButton("完成", QDialogButtonBox.ButtonRole.AcceptRole)
        self.done_button.setObjectName("recoveryDone")
        self.done_button.setEnabled(False)
        self.keep.toggled.connect(self.done_button.setEnabled)
        self.done_button.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(shown)
        layout.addWidget(self.keep)
        layout.addWidget(buttons)

    def choose_file(self) -> str:
        name, _ = QFileDialog.getSaveFileName(self, "保存恢复码单", str(Path.home() / "数据恢复码.pdf"), "PDF (*.pdf)")
        return name

    def save_sheet(self) -> None:
        name = self.choose_file()
        if not name:
            return
        try:
            self.saved = write_sheet_pdf(name, self.code, self.community, self.db_path.name)
        except KnownError as exc:
            messages.warn(self, "无法保存", str(exc))
            return
        messages.info(self, "已保存", f"恢复码单已保存到“{self.saved}”。请打印出来，然后从电脑上删除这个文件。")

    def reject(self) -> None:  # the code is shown once: closing needs the box ticked
        if self.keep.isChecked():
            super().reject()
