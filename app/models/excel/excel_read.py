"""What every Excel ledger import shares: checks on the file, reading a sheet, finding the header,
the plan and its row results, and turning the cells of a resident or household into stored values.

The planners of each ledger (app.models.excel.excel_import for residents, excel_import_ledgers,
excel_import_mediation, excel_import_rooms) build on this module and register a
:class:`LedgerImporter`; none of them imports another's private names.

Reading uses python-calamine (Rust): it reads .xlsx, .xls and .ods, one sheet at a time, and
was several times faster than openpyxl's read-only mode on this machine (bench/bench_excel.py).
openpyxl is used only to copy the original workbook into the error workbook.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.models.core import field_rules, vocab
from app.models.core.db import Database, Tx
from app.models.core.errors import KnownError
from app.models.core.excel_dates import DateError, parse_date
from app.models.core.id_numbers import IdNumberError
from app.models.core.id_numbers import parse as parse_id
from app.models.core.natural import natural_sorted
from app.models.core.safe_files import describe_os_error
from app.models.core.text_rules import NAME_KEYS, NOTE_LIMIT, control_problem, length_problem, limit_of
from app.models.excel.ledger_spec import (
    DATE,
    ID,
    INT,
    JOB_STATUS_SQL,
    LABOUR_SQL,
    MASK_BIRTHDATE,
    MASK_ID,
    MASK_PHONE,
    PHONE,
    RISK_SQL,
    TAGS_SQL,
    TEXT,
    FieldSpec,
    LedgerSpec,
    norm_header,
)
from app.models.excel.xlsx_stream import col_letters

if TYPE_CHECKING:
    from python_calamine import CalamineSheet  # loaded when a sheet is opened: it is large

# Limits checked before anything is loaded (a zip bomb inflates to gigabytes).
MAX_UNCOMPRESSED = 1024 * 1024 * 1024  # all parts together
MAX_RATIO = 150  # uncompressed / compressed for any part over 10 MB
MAX_ROWS = 200_000
CHUNK_BYTES = 1 << 20
HEADER_SCAN_ROWS = 30
PROGRESS_EVERY = 1000

ProgressFn = Callable[[int, int, str], None]

ZIP_MAGIC = b"PK\x03\x04"
CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")

CONVERT_HINT = "请在 Excel 或 WPS 中打开后“另存为”Excel 工作簿（.xlsx）再导入。"


col_letter = col_letters  # column 0 → "A", as the messages name a column


class ImportCancelled(KnownError):
    """The clerk cancelled; nothing was changed."""


def checkpoint(n: int, total: int, progress: ProgressFn | None, cancelled: Callable[[], bool] | None,
               text: str) -> None:
    """Every PROGRESS_EVERY rows: stop if the clerk cancelled, else report how far the import is."""
    if n % PROGRESS_EVERY:
        return
    if cancelled is not None and cancelled():
        raise ImportCancelled("已取消导入，未作任何改动。")
    if progress is not None:
        progress(n, total, text)


def filled_cells(
    cells: list[Any], columns: dict[str, int], skip: frozenset[str] | set[str] = frozenset()
) -> Iterator[tuple[str, int, Any]]:
    """(key, column, value) of the mapped cells of one row that hold something."""
    for key, c in columns.items():
        if key in skip:
            continue
        v = cells[c] if c < len(cells) else None
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        yield key, c, v


# -- what the cells of the resident ledger mean --------------------------------------------------
LABOUR_VALUES = {
    "全": "全", "全劳动力": "全", "劳动力": "全", "是": "全", "强劳动力": "全", "普通劳动力": "全",
    "技能劳动力": "全",
    "半": "半", "半劳动力": "半", "弱劳动力": "半", "部分劳动力": "半", "弱劳动力或半劳动力": "半",
    "无": "无", "无劳动力": "无", "丧失劳动力": "无", "非劳动力": "无", "否": "无", "无劳动能力": "无",
    "丧失劳动能力": "无",
}
LABOUR_DISPLAY = {"全": "全劳动力", "半": "半劳动力", "无": "无劳动力"}
RISK_VALUES = {"红": "red", "红色": "red", "黄": "yellow", "黄色": "yellow", "绿": "green", "绿色": "green"}
RISK_DISPLAY = {"red": "红", "yellow": "黄", "green": "绿"}
TAG_VALUES = {
    "脱贫户": "tag_lifted", "脱贫": "tag_lifted", "建档立卡户": "tag_lifted",
    "监测户": "tag_monitored", "监测对象": "tag_monitored", "防返贫监测户": "tag_monitored",
    "低保": "tag_dibao", "低保户": "tag_dibao",
    "特困": "tag_tekun", "特困户": "tag_tekun", "特困供养": "tag_tekun", "特困供养户": "tag_tekun",
}
TAG_COLUMNS = ("tag_lifted", "tag_monitored", "tag_dibao", "tag_tekun")
TAG_DISPLAY = {"tag_lifted": "脱贫户", "tag_monitored": "监测户", "tag_dibao": "低保", "tag_tekun": "特困"}
DERIVED_TAGS = {"零就业家庭", "零就业", "无"}
TAG_SPLIT = re.compile(r"[、,，;；/\s]+")
_PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|\d{7,8})$")
_DIGITS = re.compile(r"\d+")
TEXT_KEYS_EXACT = {"notes"}  # free text: kept exactly as typed (a leading tab or '=' included)



# -- results -----------------------------------------------------------------------------------
@dataclass
class CellError:
    sheet: str
    row: int  # Excel row number (1-based)
    column: str  # header text as in the file ("" for a whole-row problem)
    col_index: int | None  # 0-based column in the sheet
    value: Any
    problem: str
    hint: str = ""

    def message(self) -> str:
        where = f"工作表“{self.sheet}”第 {self.row} 行"
        if self.column:
            where += f"“{self.column}”列"
        val = "" if self.value in (None, "") else f"（值：{show_value(self.value)}）"
        hint = f"，{self.hint}" if self.hint else ""
        return f"{where}{val}：{self.problem}{hint}"


@dataclass
class RowResult:
    row: int
    status: str  # new / updated / unchanged / error
    name: str = ""
    id_number: str = ""
    hh_number: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (column, old, new)
    errors: list[CellError] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    person_id: str | None = None
    old_name: str | None = None  # the matched resident's stored name: pinyin is recomputed only if it changes
    reason: str = ""  # which household the row goes to, and why (a county ledger's rows)


@dataclass
class ImportPlan:
    path: Path
    ledger: str
    sheet: str
    header_row: int  # Excel row number
    columns: dict[str, int]  # field key → 0-based column
    headers: dict[str, str]  # field key → header text as in the file
    ignored_headers: list[str]
    rows: list[RowResult]
    stamp: int  # last change_log op when planned: a later write makes the plan stale
    # household number → (existing id or None, values to set)
    households: dict[str, dict] = field(default_factory=dict)
    # (size, mtime, sha256) of the file when planned: apply refuses a file changed since the preview
    source: tuple[int, int, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # what another ledger's apply needs (courses …)

    @property
    def counts(self) -> dict[str, int]:
        out = {"new": 0, "updated": 0, "unchanged": 0, "errors": 0}
        for r in self.rows:
            out["errors" if r.status == "error" else r.status] += 1
        return out

    @property
    def errors(self) -> list[CellError]:
        return [e for r in self.rows for e in r.errors]

    @property
    def households_new(self) -> int:
        """New households that at least one valid row creates."""
        if self.ledger == "households":
            return self.counts["new"]
        good = {r.hh_number for r in self.rows if r.status == "new" or r.status == "updated"}
        return sum(1 for n, e in self.households.items() if e.get("new") and e.get("error") is None and n in good)

    @property
    def places_new(self) -> int:
        if "places_new" in self.extra:  # a room list counts what it adds itself (excel_import_rooms)
            return int(self.extra["places_new"])
        index = self.extra.get("place_index")
        return 0 if index is None or not index.create else index.count_new

    def summary(self) -> str:
        c = self.counts
        unit = "人" if self.ledger == "residents" else "条"
        return (f"新增 {c['new']} {unit}，更新 {c['updated']} {unit}，无变化 {c['unchanged']} {unit}，"
                f"错误 {c['errors']} 行")


def show_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1e15 else str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


# -- the registry of importable ledgers --------------------------------------------------------
HeadRows = list[tuple[int, list[Any]]]


@dataclass(frozen=True)
class LedgerImporter:
    """One importable ledger: how its header is recognised, what its columns are called, its planner
    (dry run) and its apply. app.models.excel.excel_import keeps them in IMPORTERS, keyed by `kind`."""

    kind: str  # residents, households, employment …
    title: str  # 搬迁户台账 …
    aliases: Mapping[str, str]  # normalised header text → field key
    labels: Mapping[str, str]  # field key → the header named in messages
    looks_like: Callable[[list[Any]], bool]  # the header row's cells → is it this ledger
    refusal: str  # why a file said to be this ledger is not ("{file}" is its name)
    # (db, plan, sheet: SheetInput, progress=, cancelled=): fills plan.rows without writing anything
    plan: Callable[..., None]
    # (db, plan, progress=, cancelled=), inside apply_plan's transaction: writes the plan's valid
    # rows; returns figures for the result beside the counts (households_new …), or None
    apply: Callable[..., dict[str, int] | None]
    # Finds this ledger's header among the first rows when no resident header is there.
    find_header: Callable[[HeadRows, list], tuple[int, list[Any]] | None] | None = None
    mappable: bool = False  # the clerk may map its columns by hand (a mapping remembered per header row)


@dataclass
class SheetInput:
    """The sheet under a ledger's header, as its planner reads it."""

    rows: Iterator[tuple[int, list[Any]]]  # (0-based row, cells) under the header, streamed
    total: int  # how many rows that is at most (for progress)
    header_cells: list[Any]
    sample: list[Any]  # the first row under the header that holds something
    formulas: set[tuple[int, int]]  # (row, column), 0-based, of the formula cells
    create_places: bool  # buildings, units and rooms the sheet names are created by the import
    release: Callable[[], None]  # frees the workbook once its rows are read


