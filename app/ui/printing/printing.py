"""Printed forms: HTML templates → QTextDocument on A4 pages, with preview, printer and PDF output."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontDatabase,
    QImage,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextDocument,
)

from app.models.core import masking
from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.core.safe_files import DiskFullError
from app.models.excel.ledgers import has_personal_columns, masked_view
from app.models.excel.list_table import ListTable
from app.models.forms import forms
from app.paths import resource_dir
from app.ui.common import messages
from app.widgets.screen_fit import fit_size

# Bundled in resources/fonts (see make_font.py there); the system's Noto Sans CJK SC is the fallback.
FONT_FAMILY = "Anju Noto Sans SC"
FALLBACK_FAMILY = "Noto Sans CJK SC"
BODY_POINT_SIZE = 10.5  # 五号, the size of ordinary Chinese office forms
FOOTER_POINT_SIZE = 8.0
# Millimetres. The bottom margin holds the page number line.
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 16.0, 18.0, 18.0, 18.0
FOOTER_FROM_BOTTOM = 9.0
MAX_PREVIEW_RECORDS = 20
PDF_RESOLUTION = 600

ProgressFn = Callable[[int, int, str], Any]


class PrintCancelled(KnownError):
    """The clerk pressed Cancel during a batch; nothing was written."""

    def __init__(self) -> None:
        super().__init__("已取消打印，未生成文件。")


class TemplateError(KnownError):
    """A print template is missing or its {{#…}}/{{/…}} marks do not pair up."""


# -- templates ------------------------------------------------------------------------------
# A small subset of Mustache, so an office can reword a form in resources/templates/*.html:
# {{name}} (escaped), {{a.b}}, {{.}}; {{#list}}…{{/list}} repeats per item (or shows once if
# truthy), {{^x}}…{{/x}} shows when x is empty or false.
_TAG = re.compile(r"{{\s*([#^/]?)\s*([\w.]+)\s*}}")


def template_dir() -> Path:
    return resource_dir() / "templates"


def _parse(text: str, name: str) -> list:
    root: list = []
    stack: list[list] = [root]
    open_names: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        stack[-1].append(text[pos : m.start()])
        pos = m.end()
        kind, key = m.groups()
        if kind in ("#", "^"):
            node: tuple[str, str, list[Any]] = (kind, key, [])
            stack[-1].append(node)
            stack.append(node[2])
            open_names.append(key)
        elif kind == "/":
            if not open_names or open_names.pop() != key:
                raise TemplateError(f"模板 {name} 中的 {{{{/{key}}}}} 没有对应的开始标记。")
            stack.pop()
        else:
            stack[-1].append(("v", key))
    if open_names:
        raise TemplateError(f"模板 {name} 中的 {{{{#{open_names[-1]}}}}} 没有结束标记。")
    stack[-1].append(text[pos:])
    return root


def _lookup(contexts: list[Any], key: str) -> Any:
    if key == ".":
        return contexts[-1]
    first, *rest = key.split(".")
    for ctx in reversed(contexts):
        if isinstance(ctx, dict) and first in ctx:
            value = ctx[first]
            for part in rest:
                value = value.get(part) if isinstance(value, dict) else None
            return value
    return None


def _render(nodes: list, contexts: list[Any], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        kind, key, *children = node
        value = _lookup(contexts, key)
        if kind == "v":
            out.append(html.escape("" if value is None else str(value)).replace("\n", "<br/>"))
        elif kind == "#":
            if isinstance(value, (list, tuple)):
                for item in value:
                    _render(children[0], [*contexts, item], out)
            elif value:
                _render(children[0], [*contexts, value] if isinstance(value, dict) else contexts, out)
        elif kind == "^" and not value:
            _render(children[0], contexts, out)


_template_cache: dict[str, tuple[float, list]] = {}


def render_template(name: str, data: dict[str, Any]) -> str:
    """Fill resources/templates/<name>.html with `data` (re-read when the file changes)."""
    path = template_dir() / f"{name}.html"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise TemplateError(f"找不到打印模板 {path}。") from None
    cached = _template_cache.get(name)
    if cached is None or cached[0] != mtime:
        cached = (mtime, _parse(path.read_text(encoding="utf-8"), path.name))
        _template_cache[name] = cached
    out: list[str] = []
    _render(cached[1], [data], out)
    return "".join(out)


def stylesheet() -> str:
    path = template_dir() / "forms.css"
    return path.read_text(encoding="utf-8") if path.exists() else ""


# -- fonts and picture signs ----------------------------------------------------------------
_font_family: str | None = None


def ensure_fonts() -> str:
    """Load the bundled CJK font once, so every PC prints with the same glyphs and metrics."""
    global _font_family
    if _font_family is None:
        families: list[str] = []
        for path in sorted((resource_dir() / "fonts").glob("*.otf")):
            font_id = QFontDatabase.addApplicationFont(str(path))
            if font_id >= 0:
                families += QFontDatabase.applicationFontFamilies(font_id)
        _font_family = FONT_FAMILY if FONT_FAMILY in families else (families[0] if families else FALLBACK_FAMILY)
    return _font_family


_sign_cache: dict[str, QImage] = {}
SIGN_PIXELS = 480


def sign_image(key: str) -> QImage:
    """The building's picture sign as a high-resolution image; its Chinese name in a box without SVG."""
    image = _sign_cache.get(key)
    if image is not None:
        return image
    image = QImage(SIGN_PIXELS, SIGN_PIXELS, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    from app.widgets.sign_icon import paint_sign

    if not paint_sign(painter, key, QRectF(8, 8, SIGN_PIXELS - 16, SIGN_PIXELS - 16)):
        from app.models.places.signs import sign_name

        pen = QPen(QColor("black"))
        pen.setWidth(12)
        painter.setPen(pen)
        painter.drawRoundedRect(QRectF(12, 12, SIGN_PIXELS - 24, SIGN_PIXELS - 24), 40, 40)
        text = sign_name(key) or key
        font = QFont(ensure_fonts())
        font.setPixelSize(int(SIGN_PIXELS * (0.5 if len(text) <= 2 else 0.32)))
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(0, 0, SIGN_PIXELS, SIGN_PIXELS), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    _sign_cache[key] = image
    return image


# -- documents and pages --------------------------------------------------------------------


@dataclass
class Page:
    """Page geometry in device pixels."""

    width: float
    height: float
    left: float
    top: float
    content_width: float
    content_height: float
    footer_y: float

    @classmethod
    def of(cls, device: QPagedPaintDevice) -> Page:
        mm = device.logicalDpiX() / 25.4
        mm_y = device.logicalDpiY() / 25.4
        w, h = float(device.width()), float(device.height())
        return cls(
            w,
            h,
            MARGIN_LEFT * mm,
            MARGIN_TOP * mm_y,
            w - (MARGIN_LEFT + MARGIN_RIGHT) * mm,
            h - (MARGIN_TOP + MARGIN_BOTTOM) * mm_y,
            h - FOOTER_FROM_BOTTOM * mm_y,
        )


def build_document(form: str, data: dict[str, Any], device: QPagedPaintDevice | None = None, *,
                   template: str | None = None) -> QTextDocument:
    """The laid-out document of one copy of `form` (or of `template`); paginated to the device's A4 page when given."""
    family = ensure_fonts()
    doc = QTextDocument()
    if device is not None:
        doc.documentLayout().setPaintDevice(device)
    font = QFont(family)
    font.setPointSizeF(BODY_POINT_SIZE)
    doc.setDefaultFont(font)
    doc.setDocumentMargin(0)
    doc.setDefaultStyleSheet(stylesheet())
    text = render_template(template or forms.FORMS[form].template, data)
    _load(doc, text, data)
    if device is not None:
        page = Page.of(device)
        doc.setPageSize(QSizeF(page.content_width, page.content_height))
        keep_rows_whole(doc, text, data)
    return doc


def _load(doc: QTextDocument, text: str, data: dict[str, Any]) -> None:
    for key in _sign_keys(data):
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"sign:{key}"), sign_image(key))
    doc.setHtml(text)


# Qt paginates a table cell line by line, so a row with wrapped text can start at the foot of a
# page and end on the next. Such a row is moved by closing the table before it and reopening it
# (with its header) on a new page, until no row crosses a page edge.
MAX_ROW_FIXES = 200
_TABLE_OPEN = re.compile(r"<table\b[^>]*>", re.IGNORECASE)
_THEAD = re.compile(r"<thead>.*?</thead>", re.IGNORECASE | re.DOTALL)
_TR = re.compile(r"<tr[\s>]", re.IGNORECASE)


def header_tables(doc: QTextDocument) -> list[Any]:
    """Tables with a repeated header row (the data tables of a form), in document order."""
    from PySide6.QtGui import QTextTable

    out: list[Any] = []

    def walk(frame: Any) -> None:
        for child in frame.childFrames():
            if isinstance(child, QTextTable) and child.format().headerRowCount() > 0:
                out.append(child)
            walk(child)

    walk(doc.rootFrame())
    return out


def row_extent(doc: QTextDocument, table: Any, row: int) -> tuple[float, float]:
    """Top and bottom (document coordinates) of the text of one table row."""
    layout = doc.documentLayout()
    top, bottom = float("inf"), float("-inf")
    for col in range(table.columns()):
        cell = table.cellAt(row, col)
        if not cell.isValid() or cell.row() != row:
            continue
        first = layout.blockBoundingRect(cell.firstCursorPosition().block())
        last = layout.blockBoundingRect(cell.lastCursorPosition().block())
        top = min(top, first.top())
        bottom = max(bottom, last.bottom())
    return top, bottom


def split_rows(doc: QTextDocument) -> list[tuple[int, int]]:
    """(table index among header tables, row) of every row whose text crosses a page edge."""
    page_height = doc.pageSize().height()
    found = []
    for t_index, table in enumerate(header_tables(doc)):
        for row in range(table.format().headerRowCount(), table.rows()):
            top, bottom = row_extent(doc, table, row)
            if bottom - top > page_height * 0.8:
                continue  # taller than a page: it has to split somewhere
            if int(top // page_height) != int((bottom - 0.5) // page_height):
                found.append((t_index, row))
    return found


def _split_table_html(text: str, table_index: int, row: int) -> str | None:
    count = -1
    for m in _TABLE_OPEN.finditer(text):
        end = text.find("</table>", m.end())
        first_tr = _TR.search(text, m.end())
        thead = _THEAD.search(text, m.end())
        if thead is None or first_tr is None or thead.start() > first_tr.start() or thead.start() > end:
            continue
        count += 1
        if count != table_index:
            continue
        rows = [r.start() for r in _TR.finditer(text, m.end(), end)]
        if row >= len(rows) or row < 1:
            return None
        opening = m.group(0)
        opening = opening[:-1] + ' style="page-break-before: always;">'
        at = rows[row]
        return text[:at] + "</table>" + opening + thead.group(0) + text[at:]
    return None


def keep_rows_whole(doc: QTextDocument, text: str, data: dict[str, Any]) -> int:
    """Move rows that would split across pages to the next page; returns how many were moved."""
    moved = 0
    for _ in range(MAX_ROW_FIXES):
        crossing = split_rows(doc)
        if not crossing:
            break
        new_text = _split_table_html(text, *crossing[0])
        if new_text is None:
            break
        text = new_text
        _load(doc, text, data)
        moved += 1
    return moved


def _sign_keys(data: dict[str, Any]) -> list[str]:
    sign = data.get("sign")
    return [sign["key"]] if isinstance(sign, dict) and sign.get("key") else []


def setup_device(device: QPagedPaintDevice, landscape: bool = False) -> None:
    """A4, no device margins: the forms keep their own margins in every output alike."""
    orientation = QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
    device.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), orientation, QMarginsF(0, 0, 0, 0)))