RowsPlanner = Callable[..., None]  # (db, plan, rows: list of (0-based row, cells), progress=, cancelled=)
FORMULA_PROBLEM = ("单元格是公式，不是录入的值", "请把公式改为数值（复制后“选择性粘贴→数值”）再导入")


def rows_planner(plan_rows: RowsPlanner) -> Callable[..., None]:
    """A ledger's planner over the rows that hold something in one of its columns, read into a list
    first; a formula in one of those cells makes its row wrong."""
    def planner(db: Database, plan: ImportPlan, sheet: SheetInput, *, progress: ProgressFn | None = None,
                cancelled: Callable[[], bool] | None = None) -> None:
        rows: list[tuple[int, list[Any]]] = []
        for r, cells in sheet.rows:
            if len(rows) >= MAX_ROWS:
                raise KnownError(f"数据超过一次导入的上限 {MAX_ROWS} 行。请拆分成几个文件分批导入。")
            if any(cells[c] is not None for c in plan.columns.values() if c < len(cells)):
                rows.append((r, cells))
        if not rows:
            raise KnownError(f"工作表“{plan.sheet}”在表头（第 {plan.header_row} 行）下面没有数据。")
        plan_rows(db, plan, rows, progress=progress, cancelled=cancelled)
        by_row = {res.row: res for res in plan.rows}
        for r, c in sorted(sheet.formulas):
            res = by_row.get(r + 1)
            key = next((k for k, cc in plan.columns.items() if cc == c), None)
            if res is not None and key is not None:
                res.status, res.changes = "error", []
                res.errors.append(CellError(plan.sheet, r + 1, plan.headers[key], c, None, *FORMULA_PROBLEM))
    return planner


# -- the file ----------------------------------------------------------------------------------
def check_file(path: str | Path) -> str:
    """Refuse what is not a readable, sane spreadsheet; returns 'xlsx', 'xls' or 'ods'."""
    path = Path(path)
    if not path.exists():
        raise KnownError(f"找不到文件“{path}”。")
    if path.is_dir():
        raise KnownError(f"“{path}”是文件夹，请选择一个 Excel 文件。")
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except PermissionError as exc:
        raise KnownError(f"无法读取“{path.name}”：文件正被其他程序占用或没有权限，请先在 Excel/WPS 中关闭它。") from exc
    except OSError as exc:
        raise KnownError(f"无法读取“{path.name}”：{describe_os_error(exc)}（U 盘是否已拔出？）") from exc
    if not head:
        raise KnownError(f"“{path.name}”是空文件（0 字节），不是 Excel 工作簿。")
    if head.startswith(CFB_MAGIC):
        if _is_encrypted_cfb(path):
            raise KnownError(f"“{path.name}”设置了打开密码。请在 Excel/WPS 中输入密码打开，取消密码后另存，再导入。")
        return "xls"
    if not head.startswith(ZIP_MAGIC):
        kind = _guess_kind(head)
        raise KnownError(f"“{path.name}”不是 Excel 工作簿{kind}。请选择 .xlsx（或 .xls、.ods）文件。")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED:
                raise KnownError(
                    f"“{path.name}”解压后有 {total / 2**30:.1f} GB，远超正常台账（可能是恶意构造的压缩炸弹），已拒绝读取。"
                )
            for i in infos:
                if i.file_size > 10 * 2**20 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                    raise KnownError(
                        f"“{path.name}”中的“{i.filename}”压缩比异常（{i.file_size // max(i.compress_size, 1)} 倍，"
                        "可能是压缩炸弹），已拒绝读取。"
                    )
            # Inflate every part once (never past its declared size): a part that holds more than
            # it declares, or does not match its checksum, is a crafted or damaged file.
            for i in infos:
                with zf.open(i) as part:
                    while part.read(CHUNK_BYTES):
                        pass
            if "mimetype" in names and zf.read("mimetype").startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
                return "ods"
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "word/document.xml" in names:
                raise KnownError(f"“{path.name}”是 Word 文档，不是 Excel 工作簿。")
            raise KnownError(f"“{path.name}”是一个压缩包，但不是 Excel 工作簿。")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        problem = library_problem(exc)
        if "crc" in str(exc).lower():
            problem = "文件内容与它声明的大小或校验值不符，可能是恶意构造的压缩炸弹或文件已损坏，已拒绝读取"
        raise KnownError(f"“{path.name}”无法作为 Excel 工作簿读取：{problem}。") from exc
    except OSError as exc:
        raise KnownError(f"读取“{path.name}”时出错：{describe_os_error(exc)}（U 盘是否已拔出？）") from exc


def file_fingerprint(path: Path) -> tuple[int, int, str]:
    """(size, mtime, sha256): the plan of a preview is applied only to the very file it was made of."""
    import hashlib

    try:
        st = path.stat()
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                digest.update(chunk)
    except OSError as exc:
        raise KnownError(f"无法读取“{path.name}”：{describe_os_error(exc)}（U 盘是否已拔出？）未作任何改动。") from exc
    return st.st_size, st.st_mtime_ns, digest.hexdigest()


def _guess_kind(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "（这是 PDF 文件）"
    if head.startswith((b"<html", b"<!DOC", b"<?xml")):
        return "（这是网页/XML 文件；如果是从系统导出的“Excel”，请用 Excel 打开后另存为 .xlsx）"
    try:
        head.decode("utf-8")
        return "（看起来是文本文件）"
    except UnicodeDecodeError:
        return ""


# What the reading libraries say (in English), in words a clerk can act on.
_LIBRARY_PROBLEMS = (
    ("larger than its declared", "文件中的数据比它声明的大小更大，可能是恶意构造的压缩炸弹，已拒绝读取"),
    ("bad crc", "文件内容校验失败，文件已损坏或被篡改"),
    ("eocd", "文件结尾不完整（可能没有下载或复制完）"),
    ("end of central directory", "文件结尾不完整（可能没有下载或复制完）"),
    ("truncated", "文件不完整（可能没有下载或复制完）"),
    ("unexpected eof", "文件不完整（可能没有下载或复制完）"),
    ("not a zip", "文件不是有效的压缩包"),
    ("password", "文件设置了密码"),
    ("encrypt", "文件已加密"),
    ("compression method", "文件使用了不支持的压缩方式"),
    ("unsupported", "文件格式不受支持"),
    ("xml", "文件内部的数据格式已损坏"),
    ("not found", "文件缺少必需的组成部分"),
)


def library_problem(exc: BaseException) -> str:
    """A Chinese description of a reading library's error; its English text never reaches the clerk."""
    text = str(exc).lower()
    for needle, meaning in _LIBRARY_PROBLEMS:
        if needle in text:
            return meaning
    return "文件已损坏或格式不受支持"


def _is_encrypted_cfb(path: Path) -> bool:
    # An encrypted .xlsx is an OLE container holding "EncryptionInfo" and "EncryptedPackage".
    marker = "EncryptionInfo".encode("utf-16-le")
    with path.open("rb") as fh:
        data = fh.read(8 * 2**20)
    return marker in data or "EncryptedPackage".encode("utf-16-le") in data


def formula_cells(path: Path, sheet_name: str) -> set[tuple[int, int]]:
    """(row, col), 0-based, of every formula cell in the sheet (xlsx only), streamed."""
    out: set[tuple[int, int]] = set()
    with zipfile.ZipFile(path) as zf:
        part = _sheet_part(zf, sheet_name)
        if part is None:
            return out
        pat = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>]*?(?<!/)>(?:<f[ >/])')
        tail = b""
        with zf.open(part) as fh:
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                buf = tail + chunk
                if b"<f" in buf:
                    for m in pat.finditer(buf):
                        out.add((int(m.group(2)) - 1, _col_index(m.group(1).decode())))
                tail = buf[-400:]
    return out