def paint_documents(
    device: QPagedPaintDevice,
    documents: Iterable[tuple[QTextDocument, str]],
    painter: QPainter | None = None,
) -> int:
    """Paint documents one after another, each from a new page, with "第 n 页 / 共 m 页" footers.

    `documents` yields (document, footer title). Returns the number of pages painted.
    """
    own = painter is None
    painter = painter or QPainter(device)
    if not painter.isActive():
        raise KnownError("无法开始打印（打印机或文件不可用）。")
    page = Page.of(device)
    footer_font = QFont(ensure_fonts())
    footer_font.setPointSizeF(FOOTER_POINT_SIZE)
    pages = 0
    try:
        size = QSizeF(page.content_width, page.content_height)
        for doc, title in documents:
            if doc.pageSize() != size:  # setting it, even unchanged, lays the whole document out again
                doc.setPageSize(size)
            count = doc.pageCount()
            for i in range(count):
                if pages:
                    device.newPage()
                _paint_page(painter, doc, page, i)
                painter.setFont(footer_font)
                painter.setPen(QColor("#444444"))
                label = f"{title}    第 {i + 1} 页 / 共 {count} 页" if count > 1 else title
                painter.drawText(
                    QRectF(page.left, page.footer_y - page.height, page.content_width, page.height),
                    int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom),
                    label,
                )
                pages += 1
    finally:
        if own:
            painter.end()
    return pages