def _sheet_part(zf: zipfile.ZipFile, sheet_name: str) -> str | None:
    import xml.etree.ElementTree as ET

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rid_attr = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rid = None
    for s in wb.iterfind("m:sheets/m:sheet", ns):
        if s.get("name") == sheet_name:
            rid = s.get(rid_attr)
    if rid is None:
        return None
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _declared_rows(path: Path, sheet_name: str) -> int | None:
    with zipfile.ZipFile(path) as zf:
        part = _sheet_part(zf, sheet_name)
        if part is None:
            return None
        with zf.open(part) as fh:
            head = fh.read(4096)
    m = re.search(rb'<dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"', head)
    return int(m.group(1)) if m else None


class Sheet:
    """One sheet opened with calamine: rows as lists with absolute (0-based) row numbers."""

    def __init__(self, path: Path, kind: str, sheet_name: str | None = None) -> None:
        import python_calamine as pc

        self.path, self.kind = path, kind
        try:
            # By content, not by name: calamine picks the reader from the file name when given a
            # path, so a genuine .xls renamed .xlsx (or an .ods named .xlsx) would be refused.
            with path.open("rb") as fh:
                self.wb = pc.CalamineWorkbook.from_filelike(fh)
        except pc.PasswordError as exc:
            raise KnownError(f"“{path.name}”设置了打开密码。请取消密码后另存，再导入。") from exc
        except PermissionError as exc:
            raise KnownError(f"无法读取“{path.name}”：文件正被其他程序占用，请先关闭它。") from exc
        except OSError as exc:
            raise KnownError(f"读取“{path.name}”时出错：{describe_os_error(exc)}（U 盘是否已拔出？）") from exc
        except Exception as exc:  # noqa: BLE001 - calamine's error types vary by format and version
            raise KnownError(f"“{path.name}”{library_problem(exc)}。{CONVERT_HINT}") from exc
        self.names = list(self.wb.sheet_names)
        if not self.names:
            raise KnownError(f"“{path.name}”里没有工作表。")
        self.name = sheet_name or self.names[0]
        self.open(self.name)

    def open(self, name: str) -> None:
        self.name = name
        if self.kind == "xlsx":
            declared = _declared_rows(self.path, name)
            if declared is not None and declared > MAX_ROWS + HEADER_SCAN_ROWS:
                raise KnownError(
                    f"工作表“{name}”有 {declared} 行，超过一次导入的上限 {MAX_ROWS} 行。请拆分成几个文件分批导入。"
                )
        try:
            sheet = self.wb.get_sheet_by_name(name)
        except Exception as exc:  # noqa: BLE001 - calamine's error types vary by format
            raise KnownError(f"读取“{self.path.name}”的工作表“{name}”时出错：{library_problem(exc)}。") from exc
        self.sheet: CalamineSheet | None = sheet  # None once closed: its cells can be large
        start = sheet.start
        self.col0 = start[1] if start else 0
        self.height = (sheet.end[0] + 1) if sheet.end else 0
        if self.height > MAX_ROWS + HEADER_SCAN_ROWS:
            raise KnownError(
                f"工作表“{name}”有 {self.height} 行，超过一次导入的上限 {MAX_ROWS} 行。请拆分成几个文件分批导入。"
            )
        merged = []
        try:
            merged = sheet.merged_cell_ranges or []
        except Exception:  # noqa: BLE001 - not supported for every format
            merged = []
        self.merged = merged

    def close(self) -> None:
        self.sheet = None
        try:
            self.wb.close()
        except Exception:  # noqa: BLE001 - already closed, or a format without close
            pass

    def rows(self) -> Iterable[tuple[int, list[Any]]]:
        """(0-based row, cells from column 0) for every row, '' turned into None."""
        if self.sheet is None:
            raise ValueError("the sheet was closed")
        sheet = self.sheet
        pad: list[Any] = [None] * self.col0
        try:
            for r, row in enumerate(sheet.iter_rows()):
                yield r, pad + [None if v == "" else v for v in row]
        except OSError as exc:
            raise KnownError(
                f"读取“{self.path.name}”时出错：{describe_os_error(exc)}（U 盘是否已拔出？）未作任何改动。"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - calamine reports damage found while reading rows
            raise KnownError(f"读取“{self.path.name}”时出错：{library_problem(exc)}。未作任何改动。") from exc


# -- finding the header ------------------------------------------------------------------------
def resident_header(found: set[str]) -> bool:
    return "name" in found and bool(found & {"id_number", "hh_number", "ext_number", "relation", "head_name",
                                             "address"})


def find_header(
    rows: list[tuple[int, list[Any]]],
    merged: list,
    aliases: dict[str, str] | None = None,
    enough: Callable[[set[str]], bool] = resident_header,
) -> tuple[int, list[Any]] | None:
    """The row among the first few that names the most known columns (and those `enough` needs)."""
    aliases = RESIDENT_ALIASES if aliases is None else aliases
    by_row = dict(rows)
    best: tuple[int, int, list[Any]] | None = None
    for r, cells in rows:
        cells = fill_merged(r, cells, merged, by_row)
        keys = [aliases.get(norm_header(c)) for c in cells]
        found = {k for k in keys if k}
        if enough(found) and len(found) >= 2:
            if best is None or len(found) > best[0]:
                best = (len(found), r, cells)
    return None if best is None else (best[1], best[2])


def header_finder(aliases: Mapping[str, str], enough: Callable[[set[str]], bool]
                  ) -> Callable[[HeadRows, list], tuple[int, list[Any]] | None]:
    """A ledger's header search: the row that names the most of its columns and those `enough` needs."""
    return lambda rows, merged: find_header(rows, merged, dict(aliases), enough)


def fill_merged(r: int, cells: list[Any], merged: list, by_row: dict[int, list[Any]]) -> list[Any]:
    # A header cell merged down from the row above (a two-row header) carries its label in the
    # top cell; calamine leaves the covered cells empty.
    if not merged:
        return cells
    cells = list(cells)
    for (r0, c0), (r1, c1) in merged:
        if r0 < r <= r1:
            top = by_row.get(r0, [])
            label = top[c0] if c0 < len(top) else None
            for c in range(c0, c1 + 1):
                if c < len(cells) and cells[c] is None:
                    cells[c] = label
    return cells


# -- the clerk's own column mapping -----------------------------------------------------------
MAPPING_PREFIX = "import_mapping:"
IGNORE = ""  # a column mapped to nothing


class HeaderNotFound(KnownError):
    """No row looks like a resident header; `cells` is the likeliest row, for the mapping step."""

    def __init__(self, likely: tuple[int, list[Any]] | None, sheet: str, message: str) -> None:
        super().__init__(message)
        self.row: int | None = None
        self.cells: list[Any] = []
        if likely is not None:
            self.row, self.cells = likely
        self.sheet = sheet
        self.sample: list[Any] = []  # the first row under it that holds something


def header_signature(cells: list[Any]) -> str:
    """Files with the same header row (same texts in the same order) share one remembered mapping."""
    import hashlib

    text = "|".join(norm_header(c) for c in cells if c is not None and norm_header(c))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def remembered_mapping(db: Database, cells: list[Any]) -> dict[str, str] | None:
    """{header text: field key, or IGNORE} saved for this header row, or None."""
    import json

    raw = db.scalar("SELECT value FROM setting WHERE id = ? AND deleted = 0", (MAPPING_PREFIX + header_signature(cells),))
    return None if raw is None else dict(json.loads(raw))


def remember_mapping(db: Database, cells: list[Any], mapping: dict[str, str]) -> None:
    """Keep the clerk's choice for this header row (an office setting: it syncs to the other PCs)."""
    from app.models.core import settings

    valid = {f.key for f in RESIDENT_FIELDS if f.import_}
    clean = {str(h): (k if k in valid else IGNORE) for h, k in mapping.items() if str(h).strip()}
    settings.set_value(db, MAPPING_PREFIX + header_signature(cells), clean)


def known_field(header: Any) -> str | None:
    """The resident field a header names by the built-in aliases, or None."""
    key = RESIDENT_ALIASES.get(norm_header(header))
    return key if key and FIELDS_BY_KEY[key].import_ else None


def mapping_choices() -> list[tuple[str, str]]:
    """(field key, label) a column can be mapped to, IGNORE first."""
    return [(IGNORE, "忽略"), *((f.key, f.header) for f in RESIDENT_FIELDS if f.import_)]


def with_remembered(db: Database, head_rows: list[tuple[int, list[Any]]], merged: list
                     ) -> tuple[dict[str, str], set[str]]:
    aliases, ignore = dict(RESIDENT_ALIASES), set()
    by_row = dict(head_rows)
    for r, cells in head_rows:
        if sum(1 for c in cells if c is not None) < 2:
            continue
        mapping = remembered_mapping(db, fill_merged(r, cells, merged, by_row))
        for header, key in (mapping or {}).items():
            if key:
                aliases[norm_header(header)] = key
            else:
                ignore.add(norm_header(header))
    return aliases, ignore


def likely_header(head_rows: list[tuple[int, list[Any]]], merged: list) -> tuple[int, list[Any]] | None:
    by_row = dict(head_rows)
    best = None
    for r, cells in head_rows:
        cells = fill_merged(r, cells, merged, by_row)
        n = sum(1 for c in cells if isinstance(c, str) and c.strip())
        if n >= 2 and (best is None or n > best[0]):
            best = (n, r, cells)
    return None if best is None else (best[1], best[2])


# -- values ------------------------------------------------------------------------------------
class CellProblem(ValueError):
    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem, self.hint = problem, hint


def cell_text(value: Any, exact: bool = False, *, key: str | None = None) -> str | None:
    """A cell as text (kept exactly as typed when `exact`). Control characters (escape codes, bidi
    overrides, zero-width) are refused in every cell, line breaks in names; each field has a length
    limit (text_rules.limit_of) that the message states."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return show_value(value)
    text = str(value) if exact else str(value).strip()
    if not text.strip():
        return None
    problem = control_problem(text, "单元格", allow_lines=key not in NAME_KEYS)
    if problem:
        raise CellProblem(problem, "请删除这些字符后重新导入")
    limit = NOTE_LIMIT if exact else limit_of(key)
    problem = length_problem(text, "", limit)
    if problem:
        raise CellProblem(problem, f"这一列最多 {limit} 个字，请删减后重新导入")
    return text


def convert_id(value: Any) -> tuple[str, dt.date, str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if abs(value) >= 1e16:
            raise CellProblem(
                f"身份证号被 Excel 存成了数字（显示为 {value:.5E}），最后几位已经丢失，无法还原",
                "请把这一列设为“文本”格式，按原始证件重新录入 18 位号码",
            )
        value = str(int(value))
    if "*" in str(value):
        raise CellProblem("身份证号已脱敏（中间用 * 遮盖），不能用来导入", "请使用未脱敏的导出文件，或按原始证件填写完整号码")
    try:
        info = parse_id(str(value))
    except IdNumberError as exc:
        raise CellProblem(str(exc).rstrip("。"), "请对照身份证原件核对（18 位，最后一位可以是 X）") from None
    return info.number, info.birth_date, info.sex


def convert_phone(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = str(int(value))
    text = str(value).strip().lstrip("'").strip()
    text = re.sub(r"[\s()（）]", "", text).replace("—", "-").replace("－", "-")
    first = re.split(r"[/、,，;；]", text)[0]
    if not _PHONE.match(first):
        raise CellProblem("电话号码格式不对", "应为 11 位手机号（如 13812345678）或带区号的固定电话（如 0871-12345678）")
    return text


# Fields whose values hardly repeat from row to row: remembering their conversions saves nothing.
UNIQUE_KEYS = frozenset({"name", "id_number", "phone", "notes"})
# Cell types whose equal values convert alike (not bool: True == 1 but reads as 是).
MEMO_TYPES = frozenset({str, int, float, dt.datetime, dt.date})


def convert_row(
    cells: list[Any], columns: dict[str, int], memo: dict[str, dict[str, tuple[bool, Any]]] | None = None
) -> tuple[dict[str, Any], list[tuple[str, Any, CellProblem]]]:
    """Field values of one resident row, and the problems of the cells that are wrong.

    `memo` (one per file) remembers each field's conversion of a text: a ledger repeats the same
    sex, ethnicity, building, village, dates … thousands of times, and converting is pure."""
    out: dict[str, Any] = {}
    problems: list[tuple[str, Any, CellProblem]] = []
    n = len(cells)
    for key, c in columns.items():
        if c >= n or (value := cells[c]) is None:
            continue
        if memo is not None and key not in UNIQUE_KEYS and type(value) in MEMO_TYPES:
            known = memo.get(key)
            if known is None:
                known = memo[key] = {}
            outcome = known.get(value)
            if outcome is None:
                outcome = known[value] = _cell_outcome(key, value)
        else:
            outcome = _cell_outcome(key, value)
        if outcome[0]:
            out[key] = outcome[1]
        elif outcome is not _BLANK:
            problems.append((key, value, outcome[1]))
    return out, problems


_BLANK: tuple[bool, Any] = (False, None)  # a cell of spaces: no value and no problem


def _cell_outcome(key: str, value: Any) -> tuple[bool, Any]:
    if isinstance(value, str) and not value.strip() and key not in TEXT_KEYS_EXACT:
        return _BLANK
    return _outcome(key, value)


def _outcome(key: str, value: Any) -> tuple[bool, Any]:
    """(True, converted value) or (False, the CellProblem)."""
    try:
        result = convert_cell(key, value)
        check_length(key, result)
    except CellProblem as p:
        return False, p
    except DateError as exc:
        return False, CellProblem(str(exc).split("；")[0], "应为日期，例如 2024-03-05")
    return True, result


@functools.cache
def _length_limit(key: str) -> int | None:
    # Looked up once per field, not once per cell: a county ledger has hundreds of thousands of cells.
    table = "person" if key in PERSON_COLS else "household" if key in HOUSEHOLD_COLS else None
    return field_rules.text_limit(table, key) if table else None


def check_length(key: str, value: Any) -> None:
    # The same stated limit as the form and as every other PC applies to a synced value.
    if isinstance(value, str) and (limit := _length_limit(key)) is not None and len(value) > limit:
        raise CellProblem(f"太长：最多 {limit} 个字，现在有 {len(value)} 个", "请删减后再导入")


def convert_date(value: Any) -> str | None:
    d = parse_date(value)
    return None if d is None else d.isoformat()


def convert_sex(value: Any) -> str:
    t = cell_text(value)
    if t in ("男", "男性", "M"):
        return "男"
    if t in ("女", "女性", "F"):
        return "女"
    raise CellProblem("性别不对", "应为“男”或“女”")


def convert_ethnicity(value: Any) -> str:
    try:
        return vocab.ethnicity(cell_text(value) or "")
    except vocab.VocabError as exc:
        raise CellProblem(exc.problem, exc.hint) from None


def convert_relation(value: Any) -> str:
    return vocab.relation(cell_text(value) or "")


def convert_labour(value: Any) -> str:
    t = (cell_text(value) or "").replace(" ", "")
    if t not in LABOUR_VALUES:
        raise CellProblem("劳动能力不对", "应为 全劳动力、半劳动力 或 无劳动力")
    return LABOUR_VALUES[t]


def convert_risk(value: Any) -> str:
    t = (cell_text(value) or "").replace("色风险", "").replace("风险", "")
    t = t if t in RISK_VALUES else (t + "色" if t + "色" in RISK_VALUES else t)
    if t not in RISK_VALUES:
        raise CellProblem("风险等级不对", "应为 红、黄 或 绿")
    return RISK_VALUES[t]


def convert_tags(value: Any) -> dict[str, int]:
    tags = {}
    for part in TAG_SPLIT.split(cell_text(value) or ""):
        if not part or part in DERIVED_TAGS:
            continue
        col = TAG_VALUES.get(part)
        if col is None:
            raise CellProblem(f"不认识的户标签“{part}”", "可填 脱贫户、监测户、低保、特困（多个用顿号隔开），“无”表示没有")
        tags[col] = 1
    return {c: tags.get(c, 0) for c in TAG_COLUMNS}


def convert_unit(value: Any) -> int:
    m = _DIGITS.search(cell_text(value) or "")
    if not m:
        raise CellProblem("单元号不对", "应为数字，例如 2 或“2单元”")
    return int(m.group())


def convert_name(value: Any) -> str:
    return cell_text(value, key="name") or ""


def convert_notes(value: Any) -> str | None:
    return cell_text(value, exact=True, key="notes")  # free text: kept exactly as typed


# -- the resident ledger: one definition for the export and the import ----------------------------
F = FieldSpec
RESIDENTS = LedgerSpec("residents", "居民花名册（户籍人员台账）", (
    F("hh_number", "户编号", ("户号", "户主编号"), "h.number", TEXT, 12),
    F("name", "姓名", ("名字", "成员姓名", "居民姓名", "家庭成员姓名"), "p.name", TEXT, 10, convert=convert_name),
    F("id_number", "身份证号", ("身份证号码", "公民身份号码", "公民身份证号码", "身份证", "证件号码", "证件号"),
      "p.id_number", ID, 21, mask=MASK_ID, convert=convert_id),
    F("sex", "性别", (), "p.sex", TEXT, 6, convert=convert_sex),
    F("birth_date", "出生日期", ("出生年月", "出生年月日", "生日"), "p.birth_date", DATE, 12, mask=MASK_BIRTHDATE,
      convert=convert_date),
    F("ethnicity", "民族", (), "p.ethnicity", TEXT, 8, convert=convert_ethnicity),
    F("relation", "与户主关系", ("家庭关系", "关系", "与户主的关系"), "p.relation", TEXT, 10, convert=convert_relation),
    F("phone", "联系电话", ("手机号", "手机号码", "电话", "联系方式", "电话号码", "手机"), "p.phone", PHONE, 14,
      mask=MASK_PHONE, convert=convert_phone),
    F("building", "楼栋", ("楼栋号", "栋", "楼号", "栋号"), "b.name", TEXT, 8, household=True),
    F("unit", "单元", ("单元号",), "u.number", INT, 6, household=True, convert=convert_unit),
    F("room", "房号", ("房间号", "门牌号", "房屋号"), "r.number", TEXT, 8, household=True),
    F("origin_township", "迁出乡镇", ("迁出地乡镇", "原乡镇", "乡镇", "迁出乡（镇）"), "h.origin_township", TEXT, 10,
      household=True),
    F("origin_village", "迁出村", ("迁出地村", "原村", "村", "迁出村组", "迁出村（社区）"), "h.origin_village", TEXT, 10,
      household=True),
    F("education", "文化程度", ("学历",), "p.education", TEXT, 10),
    F("labour_ability", "劳动能力", ("劳动力状况", "是否劳动力", "劳动力类型", "劳动技能", "劳动力属性"), LABOUR_SQL,
      TEXT, 10, convert=convert_labour),
    F("job_status", "就业状态", ("就业情况", "务工状态", "务工情况"), JOB_STATUS_SQL, TEXT, 10, import_=False),
    F("tags", "户标签", ("户类型", "户属性", "标签", "户类别"), TAGS_SQL, TEXT, 16, household=True, convert=convert_tags),
    F("risk", "风险等级", ("风险颜色", "风险", "风险类别"), RISK_SQL, TEXT, 8, household=True, convert=convert_risk),
    F("move_in_date", "入住日期", ("搬迁入住时间", "入住时间", "搬迁入住日期"), "h.move_in_date", DATE, 12,
      household=True, convert=convert_date),
    F("notes", "备注", ("说明",), "p.notes", TEXT, 20, convert=convert_notes),
    F("ext_number", "县级户编号", ("户码", "家庭编号", "户编码", "户编码号", "家庭户编号", "县户编号", "系统户编号",
                                  "监测系统户编号"), "h.ext_number", TEXT, 21, household=True),
    # Read from county sheets, not exported: they form households (excel_import_county).
    F("head_name", "户主姓名", ("户主",), household=True),
    F("address", "安置地址", ("搬迁地址", "安置住址", "住址", "地址", "现住址", "家庭住址", "安置房号", "现居住地址",
                              "房屋地址", "安置点地址", "搬迁安置地址"), household=True),
    F("seq", "序号", ("序", "编号"), import_=False),  # the ledger's own row count: nothing to keep
))
del F
RESIDENT_FIELDS = RESIDENTS.fields
FIELDS_BY_KEY = RESIDENTS.by_key
RESIDENT_ALIASES: dict[str, str] = RESIDENTS.aliases


def convert_cell(key: str, value: Any) -> Any:
    """A cell of a resident or household field as the value stored (CellProblem when it cannot be)."""
    spec = FIELDS_BY_KEY.get(key)
    if spec is not None and spec.convert is not None:
        return spec.convert(value)
    return cell_text(value, exact=key in TEXT_KEYS_EXACT, key=key)


PERSON_COLS = ("name", "sex", "birth_date", "ethnicity", "relation", "phone", "education", "labour_ability", "notes")
HOUSEHOLD_COLS = ("origin_township", "origin_village", "move_in_date", "ext_number")


# -- places ------------------------------------------------------------------------------------
class Places:
    """Buildings, units and rooms by the names a ledger uses for them."""

    def __init__(self, db: Database) -> None:
        self.buildings: list[tuple[str, str, int | None]] = [
            (r["id"], r["name"], r["number"]) for r in db.query("SELECT id, name, number FROM building WHERE deleted = 0")
        ]
        self.units: dict[tuple[str, int], str] = {
            (r["building_id"], r["number"]): r["id"]
            for r in db.query("SELECT id, building_id, number FROM unit WHERE deleted = 0")
        }
        self.rooms: dict[tuple[str, str], str] = {}
        for r in db.query("SELECT id, unit_id, number FROM room WHERE deleted = 0"):
            self.rooms[(r["unit_id"], str(r["number"]))] = r["id"]
            self.rooms.setdefault((r["unit_id"], str(r["number"]).lstrip("0")), r["id"])
        self.room_info: dict[str, tuple[str, int, str]] = {}
        for r in db.query(
            "SELECT r.id, b.name AS b, u.number AS u, r.number AS r FROM room r JOIN unit u ON u.id = r.unit_id "
            "JOIN building b ON b.id = u.building_id"
        ):
            self.room_info[r["id"]] = (r["b"], r["u"], str(r["r"]))

    def building(self, text: str) -> str:
        exact = [b for b in self.buildings if b[1] == text]
        if len(exact) == 1:
            return exact[0][0]
        m = _DIGITS.search(text)
        if m and not exact:
            n = int(m.group())
            by_number = [b for b in self.buildings if b[2] == n]
            if len(by_number) == 1:
                return by_number[0][0]
            by_name = [b for b in self.buildings if (_DIGITS.search(b[1] or "") or [None])[0] == m.group()]
            if len(by_name) == 1:
                return by_name[0][0]
        if len(exact) > 1:
            raise CellProblem(f"有多个楼栋叫“{text}”，无法确定是哪一栋", "请先在“楼栋网格”中区分它们")
        if not self.buildings:
            raise CellProblem(f"系统中没有楼栋“{text}”", "系统中还没有登记任何楼栋，请先在“楼栋网格”中添加楼栋、单元和房间")
        known = "、".join(natural_sorted([b[1] for b in self.buildings])[:8])
        raise CellProblem(f"系统中没有楼栋“{text}”", f"应为已登记的楼栋，例如：{known}；新楼栋请先在“楼栋网格”中添加")

    def room(self, building: str, unit: int, room: str) -> str:
        b = self.building(building)
        u = self.units.get((b, unit))
        if u is None:
            raise CellProblem(f"楼栋“{building}”没有 {unit} 单元", "请核对单元号，或先在“楼栋网格”中添加该单元")
        r = self.rooms.get((u, room)) or self.rooms.get((u, room.lstrip("0")))
        if r is None:
            raise CellProblem(
                f"{building} {unit} 单元没有房号“{room}”", "请核对房号，或先在“楼栋网格”中添加该房间"
            )
        return r


@functools.lru_cache(maxsize=1024)
def same_ethnicity(stored: Any, new: str) -> bool:
    try:
        return stored is not None and vocab.ethnicity(stored) == new
    except vocab.VocabError:
        return False


def chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def update_household(db: Database, tx: Tx, household_id: str, values: dict[str, Any], summary: str) -> None:
    """An import's changes to a household; a new risk colour is kept in risk_change, as the form keeps it."""
    old_risk = tx.conn.execute("SELECT risk_colour FROM household WHERE id = ?", (household_id,)).fetchone()[0]
    tx.update("household", household_id, values, summary=summary)
    if "risk_colour" in values:
        tx.insert("risk_change", {"household_id": household_id, "old_colour": old_risk,
                                  "new_colour": values["risk_colour"], "reason": summary,
                                  "changed_by": db.user, "changed_at": tx.now}, summary=summary)


def query_in(db: Database, sql: str, keys: Iterable[Any], size: int = 500) -> Iterator[Any]:
    """The rows of `sql` for every key, asked in batches: "{marks}" in `sql` stands for the
    batch's placeholders (SQLite caps the number of bound parameters)."""
    for chunk in chunks(list(keys), size):
        yield from db.query(sql.format(marks=",".join("?" * len(chunk))), chunk)


def mark_repeated(groups: Iterable[list[RowResult]], error: Callable[[RowResult, str], CellError]) -> None:
    """Rows that are the same record: each of them is wrong (which one is right?). `error` makes a
    row's error from the row and the text of the rows' numbers."""
    for results in groups:
        if len(results) > 1:
            rows_txt = "、".join(str(x.row) for x in results)
            for x in results:
                x.status, x.changes = "error", []
                x.errors.append(error(x, rows_txt))


def place_text(places: Places, room_id: str | None) -> str:
    if not room_id:
        return ""
    info = places.room_info.get(room_id)
    return f"{info[0]} {info[1]}单元 {info[2]}" if info else ""


def tags_text(values: dict) -> str:
    return "、".join(TAG_DISPLAY[c] for c in TAG_COLUMNS if values.get(c))


def cell_show(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "labour_ability":
        return LABOUR_DISPLAY.get(value, str(value))
    if key == "risk":
        return RISK_DISPLAY.get(value, str(value))
    if key == "tags" and isinstance(value, dict):
        return tags_text(value)
    return show_value(value)