def _paint_page(painter: QPainter, doc: QTextDocument, page: Page, index: int) -> None:
    painter.save()
    painter.translate(page.left, page.top - index * page.content_height)
    clip = QRectF(0, index * page.content_height, page.content_width, page.content_height)
    painter.setClipRect(clip)
    ctx = QAbstractTextDocumentLayout.PaintContext()
    ctx.clip = clip
    doc.documentLayout().draw(painter, ctx)
    painter.restore()


# -- jobs: from a database selector to pages --------------------------------------------------
PRINT_LABELS_KEPT = 20  # record labels named in one print event; a batch also gives its count


@dataclass
class PrintJob:
    """What one print request covers: the form and the ids of its records (None = blank form)."""

    form: str
    record_ids: list[str | None]
    today: dt.date

    def file_name(self, db: Database) -> str:
        """一户一档_HLX-000123 王五_20261204.pdf for one record; the count for several."""
        ids = self.record_ids
        what = forms.record_label(db, self.form, ids[0]) if len(ids) == 1 else f"{len(ids)}份"
        from app.widgets.file_dialogs import file_name

        return file_name(self.spec.title, what, suffix=".pdf", day=self.today)

    @classmethod
    def select(cls, db: Database, form: str, selector: Mapping[str, str | None],
               *, today: dt.date | None = None) -> PrintJob:
        """The forms chosen by `selector` (household=…, building=…, case=…, as forms.records takes)."""
        return cls(form, forms.records(db, form, **selector), today or dt.date.today())

    @property
    def spec(self) -> forms.FormSpec:
        return forms.FORMS[self.form]

    @property
    def id_notice(self) -> str:
        if self.spec.full_id_numbers:
            return "本表含完整身份证号码（依规定需要），请妥善交付本人，勿外传。"
        return "本表已脱敏：" + masking.describe() + "。"

    def documents(
        self, db: Database, device: QPagedPaintDevice, progress: ProgressFn | None = None, limit: int | None = None
    ) -> Iterator[tuple[QTextDocument, str]]:
        ids = self.record_ids[:limit] if limit else self.record_ids
        total = len(ids)
        for n, record_id in enumerate(ids):
            if progress is not None and progress(n, total, forms.record_label(db, self.form, record_id)) is False:
                raise PrintCancelled()
            data = forms.gather(db, self.form, record_id, today=self.today)
            yield build_document(self.form, data, device), self.footer(data)
        if progress is not None:
            progress(total, total, "完成")

    def footer(self, data: dict[str, Any]) -> str:
        office = data.get("office", {}).get("name", "")
        return f"{office}  {self.spec.title}".strip()

    def print_event(self, db: Database, target: str, pages: int) -> dict[str, Any]:
        """What the audit keeps of one print: the form, which records (first few by name), where to."""
        labels = [forms.record_label(db, self.form, rid) for rid in self.record_ids[:PRINT_LABELS_KEPT]]
        return {
            "form": self.form, "title": self.spec.title, "records": labels, "count": len(self.record_ids),
            "pages": pages, "to": target, "full_id_numbers": self.spec.full_id_numbers,
        }


LIST_TEMPLATE = "list_table"
# Rows of 9 pt text per A4 page (landscape, portrait), leaving room for a few rows that wrap.
LIST_ROWS_PER_PAGE = {True: 24, False: 38}


class ListPrintJob(PrintJob):
    """A list window's table (零就业家庭名单, 待走访住户清单 …) printed as one simple table form.

    The list is printed in its masked variant (ID numbers, phones; no birth dates or ages). Wide lists go across the page. The rows are laid out a
    page at a time: one document of 3,000 rows took minutes to keep its rows whole across pages.
    """

    def __init__(self, table: ListTable, today: dt.date | None = None) -> None:
        super().__init__("list", [None], today or dt.date.today())
        self.table = table
        # Pages as counted before laying out (progress and the preview's notice); about right.
        per_page = LIST_ROWS_PER_PAGE[self.spec.landscape]
        self.record_ids = [None] * max(1, -(-len(table.rows) // per_page))

    @property
    def spec(self) -> forms.FormSpec:
        return forms.FormSpec("list", self.table.title, LIST_TEMPLATE, False, (), landscape=len(self.table.columns) > 6)

    def file_name(self, db: Database) -> str:
        from app.widgets.file_dialogs import file_name

        return file_name(self.table.title, self.table.scope, suffix=".pdf", day=self.today)

    def data(self, db: Database, start: int = 0, stop: int | None = None) -> dict[str, Any]:
        """The template's data for rows [start:stop] (all of them by default) as one document."""
        stop = len(self.table.rows) if stop is None else stop
        columns, masked_rows = masked_view(self.table.columns, self.table.rows[start:stop])
        rows = [
            {"no": n, "cells": ["" if v is None else str(v) for v in row]}
            for n, row in enumerate(masked_rows, start=start + 1)
        ]
        return {
            "office": forms.office(db), "today": forms.chinese_date(self.today), "title": self.table.title,
            "scope": self.table.scope, "headers": [c.header for c in columns], "rows": rows,
            "count": len(self.table.rows), "unit": self.table.unit,
            "masked": has_personal_columns(self.table.columns), "first": start == 0,
            "last": stop >= len(self.table.rows),
        }

    def documents(
        self, db: Database, device: QPagedPaintDevice, progress: ProgressFn | None = None, limit: int | None = None
    ) -> Iterator[tuple[QTextDocument, str]]:
        """One document per page: as many rows as fit, found by laying out a guess and cutting it at
        the first row that went over (a row that wraps takes two lines)."""
        total = len(self.table.rows)
        office = forms.office(db)["name"]
        guess = LIST_ROWS_PER_PAGE[self.spec.landscape]
        start, page = 0, 0
        while start < total or page == 0:
            if limit and page >= limit:
                break
            if progress is not None and progress(start, max(total, 1), f"第 {page + 1} 页") is False:
                raise PrintCancelled()
            stop = min(total, start + guess)
            doc = build_document(self.form, self.data(db, start, stop), device, template=LIST_TEMPLATE)
            if doc.pageCount() > 1 and stop - start > 1:
                tables = header_tables(doc)
                fit = max(1, tables[0].rows() - tables[0].format().headerRowCount()) if tables else 1
                stop = start + min(fit, stop - start - 1)
                doc = build_document(self.form, self.data(db, start, stop), device, template=LIST_TEMPLATE)
                while doc.pageCount() > 1 and stop - start > 1:  # the closing lines did not fit either
                    stop -= 1
                    doc = build_document(self.form, self.data(db, start, stop), device, template=LIST_TEMPLATE)
                guess = stop - start
            else:
                guess = stop - start + 2  # room left, perhaps: try a little more on the next page
            page += 1
            yield doc, f"{office}  {self.table.title}    第 {page} 页".strip()
            start = stop
        if progress is not None:
            progress(total, max(total, 1), "完成")

    def print_event(self, db: Database, target: str, pages: int) -> dict[str, Any]:
        return {"form": "list", "title": self.table.title, "scope": self.table.scope, "records": [],
                "count": len(self.table.rows), "pages": pages, "to": target, "full_id_numbers": False}


def write_pdf(db: Database, job: PrintJob, path: str | Path, progress: ProgressFn | None = None) -> int:
    """Write the job to a PDF file; returns the page count. Nothing is left behind on failure/cancel.

    Qt renders into memory one form at a time and every byte goes to disk through the data
    layer's safe writer, so a full disk or a pulled stick is noticed (not a truncated PDF
    reported as done), the temporary file is removed and the target is only ever complete.
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise KnownError(f"文件夹“{path.parent}”不存在。")
    done = [0]
    try:
        return _write_pdf_file(db, job, path, progress, done)
    except DiskFullError as exc:
        # Forms are of a size: what the finished ones took tells roughly what the whole file needs.
        total = len(job.record_ids)
        if done[0] and exc.needed and total > done[0]:
            raise DiskFullError(exc.folder, needed=exc.needed * total // done[0], what="PDF 文件",
                                estimate=True) from exc
        raise


def _write_pdf_file(db: Database, job: PrintJob, path: Path, progress: ProgressFn | None, done: list[int]) -> int:
    from PySide6.QtCore import QBuffer, QIODevice

    from app.models.core.safe_files import atomic_file, check_pdf

    with atomic_file(path, check=check_pdf, what="PDF 文件") as out:
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)

        def drain() -> None:
            # QPdfWriter counts its own byte offsets, so the buffer can be emptied between forms.
            data = buffer.data()
            if data.size():
                out.write(data.data())
                buffer.buffer().clear()
                buffer.seek(0)

        def drained(documents: Iterable[tuple[QTextDocument, str]]) -> Iterator[tuple[QTextDocument, str]]:
            for item in documents:
                yield item
                drain()  # the previous form is painted once the next one is asked for
                done[0] += 1

        writer = QPdfWriter(buffer)
        writer.setResolution(PDF_RESOLUTION)
        writer.setCreator("安居台账")
        writer.setTitle(job.spec.title)
        setup_device(writer, job.spec.landscape)
        painter = QPainter(writer)
        try:
            pages = paint_documents(writer, drained(job.documents(db, writer, progress)), painter)
        finally:
            painter.end()
            del painter, writer  # the PDF's trailer is written when the writer goes
        drain()
        buffer.close()
    record_print(db, job, f"PDF：{path.name}", pages)
    return pages


def record_print(db: Database, job: PrintJob, target: str, pages: int) -> None:
    """One audit entry per print or PDF: the form, which records (first few by name), where to."""
    from app.models.core.audit_events import Action, record_event

    # direct write: the audit entry of a print (on the worker or the UI thread), not an edit
    record_event(db, Action.PRINT, job.print_event(db, target, pages))


def save_form_pdf(
    db: Database,
    form: str,
    path: str | Path,
    *,
    today: dt.date | None = None,
    progress: ProgressFn | None = None,
    **selector: str | None,
) -> int:
    """`save_form_pdf(db, "household-card", "户卡.pdf", building="3栋")`: returns the page count."""
    return write_pdf(db, PrintJob.select(db, form, selector, today=today), path, progress)


# -- GUI entry points (one line per print button) --------------------------------------------


def preview_form(ctx: Any, form: str, parent: Any = None, **selector: str | None) -> None:
    """Open the print preview of `form` for the selected record(s); print or save as PDF from there.

    e.g. ``preview_form(self.ctx, "household-card", self, household=number)``
    """
    from app.ui.common.crash import report_exception

    try:
        job = PrintJob.select(ctx.db, form, selector)
    except Exception as exc:  # noqa: BLE001 - a KnownError is shown as a message, a bug as a crash report
        report_exception(exc)
        return
    PrintPreview(ctx, job, parent).exec()


def save_form_pdf_dialog(ctx: Any, form: str, parent: Any = None, **selector: str | None) -> None:
    """Ask for a file name, then write the PDF with a progress dialog that can be cancelled."""
    from app.ui.common.crash import report_exception

    try:
        job = PrintJob.select(ctx.db, form, selector)
    except Exception as exc:  # noqa: BLE001
        report_exception(exc)
        return
    BatchRunner(ctx, job, parent).save_pdf()


class BatchRunner:
    """Runs a job to PDF or printer on the UI thread, one form at a time, with a QProgressDialog.

    Each form takes a few tens of milliseconds and events are processed between forms, so the
    window stays responsive and Cancel is honoured promptly.
    """

    def __init__(self, ctx: Any, job: PrintJob, parent: Any = None) -> None:
        self.ctx = ctx
        self.job = job
        self.parent = parent
        self.dialog: Any = None

    def _progress(self) -> ProgressFn:
        from PySide6.QtWidgets import QApplication, QProgressDialog

        total = len(self.job.record_ids)
        dlg = QProgressDialog(f"正在生成{self.job.spec.title}…", "取消", 0, total, self.parent)
        dlg.setObjectName("printProgressDialog")
        dlg.setWindowTitle("打印")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(300)
        self.dialog = dlg

        def report(done: int, total: int, text: str) -> bool:
            dlg.setMaximum(total)
            dlg.setValue(done)
            dlg.setLabelText(f"正在生成{self.job.spec.title}：{text}（{done}/{total}）")
            QApplication.processEvents()
            return not dlg.wasCanceled()

        return report

    def save_pdf(self, path: str | None = None) -> int | None:

        from app.ui.common.crash import report_exception

        if path is None:
            from app.widgets import file_dialogs

            path = file_dialogs.save_path(self.parent, "pdf", "保存为 PDF", self.job.file_name(self.ctx.db),
                                          "PDF 文件 (*.pdf)")
            if not path:
                return None
        try:
            pages = write_pdf(self.ctx.db, self.job, path, self._progress())
        except PrintCancelled:
            return None
        except Exception as exc:  # noqa: BLE001
            report_exception(exc)
            return None
        finally:
            if self.dialog is not None:
                self.dialog.close()
        messages.info(self.parent, "已保存", f"已保存 {pages} 页到\n{path}\n\n{self.job.id_notice}")
        return pages

    def print_to(self, printer: Any) -> int | None:
        from app.ui.common.crash import report_exception

        setup_device(printer, self.job.spec.landscape)
        try:
            pages = paint_documents(printer, self.job.documents(self.ctx.db, printer, self._progress()))
            record_print(self.ctx.db, self.job, f"打印机：{printer.printerName() or '默认打印机'}", pages)
            return pages
        except PrintCancelled:
            return None
        except Exception as exc:  # noqa: BLE001
            report_exception(exc)
            return None
        finally:
            if self.dialog is not None:
                self.dialog.close()


def make_printer(landscape: bool = False) -> Any:
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setFullPage(True)
    setup_device(printer, landscape)
    return printer


class PrintPreview:
    """QPrintPreviewDialog of a job, with a line saying whether ID numbers are whole or masked."""

    def __init__(self, ctx: Any, job: PrintJob, parent: Any = None) -> None:
        from PySide6.QtPrintSupport import QPrintPreviewDialog
        from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

        self.ctx = ctx
        self.job = job
        self.printer = make_printer(job.spec.landscape)
        self.dialog = QPrintPreviewDialog(self.printer, parent)
        self.dialog.setObjectName("printPreviewDialog")
        count = len(job.record_ids)
        shown = min(count, MAX_PREVIEW_RECORDS)
        title = f"打印预览 — {job.spec.title}"
        if count > 1:
            title += f"（共 {count} 份）"
        self.dialog.setWindowTitle(title)
        fit_size(self.dialog, 900, 1000)  # an A4 page, or as much as a 768-pixel screen shows
        bar = QWidget(self.dialog)
        row = QHBoxLayout(bar)
        row.setContentsMargins(8, 4, 8, 4)
        notice = job.id_notice
        if shown < count:
            notice += f"  预览只显示前 {shown} 份；打印和保存 PDF 包括全部 {count} 份。"
        self.notice = QLabel(notice, bar)
        self.notice.setObjectName("printIdNotice")
        self.notice.setAccessibleName("身份证号说明")
        if job.spec.full_id_numbers:
            self.notice.setStyleSheet("color: #b00020; font-weight: bold;")
        row.addWidget(self.notice, 1)
        self.pdf_button = QPushButton("保存为 PDF…", bar)
        self.pdf_button.setObjectName("printSavePdfButton")
        self.pdf_button.clicked.connect(self._save_pdf)
        row.addWidget(self.pdf_button)
        layout = self.dialog.layout()
        if layout is not None:
            layout.insertWidget(0, bar)  # type: ignore[attr-defined]
        self.dialog.paintRequested.connect(self._paint)

    def _paint(self, printer: Any) -> None:
        from PySide6.QtWidgets import QApplication

        from app.ui.common.crash import report_exception

        setup_device(printer, self.job.spec.landscape)
        preview_only = self._is_preview(printer)
        limit = MAX_PREVIEW_RECORDS if preview_only else None
        try:
            if preview_only:
                QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
                try:
                    paint_documents(printer, self.job.documents(self.ctx.db, printer, limit=limit))
                finally:
                    QApplication.restoreOverrideCursor()
            else:
                BatchRunner(self.ctx, self.job, self.dialog).print_to(printer)
        except Exception as exc:  # noqa: BLE001
            report_exception(exc)

    @staticmethod
    def _is_preview(printer: Any) -> bool:
        # While previewing, QPrintPreviewWidget swaps the printer's engine for a picture recorder;
        # the dialog's Print button paints onto the same QPrinter with its real engine.
        from PySide6.QtGui import QPaintEngine

        engine = printer.paintEngine()
        return engine is not None and engine.type() == QPaintEngine.Type.Picture

    def _save_pdf(self) -> None:
        BatchRunner(self.ctx, self.job, self.dialog).save_pdf()

    def exec(self) -> int:
        return self.dialog.exec()
