"""Importing existing Excel ledgers: checks on the file, a dry run that explains every bad row,
then an all-or-nothing (or valid-rows-only) apply, and the error workbook for the clerk.

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.models.core import field_rules, vocab
from app.models.core.db import Database, new_id
from app.models.core.errors import KnownError
from app.models.core.excel_dates import DateError, parse_date
from app.models.core.id_numbers import IdNumberError
from app.models.core.id_numbers import parse as parse_id
from app.models.core.natural import natural_sorted
from app.models.core.pinyin import name_pinyin
from app.models.core.safe_files import atomic_file, check_zip, describe_os_error
from app.models.core.text_rules import NAME_KEYS, NOTE_LIMIT, control_problem, length_problem, limit_of

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


# -- what a column of the resident ledger means ------------------------------------------------
@dataclass(frozen=True)
class Field:
    key: str
    header: str  # the name used in messages and in our exports
    aliases: tuple[str, ...] = ()
    household: bool = False  # a household attribute, the same on every member's row
    import_: bool = True  # False: derived on export (就业状态), ignored on import


RESIDENT_FIELDS: tuple[Field, ...] = (
    Field("hh_number", "户编号", ("户号", "户主编号")),
    Field("ext_number", "县级户编号", ("户码", "家庭编号", "户编码", "户编码号", "家庭户编号", "县户编号",
                                       "系统户编号", "监测系统户编号"), household=True),
    Field("head_name", "户主姓名", ("户主",), household=True),
    Field("address", "安置地址", ("搬迁地址", "安置住址", "住址", "地址", "现住址", "家庭住址", "安置房号",
                                  "现居住地址", "房屋地址", "安置点地址", "搬迁安置地址"), household=True),
    Field("name", "姓名", ("名字", "成员姓名", "居民姓名", "家庭成员姓名")),
    Field("id_number", "身份证号", ("身份证号码", "公民身份号码", "公民身份证号码", "身份证", "证件号码", "证件号")),
    Field("sex", "性别"),
    Field("birth_date", "出生日期", ("出生年月", "出生年月日", "生日")),
    Field("ethnicity", "民族"),
    Field("relation", "与户主关系", ("家庭关系", "关系", "与户主的关系")),
    Field("phone", "联系电话", ("手机号", "手机号码", "电话", "联系方式", "电话号码", "手机")),
    Field("building", "楼栋", ("楼栋号", "栋", "楼号", "栋号"), household=True),
    Field("unit", "单元", ("单元号",), household=True),
    Field("room", "房号", ("房间号", "门牌号", "房屋号"), household=True),
    Field("origin_township", "迁出乡镇", ("迁出地乡镇", "原乡镇", "乡镇", "迁出乡（镇）"), household=True),
    Field("origin_village", "迁出村", ("迁出地村", "原村", "村", "迁出村组", "迁出村（社区）"), household=True),
    Field("education", "文化程度", ("学历",)),
    Field("labour_ability", "劳动能力", ("劳动力状况", "是否劳动力", "劳动力类型", "劳动技能", "劳动力属性")),
    Field("job_status", "就业状态", ("就业情况", "务工状态", "务工情况"), import_=False),
    Field("tags", "户标签", ("户类型", "户属性", "标签", "户类别"), household=True),
    Field("risk", "风险等级", ("风险颜色", "风险", "风险类别"), household=True),
    Field("move_in_date", "入住日期", ("搬迁入住时间", "入住时间", "搬迁入住日期"), household=True),
    Field("notes", "备注", ("说明",)),
    Field("seq", "序号", ("序", "编号"), import_=False),  # the ledger's own row count: nothing to keep
)
FIELDS_BY_KEY = {f.key: f for f in RESIDENT_FIELDS}
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
_TAG_SPLIT = re.compile(r"[、,，;；/\s]+")
_PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|\d{7,8})$")
_DIGITS = re.compile(r"\d+")
TEXT_KEYS_EXACT = {"notes"}  # free text: kept exactly as typed (a leading tab or '=' included)


def _norm_header(text: Any) -> str:
    s = str(text or "").strip()
    s = s.translate(str.maketrans("（）：", "():"))
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"\((必填|选填|可选)\)$", "", s)
    return s.rstrip("*:")


_ALIASES: dict[str, str] = {}
for _f in RESIDENT_FIELDS:
    for _name in (_f.header, *_f.aliases):
        _ALIASES[_norm_header(_name)] = _f.key


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
        val = "" if self.value in (None, "") else f"（值：{_show(self.value)}）"
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


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1e15 else str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


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


def _formula_cells(path: Path, sheet_name: str) -> set[tuple[int, int]]:
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


def col_letter(index: int) -> str:
    s = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        s = chr(65 + rem) + s
    return s


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
            self.sheet = self.wb.get_sheet_by_name(name)
        except Exception as exc:  # noqa: BLE001 - calamine's error types vary by format
            raise KnownError(f"读取“{self.path.name}”的工作表“{name}”时出错：{library_problem(exc)}。") from exc
        start = self.sheet.start
        self.col0 = start[1] if start else 0
        self.height = (self.sheet.end[0] + 1) if self.sheet.end else 0
        if self.height > MAX_ROWS + HEADER_SCAN_ROWS:
            raise KnownError(
                f"工作表“{name}”有 {self.height} 行，超过一次导入的上限 {MAX_ROWS} 行。请拆分成几个文件分批导入。"
            )
        merged = []
        try:
            merged = self.sheet.merged_cell_ranges or []
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
        pad = [None] * self.col0
        try:
            for r, row in enumerate(self.sheet.iter_rows()):
                yield r, pad + [None if v == "" else v for v in row]
        except OSError as exc:
            raise KnownError(
                f"读取“{self.path.name}”时出错：{describe_os_error(exc)}（U 盘是否已拔出？）未作任何改动。"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - calamine reports damage found while reading rows
            raise KnownError(f"读取“{self.path.name}”时出错：{library_problem(exc)}。未作任何改动。") from exc


# -- finding the header ------------------------------------------------------------------------
def _resident_header(found: set[str]) -> bool:
    return "name" in found and bool(found & {"id_number", "hh_number", "ext_number", "relation", "head_name",
                                             "address"})


def find_header(
    rows: list[tuple[int, list[Any]]],
    merged: list,
    aliases: dict[str, str] | None = None,
    enough: Callable[[set[str]], bool] = _resident_header,
) -> tuple[int, list[Any]] | None:
    """The row among the first few that names the most known columns (and those `enough` needs)."""
    aliases = _ALIASES if aliases is None else aliases
    by_row = dict(rows)
    best: tuple[int, int, list[Any]] | None = None
    for r, cells in rows:
        cells = _fill_merged(r, cells, merged, by_row)
        keys = [aliases.get(_norm_header(c)) for c in cells]
        found = {k for k in keys if k}
        if enough(found) and len(found) >= 2:
            if best is None or len(found) > best[0]:
                best = (len(found), r, cells)
    return None if best is None else (best[1], best[2])


def _fill_merged(r: int, cells: list[Any], merged: list, by_row: dict[int, list[Any]]) -> list[Any]:
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
        self.row, self.cells = likely if likely is not None else (None, [])
        self.sheet = sheet
        self.sample: list[Any] = []  # the first row under it that holds something


def header_signature(cells: list[Any]) -> str:
    """Files with the same header row (same texts in the same order) share one remembered mapping."""
    import hashlib

    text = "|".join(_norm_header(c) for c in cells if c is not None and _norm_header(c))
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
    key = _ALIASES.get(_norm_header(header))
    return key if key and FIELDS_BY_KEY[key].import_ else None


def mapping_choices() -> list[tuple[str, str]]:
    """(field key, label) a column can be mapped to, IGNORE first."""
    return [(IGNORE, "忽略"), *((f.key, f.header) for f in RESIDENT_FIELDS if f.import_)]


def _with_remembered(db: Database, head_rows: list[tuple[int, list[Any]]], merged: list
                     ) -> tuple[dict[str, str], set[str]]:
    aliases, ignore = dict(_ALIASES), set()
    by_row = dict(head_rows)
    for r, cells in head_rows:
        if sum(1 for c in cells if c is not None) < 2:
            continue
        mapping = remembered_mapping(db, _fill_merged(r, cells, merged, by_row))
        for header, key in (mapping or {}).items():
            if key:
                aliases[_norm_header(header)] = key
            else:
                ignore.add(_norm_header(header))
    return aliases, ignore


def _likely_header(head_rows: list[tuple[int, list[Any]]], merged: list) -> tuple[int, list[Any]] | None:
    by_row = dict(head_rows)
    best = None
    for r, cells in head_rows:
        cells = _fill_merged(r, cells, merged, by_row)
        n = sum(1 for c in cells if isinstance(c, str) and c.strip())
        if n >= 2 and (best is None or n > best[0]):
            best = (n, r, cells)
    return None if best is None else (best[1], best[2])


# -- values ------------------------------------------------------------------------------------
class CellProblem(ValueError):
    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem, self.hint = problem, hint


def _text(value: Any, exact: bool = False, *, key: str | None = None) -> str | None:
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
        return _show(value)
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
    for key, c in columns.items():
        value = cells[c] if c < len(cells) else None
        if value is None or (isinstance(value, str) and not value.strip() and key not in TEXT_KEYS_EXACT):
            continue
        if memo is not None and type(value) in MEMO_TYPES and key not in UNIQUE_KEYS:
            known = memo.setdefault(key, {})
            outcome = known.get(value)
            if outcome is None:
                outcome = known[value] = _outcome(key, value)
        else:
            outcome = _outcome(key, value)
        if outcome[0]:
            out[key] = outcome[1]
        else:
            problems.append((key, value, outcome[1]))
    return out, problems


def _outcome(key: str, value: Any) -> tuple[bool, Any]:
    """(True, converted value) or (False, the CellProblem)."""
    try:
        result = _convert(key, value)
        _check_length(key, result)
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


def _check_length(key: str, value: Any) -> None:
    # The same stated limit as the form and as every other PC applies to a synced value.
    if isinstance(value, str) and (limit := _length_limit(key)) is not None and len(value) > limit:
        raise CellProblem(f"太长：最多 {limit} 个字，现在有 {len(value)} 个", "请删减后再导入")


def _convert(key: str, value: Any) -> Any:
    if key == "id_number":
        return convert_id(value)
    if key == "phone":
        return convert_phone(value)
    if key in ("birth_date", "move_in_date"):
        d = parse_date(value)
        return None if d is None else d.isoformat()
    if key == "sex":
        t = _text(value)
        if t in ("男", "男性", "M"):
            return "男"
        if t in ("女", "女性", "F"):
            return "女"
        raise CellProblem("性别不对", "应为“男”或“女”")
    if key == "ethnicity":
        try:
            return vocab.ethnicity(_text(value) or "")
        except vocab.VocabError as exc:
            raise CellProblem(exc.problem, exc.hint) from None
    if key == "relation":
        return vocab.relation(_text(value) or "")
    if key == "labour_ability":
        t = (_text(value) or "").replace(" ", "")
        if t not in LABOUR_VALUES:
            raise CellProblem("劳动能力不对", "应为 全劳动力、半劳动力 或 无劳动力")
        return LABOUR_VALUES[t]
    if key == "risk":
        t = (_text(value) or "").replace("色风险", "").replace("风险", "")
        t = t if t in RISK_VALUES else (t + "色" if t + "色" in RISK_VALUES else t)
        if t not in RISK_VALUES:
            raise CellProblem("风险等级不对", "应为 红、黄 或 绿")
        return RISK_VALUES[t]
    if key == "tags":
        tags = {}
        for part in _TAG_SPLIT.split(_text(value) or ""):
            if not part or part in DERIVED_TAGS:
                continue
            col = TAG_VALUES.get(part)
            if col is None:
                raise CellProblem(f"不认识的户标签“{part}”", "可填 脱贫户、监测户、低保、特困（多个用顿号隔开），“无”表示没有")
            tags[col] = 1
        return {c: tags.get(c, 0) for c in TAG_COLUMNS}
    if key == "unit":
        t = _text(value) or ""
        m = _DIGITS.search(t)
        if not m:
            raise CellProblem("单元号不对", "应为数字，例如 2 或“2单元”")
        return int(m.group())
    if key == "name":
        return _text(value, key=key) or ""
    return _text(value, exact=key in TEXT_KEYS_EXACT, key=key)


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


# -- the dry run -------------------------------------------------------------------------------
IMPORTABLE = {"residents": "居民花名册", "households": "搬迁户台账", "employment": "就业台账",
              "training": "培训台账", "intentions": "就业培训需求台账", "visits": "入户走访台账",
              "mediation": "矛盾纠纷调解台账", "rooms": "房间清单"}
OTHER_LEDGERS = ("households", "employment", "training", "intentions", "visits", "mediation")  # in excel_import_ledgers
LEDGER_MODULES = {"rooms": "app.models.excel.excel_import_rooms"}  # planners kept in a module of their own
PERSON_COLS = ("name", "sex", "birth_date", "ethnicity", "relation", "phone", "education", "labour_ability", "notes")
HOUSEHOLD_COLS = ("origin_township", "origin_village", "move_in_date", "ext_number")


def plan_import(
    db: Database,
    path: str | Path,
    *,
    ledger: str | None = None,
    sheet: str | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    create_places: bool = False,
) -> ImportPlan:
    """Read and validate the whole file without writing anything; the plan says what would change.

    `ledger` is "residents" or "employment"; None tells them apart by the header.
    `create_places`: buildings, units and rooms the file names but the office lacks are created
    by the import (else those rows are errors).
    """
    path = Path(path)
    if ledger not in (None, *IMPORTABLE):
        raise KnownError(
            f"暂不支持导入“{ledger}”台账；目前可导入：{'、'.join(f'{k}（{v}）' for k, v in IMPORTABLE.items())}。"
        )
    kind = check_file(path)
    source = file_fingerprint(path)
    book = Sheet(path, kind, sheet)
    stamp = int(db.scalar("SELECT coalesce(max(op_id), 0) FROM change_log") or 0)

    # The header: the first sheet that has one (or the sheet asked for).
    header = None
    it = None
    for name in [book.name] if sheet else book.names:
        if name != book.name:
            book.open(name)
        it = iter(book.rows())
        head_rows = []
        for r, cells in it:
            head_rows.append((r, cells))
            if len(head_rows) >= HEADER_SCAN_ROWS:
                break
        resident_aliases, mapped_ignore = _with_remembered(db, head_rows, book.merged)
        header = find_header(head_rows, book.merged, resident_aliases)
        if header is None:
            from app.models.excel import excel_import_ledgers as other

            header = find_header(head_rows, book.merged, other.VISIT_ALIASES, other.visits_header) or find_header(
                head_rows, book.merged, other.HOUSEHOLD_ALIASES, other.households_header) or find_header(
                head_rows, book.merged, other.MEDIATION_ALIASES, other.mediation_header)
        if header is None:
            from app.models.excel import excel_import_rooms

            header = excel_import_rooms.find_room_header(head_rows, book.merged)
        if header is not None:
            break
    if header is None or it is None:
        if not any(any(v is not None for v in cells) for _, cells in head_rows):
            raise KnownError(f"“{path.name}”的工作表“{book.name}”是空的，没有可导入的数据。")
        likely = _likely_header(head_rows, book.merged)
        missing = HeaderNotFound(likely, book.name,
            f"在“{path.name}”中找不到表头：前 {HEADER_SCAN_ROWS} 行里没有一行同时含有“姓名”和“身份证号”（或“户编号”），"
            "也没有“户编号”“走访日期”“走访类型”。请确认表头文字，例如：户编号、姓名、身份证号、性别、出生日期、"
            "联系电话、楼栋、单元、房号。"
        )
        if likely is not None:
            missing.sample = next((c for r, c in head_rows if r > likely[0] and any(v is not None for v in c)), [])
        raise missing
    header_r, header_cells = header
    from app.models.excel import excel_import_ledgers as other

    is_employment = other.looks_like_employment(header_cells)
    is_visits = other.looks_like_visits(header_cells)
    is_intentions = other.looks_like_intentions(header_cells)
    is_households = other.looks_like_households(header_cells)
    is_training = other.looks_like_training(header_cells)
    is_mediation = other.looks_like_mediation(header_cells)
    from app.models.excel import excel_import_rooms

    is_rooms = excel_import_rooms.looks_like_room_list(header_cells)
    if ledger is None:
        ledger = ("rooms" if is_rooms else "employment" if is_employment else "visits" if is_visits else "intentions" if is_intentions
                  else "training" if is_training else "households" if is_households
                  else "mediation" if is_mediation else "residents")
    elif ledger == "rooms" and not is_rooms:
        raise KnownError(f"“{path.name}”看起来不是房间清单：表头应只有“楼栋”“单元”“房号”（或“层数”“每层户数”）和“网格”。")
    elif ledger == "mediation" and not is_mediation:
        raise KnownError(f"“{path.name}”看起来不是矛盾纠纷调解台账：表头中没有“案件编号”和“事由”。")
    elif ledger == "training" and not is_training:
        raise KnownError(f"“{path.name}”看起来不是培训台账：表头中没有“姓名”“培训名称”和“开始日期”。")
    elif ledger == "households" and not is_households:
        raise KnownError(f"“{path.name}”看起来不是搬迁户台账：表头中没有“户编号”和“户主姓名”（或“人口数”）。")
    elif ledger == "employment" and not is_employment:
        raise KnownError(f"“{path.name}”看起来不是就业台账：表头中没有“就业形式”和“开始日期”。")
    elif ledger == "intentions" and not is_intentions:
        raise KnownError(f"“{path.name}”看起来不是需求台账：表头中没有“姓名”“需求类型”和“登记日期”。")
    elif ledger == "visits" and not is_visits:
        raise KnownError(f"“{path.name}”看起来不是走访台账：表头中没有“户编号”“走访日期”和“走访类型”。")
    aliases = {"employment": other.EMPLOYMENT_ALIASES, "visits": other.VISIT_ALIASES,
               "intentions": other.INTENTION_ALIASES, "households": other.HOUSEHOLD_ALIASES,
               "training": other.TRAINING_ALIASES, "mediation": other.MEDIATION_ALIASES,
               "rooms": excel_import_rooms.ROOM_ALIASES}.get(ledger, resident_aliases)
    labels = {"employment": other.LABELS, "visits": other.VISIT_LABELS, "intentions": other.INTENTION_LABELS,
              "households": other.HOUSEHOLD_LABELS, "training": other.TRAINING_LABELS,
              "mediation": other.MEDIATION_LABELS, "rooms": excel_import_rooms.ROOM_LABELS}.get(
        ledger, {f.key: f.header for f in RESIDENT_FIELDS})
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for c, cell in enumerate(header_cells):
        if cell is None:
            continue
        key = aliases.get(_norm_header(cell))
        if key is None:
            if _norm_header(cell) not in mapped_ignore:  # a column the clerk chose to leave out
                ignored.append(str(cell))
            continue
        if key in columns:
            raise KnownError(
                f"工作表“{book.name}”第 {header_r + 1} 行的表头重复："
                f"第 {col_letter(columns[key])} 列“{headers[key]}”和第 {col_letter(c)} 列“{cell}”是同一项"
                f"（{labels[key]}）。请删除或改名其中一列后再导入。"
            )
        columns[key] = c
        headers[key] = str(cell)

    formulas = _formula_cells(path, book.name) if kind == "xlsx" else set()
    remaining = [(r, cells) for r, cells in head_rows if r > header_r]

    def data_rows():
        yield from remaining
        yield from it

    if ledger in OTHER_LEDGERS or ledger in LEDGER_MODULES:
        rows = []
        for r, cells in data_rows():
            if len(rows) >= MAX_ROWS:
                raise KnownError(f"数据超过一次导入的上限 {MAX_ROWS} 行。请拆分成几个文件分批导入。")
            if any(cells[c] is not None for c in columns.values() if c < len(cells)):
                rows.append((r, cells))
        if not rows:
            raise KnownError(f"工作表“{book.name}”在表头（第 {header_r + 1} 行）下面没有数据。")
        plan = ImportPlan(path, ledger, book.name, header_r + 1, columns, headers, ignored, [], stamp, source=source)
        planner = getattr(_ledger_module(ledger), f"plan_{ledger}")
        planner(db, plan, rows, progress=progress, cancelled=cancelled)
        by_row = {res.row: res for res in plan.rows}
        for r, c in sorted(formulas):
            res = by_row.get(r + 1)
            key = next((k for k, cc in columns.items() if cc == c), None)
            if res is not None and key is not None:
                res.status, res.changes = "error", []
                res.errors.append(CellError(book.name, r + 1, headers[key], c, None, "单元格是公式，不是录入的值",
                                            "请把公式改为数值（复制后“选择性粘贴→数值”）再导入"))
        return plan
    import_columns = {k: c for k, c in columns.items() if FIELDS_BY_KEY[k].import_}

    total = max(book.height - header_r - 1, 1)
    sample = next((cells for _r, cells in remaining if any(v is not None for v in cells)), [])
    raw: list[tuple[int, dict, list]] = []
    memo: dict[str, dict[Any, tuple[bool, Any]]] = {}
    for n, (r, cells) in enumerate(data_rows()):
        checkpoint(n, total, progress, cancelled, "正在检查每一行…")
        if n >= MAX_ROWS:
            raise KnownError(f"数据超过一次导入的上限 {MAX_ROWS} 行。请拆分成几个文件分批导入。")
        if not any(cells[c] is not None for c in import_columns.values() if c < len(cells)):
            continue
        values, problems = convert_row(cells, import_columns, memo)
        errs = [
            CellError(book.name, r + 1, headers[k], columns[k], v, p.problem, p.hint) for k, v, p in problems
        ]
        for c in sorted(c for c in import_columns.values() if (r, c) in formulas):
            key = next(k for k, cc in import_columns.items() if cc == c)
            errs.append(
                CellError(book.name, r + 1, headers[key], c, cells[c] if c < len(cells) else None,
                          "单元格是公式，不是录入的值", "请把公式改为数值（复制后“选择性粘贴→数值”）再导入")
            )
        raw.append((r, values, errs))
    if not raw:
        raise KnownError(f"工作表“{book.name}”在表头（第 {header_r + 1} 行）下面没有数据。")
    if progress is not None:
        progress(total, total, "正在与现有数据比对…")
    plan = ImportPlan(path, ledger, book.name, header_r + 1, columns, headers, ignored, [], stamp, source=source)
    plan.extra["options"] = {"create_places": create_places}
    plan.extra["header_cells"] = header_cells
    plan.extra["sample"] = sample
    # The sheet's cells (~190 MB for 100k rows in calamine) are no longer needed: free them first.
    it = None
    remaining.clear()
    head_rows.clear()
    book.close()
    from app.models.excel import excel_import_county as county

    county.form_households(db, plan, raw, create=create_places)
    _match(db, plan, raw)
    reasons = plan.extra.pop("reasons", {})
    for res in plan.rows:
        res.reason = reasons.get(res.row, "")
    county.maybe_same(db, plan)
    return plan


def _match(db: Database, plan: ImportPlan, raw: list[tuple[int, dict, list]]) -> None:
    sheet, headers, columns = plan.sheet, plan.headers, plan.columns

    def err(r: int, key: str, value: Any, problem: str, hint: str = "") -> CellError:
        return CellError(sheet, r + 1, headers.get(key, FIELDS_BY_KEY[key].header if key in FIELDS_BY_KEY else ""),
                         columns.get(key), value, problem, hint)

    # Duplicate ID numbers within the file: every row that shares one is wrong.
    seen: dict[str, list[int]] = {}
    for i, (_r, values, _e) in enumerate(raw):
        if "id_number" in values:
            seen.setdefault(values["id_number"][0], []).append(i)
    for number, idxs in seen.items():
        if len(idxs) > 1:
            rows_txt = "、".join(str(raw[i][0] + 1) for i in idxs)
            for i in idxs:
                raw[i][2].append(err(raw[i][0], "id_number", number, f"同一身份证号在本文件中出现了多次（第 {rows_txt} 行）",
                                     "每人只能有一行，请删除重复的行"))

    # What the database already holds, fetched only for the numbers in the file.
    ids = list(seen)
    # Only the columns compared: 100k full person rows as dicts took ~1 GB.
    person_cols = "p.id, p.household_id, p.id_number, " + ", ".join(f"p.{c}" for c in PERSON_COLS)
    existing_by_id: dict[str, list[dict]] = {}
    for chunk in _chunks(ids, 500):
        for row in db.query(
            f"SELECT {person_cols}, h.number AS hh_number FROM person p LEFT JOIN household h ON h.id = p.household_id "
            f"WHERE p.deleted = 0 AND p.id_number IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            existing_by_id.setdefault(row["id_number"], []).append(dict(row))
    hh_numbers = sorted({v["hh_number"] for _, v, _ in raw if v.get("hh_number")})
    # Households of rows that name nobody the database knows by ID: their members by name.
    name_numbers = sorted({
        v["hh_number"] for _, v, _ in raw
        if v.get("hh_number") and ("id_number" not in v or v["id_number"][0] not in existing_by_id)
    })
    households: dict[str, dict] = {}
    dup_households: set[str] = set()
    by_name: dict[tuple[str, str], list[dict]] = {}
    for chunk in _chunks(hh_numbers, 500):
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT * FROM household WHERE deleted = 0 AND number IN ({marks})", chunk):
            if row["number"] in households:
                dup_households.add(row["number"])
            households[row["number"]] = dict(row)
    for chunk in _chunks(name_numbers, 500):
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"SELECT {person_cols}, h.number AS hh_number FROM person p JOIN household h ON h.id = p.household_id "
            f"WHERE p.deleted = 0 AND h.deleted = 0 AND h.number IN ({marks})",
            chunk,
        ):
            by_name.setdefault((row["hh_number"], row["name"]), []).append(dict(row))
    places = Places(db)

    # Household attributes: the first row of a household that gives a value sets it; a later
    # row that disagrees is an error.
    hh_values: dict[str, dict[str, tuple[Any, int]]] = {}
    hh_first: dict[str, int] = {}
    hh_plan: dict[str, dict] = {}
    for r, values, errs in raw:
        number = values.get("hh_number")
        if not number:
            continue
        hh_first.setdefault(number, r)
        agreed = hh_values.setdefault(number, {})
        for key in ("building", "unit", "room", "origin_township", "origin_village", "tags", "risk", "move_in_date",
                    "_room_id", "ext_number"):
            if key not in values:
                continue
            if key in agreed and agreed[key][0] != values[key]:
                errs.append(err(r, key, _cell_show(key, values[key]),
                                f"同一户（户编号 {number}）在第 {agreed[key][1] + 1} 行填的是“{_cell_show(key, agreed[key][0])}”，与本行不一致",
                                "同一户各成员行的户信息应一致"))
            else:
                agreed.setdefault(key, (values[key], r))

    occupants: dict[str, tuple[str, str, str | None]] = {}
    for row in db.query("SELECT h.room_id, h.id, h.number, p.name FROM household h LEFT JOIN person p "
                        "ON p.id = h.head_person_id WHERE h.deleted = 0 AND h.status = '在住' AND h.room_id IS NOT NULL"):
        occupants.setdefault(row[0], (row[1], row[2], row[3]))
    claimed_rooms: dict[str, str] = {}
    for number, agreed in hh_values.items():
        vals = {k: v for k, (v, _r) in agreed.items()}
        existing = households.get(number)
        entry = {"id": existing["id"] if existing else None, "set": {}, "changes": [], "error": None,
                 "first_row": hh_first[number], "new": existing is None}
        if number in dup_households:
            entry["error"] = ("hh_number", f"系统中有多户使用户编号“{number}”", "请先在居民管理中处理重复的户编号")
        place_keys = [k for k in ("building", "unit", "room") if k in vals]
        room_id = existing["room_id"] if existing else None
        if "_room_id" in vals:
            room_id = vals["_room_id"]
        elif place_keys:
            missing = [FIELDS_BY_KEY[k].header for k in ("building", "unit", "room") if k not in vals]
            if missing:
                entry["error"] = (place_keys[0], f"楼栋、单元、房号要一起填写（缺少{'、'.join(missing)}）", "")
            else:
                try:
                    room_id = places.room(str(vals["building"]), int(vals["unit"]), str(vals["room"]))
                except CellProblem as p:
                    entry["error"] = ("building", p.problem, p.hint)
        elif existing is None:
            entry["error"] = ("building", "新户需要填写楼栋、单元、房号", "请填写该户所住的楼栋、单元和房号")
        if entry["error"] is None and room_id and room_id != (existing or {}).get("room_id"):
            # The one rule of households.room_free, checked here for the preview and again in apply.
            occ = occupants.get(room_id)
            if occ is not None and occ[0] != (existing or {}).get("id"):
                head = f"（户主 {occ[2]}）" if occ[2] else ""
                entry["error"] = ("building", f"{_place_text(places, room_id)} 已住有户号 {occ[1]}{head}的住户",
                                  "一间房只能住一户；如果是同一户，请用该户的户编号或填写成员的身份证号")
            elif room_id in claimed_rooms and claimed_rooms[room_id] != number:
                entry["error"] = ("building", f"{_place_text(places, room_id)} 在本文件中已分给户 {claimed_rooms[room_id]}",
                                  "一间房只能住一户，请核对房号")
            else:
                claimed_rooms[room_id] = number
        if entry["error"] is None:
            old = existing or {}
            if room_id != old.get("room_id"):
                entry["set"]["room_id"] = room_id
                entry["changes"].append(("房屋", _place_text(places, old.get("room_id")), _place_text(places, room_id)))
            for key in HOUSEHOLD_COLS:
                if key in vals and vals[key] != old.get(key):
                    entry["set"][key] = vals[key]
                    entry["changes"].append((FIELDS_BY_KEY[key].header, _cell_show(key, old.get(key)), _cell_show(key, vals[key])))
            if "tags" in vals:
                for col, v in vals["tags"].items():
                    if v != (old.get(col) or 0):
                        entry["set"][col] = v
                if any(c in entry["set"] for c in TAG_COLUMNS):
                    entry["changes"].append(("户标签", _tags_text(old), _tags_text(vals["tags"])))
            if "risk" in vals and vals["risk"] != old.get("risk_colour", "green" if existing is None else None):
                entry["set"]["risk_colour"] = vals["risk"]
                entry["changes"].append(("风险等级", RISK_DISPLAY.get(old.get("risk_colour"), ""), RISK_DISPLAY[vals["risk"]]))
        hh_plan[number] = entry
    plan.households = hh_plan

    matched_rows: dict[str, list[RowResult]] = {}
    for r, values, errs in raw:
        res = RowResult(row=r + 1, status="error", name=values.get("name", ""), hh_number=values.get("hh_number", ""))
        res.errors = errs
        res.values = values
        idinfo = values.get("id_number")
        if idinfo:
            res.id_number = idinfo[0]
            number, birth, sex = idinfo
            if "sex" in values and values["sex"] != sex:
                errs.append(err(r, "sex", values["sex"], f"与身份证号不符（按身份证号应为“{sex}”）", "请核对性别或身份证号"))
            if "birth_date" in values and values["birth_date"] != birth.isoformat():
                errs.append(err(r, "birth_date", values["birth_date"],
                                f"与身份证号不符（按身份证号应为 {birth.isoformat()}）", "请核对出生日期或身份证号"))
        if not values.get("name") and not any(e.col_index == plan.columns.get("name") for e in errs):
            errs.append(err(r, "name", None, "姓名为空", "每行都要有居民姓名"))
        number = values.get("hh_number")
        entry = hh_plan.get(number) if number else None
        if entry is not None and entry["error"] is not None and entry["first_row"] == r:
            key, problem, hint = entry["error"]
            errs.append(err(r, key, _cell_show(key, values.get(key)), problem, hint))
        elif entry is not None and entry["error"] is not None:
            errs.append(err(r, "hh_number", number, f"所在户（户编号 {number}）的户信息有错，见第 {entry['first_row'] + 1} 行", ""))
        # Who is it? By ID number; else by household number + name. A row with an ID number the
        # database does not know yet may still be a member recorded without one (the ID is filled in).
        match = None
        same_name = by_name.get((number, values.get("name")), []) if number and values.get("name") else []
        if idinfo:
            found = existing_by_id.get(idinfo[0], [])
            if len(found) > 1:
                errs.append(err(r, "id_number", idinfo[0], "系统中已有两条以上记录使用这个身份证号", "请先在居民管理中合并重复的居民"))
            elif found:
                match = found[0]
            else:
                without_id = [p for p in same_name if not p["id_number"]]
                if len(without_id) == 1:
                    match = without_id[0]
        elif same_name:
            if len(same_name) > 1:
                errs.append(err(r, "name", values["name"], f"户 {number} 中有多位叫“{values['name']}”的居民",
                                "请填写身份证号以区分"))
            else:
                match = same_name[0]
        elif not number:
            errs.append(err(r, "hh_number", None, "没有身份证号时必须填写户编号", "请填写户编号或身份证号"))
        if match is not None and not errs:
            matched_rows.setdefault(match["id"], []).append(res)
        if match is None and not number and not errs:
            errs.append(err(r, "hh_number", None, "新居民必须填写户编号", "请填写该居民所在户的户编号"))
        if errs:
            plan.rows.append(res)
            continue
        changes: list[tuple[str, str, str]] = []
        if match is None:
            res.status = "new"
        else:
            res.person_id = match["id"]
            res.old_name = match.get("name")
            for key in PERSON_COLS:
                if key == "ethnicity" and key in values and _same_ethnicity(match.get(key), values[key]):
                    continue  # 苗 stored by an older version is 苗族: not a change
                if key in values and values[key] != match.get(key):
                    changes.append((headers.get(key, FIELDS_BY_KEY[key].header), _cell_show(key, match.get(key)),
                                    _cell_show(key, values[key])))
            if idinfo and match.get("id_number") != idinfo[0]:
                changes.append(("身份证号", match.get("id_number") or "", idinfo[0]))
            if number and number != match.get("hh_number"):
                changes.append(("户编号", match.get("hh_number") or "", number))
            res.status = "updated" if changes else "unchanged"
            if not changes:
                res.values = {}  # nothing to write for this row; 100k kept values cost ~150 MB
        if entry is not None and entry["first_row"] == r and entry["changes"] and not entry["new"]:
            changes.extend(entry["changes"])
            if res.status == "unchanged":
                res.status = "updated"
        res.changes = changes
        plan.rows.append(res)

    # Two rows that are the same resident in the database: both are wrong (which one is right?).
    for results in matched_rows.values():
        if len(results) > 1:
            rows_txt = "、".join(str(x.row) for x in results)
            for x in results:
                x.status, x.changes = "error", []
                x.errors.append(CellError(sheet, x.row, headers.get("name", "姓名"), columns.get("name"), x.name,
                                          f"第 {rows_txt} 行是系统中的同一位居民", "每位居民只能有一行，请删除重复的行"))


def _same_ethnicity(stored: Any, new: str) -> bool:
    try:
        return stored is not None and vocab.ethnicity(stored) == new
    except vocab.VocabError:
        return False


def _ledger_module(ledger: str) -> Any:
    import importlib

    return importlib.import_module(LEDGER_MODULES.get(ledger, "app.models.excel.excel_import_ledgers"))


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _place_text(places: Places, room_id: str | None) -> str:
    if not room_id:
        return ""
    info = places.room_info.get(room_id)
    return f"{info[0]} {info[1]}单元 {info[2]}" if info else ""


def _tags_text(values: dict) -> str:
    return "、".join(TAG_DISPLAY[c] for c in TAG_COLUMNS if values.get(c))


def _cell_show(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "labour_ability":
        return LABOUR_DISPLAY.get(value, str(value))
    if key == "risk":
        return RISK_DISPLAY.get(value, str(value))
    if key == "tags" and isinstance(value, dict):
        return _tags_text(value)
    return _show(value)


# -- applying ----------------------------------------------------------------------------------
def apply_plan(
    db: Database,
    plan: ImportPlan,
    *,
    valid_only: bool = False,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Write the plan in one transaction. With errors and not `valid_only`, nothing is written."""
    # A county ledger touches every page of person's fifteen indexes in random order (row ids are
    # random): with SQLite's 2 MB default cache the pages went back and forth to the disk all the
    # transaction long (half the insert's CPU time was system time). 64 MB, for this write only.
    old_cache = db.conn.execute("PRAGMA cache_size").fetchone()[0]
    db.conn.execute(f"PRAGMA cache_size = {IMPORT_CACHE_KIB}")
    try:
        return _apply_plan(db, plan, valid_only=valid_only, progress=progress, cancelled=cancelled)
    finally:
        db.conn.execute(f"PRAGMA cache_size = {int(old_cache)}")


IMPORT_CACHE_KIB = -65536  # negative: KiB, SQLite's convention


def _apply_plan(
    db: Database,
    plan: ImportPlan,
    *,
    valid_only: bool,
    progress: ProgressFn | None,
    cancelled: Callable[[], bool] | None,
) -> dict[str, int]:
    if plan.source is not None and file_fingerprint(plan.path) != plan.source:
        raise KnownError(f"“{plan.path.name}”在预览之后被修改过（或被替换），未作任何改动。请重新预览后再导入。")
    with db.write() as tx:
        stamp = int(tx.conn.execute("SELECT coalesce(max(op_id), 0) FROM change_log").fetchone()[0])
        if stamp != plan.stamp:
            # Someone wrote since the preview: validate again against what is there now.
            plan = plan_import(db, plan.path, ledger=plan.ledger, sheet=plan.sheet, **plan.extra.get("options", {}))
        counts = plan.counts
        if counts["errors"] and not valid_only:
            raise KnownError(
                f"文件中有 {counts['errors']} 行错误，按“全部或不导入”的规则没有导入任何数据。"
                "请改正错误后重新导入，或选择“只导入正确的行”。"
            )
        if plan.ledger in OTHER_LEDGERS or plan.ledger in LEDGER_MODULES:
            getattr(_ledger_module(plan.ledger), f"apply_{plan.ledger}")(db, plan, progress=progress,
                                                                         cancelled=cancelled)
            return dict(counts)
        good = [r for r in plan.rows if r.status in ("new", "updated")]
        first_status = {r.row: r.status for r in plan.rows}
        used_numbers = {r.hh_number for r in good if r.hh_number}
        summary = f"Excel 导入 {plan.path.name}"
        # Households, then people, then heads: inserting a parent row while a deferred foreign key
        # is dangling makes SQLite scan every child table (some have no index on the key), which
        # took minutes for 23k residents; in this order no key ever dangles.
        pids = {r.row: (new_id() if r.status == "new" else r.person_id) for r in good}
        heads: dict[str, str] = {}
        for r in good:
            if r.values.get("relation") == "户主" and r.hh_number:
                heads.setdefault(r.hh_number, pids[r.row])
        from app.models.registry.households import room_occupant

        hh_ids: dict[str, str] = {}
        new_households: list[dict] = []
        total = len(good) + len(plan.households)
        done = 0
        for number, entry in plan.households.items():
            if entry["error"] is not None:
                continue
            if entry["new"]:
                if number not in used_numbers:
                    continue
                row = {"id": new_id(), "number": number, "room_id": None, "origin_township": None,
                       "origin_village": None, "move_in_date": None, "risk_colour": "green",
                       **{c: 0 for c in TAG_COLUMNS}}
                row.update(entry["set"])
                new_households.append(row)
                hh_ids[number] = row["id"]
            else:
                hh_ids[number] = entry["id"]
                # The household's changes ride on its first row: applied when that row is valid.
                if entry["set"] and first_status.get(entry["first_row"] + 1) in ("new", "updated", "unchanged"):
                    if entry["set"].get("room_id"):
                        occ = room_occupant(db, entry["set"]["room_id"], entry["id"])
                        if occ is not None:
                            raise KnownError(f"户 {number} 要搬入的房间已住有户号 {occ['number']} 的住户，未作任何改动。"
                                             "请重新预览后再导入。")
                    old_risk = tx.conn.execute("SELECT risk_colour FROM household WHERE id = ?", (entry["id"],)).fetchone()[0]
                    tx.update("household", entry["id"], entry["set"], summary=summary)
                    if "risk_colour" in entry["set"]:
                        tx.insert("risk_change", {"household_id": entry["id"], "old_colour": old_risk,
                                                  "new_colour": entry["set"]["risk_colour"], "reason": summary,
                                                  "changed_by": db.user, "changed_at": tx.now}, summary=summary)
            done += 1
        index = plan.extra.get("place_index")
        if index is not None and index.create and index.count_new:
            from app.models.excel.excel_import_county import create_places

            community = tx.conn.execute("SELECT id FROM community WHERE deleted = 0 ORDER BY rowid LIMIT 1").fetchone()
            if community is None:
                raise KnownError("还没有建立社区，无法创建楼栋。请先在“社区设置”中填写社区名称，再导入。")
            create_places(tx, index.creations(), community[0], summary)
        # The occupied-room rule, again inside this transaction (the preview checked it before):
        # one query per batch of rooms instead of one per new household.
        wanted = {row["room_id"]: row for row in new_households if row.get("room_id")}
        for chunk in _chunks(list(wanted), 500):
            occ = tx.conn.execute(
                "SELECT room_id, number FROM household WHERE deleted = 0 AND status = '在住' "
                f"AND room_id IN ({','.join('?' * len(chunk))}) LIMIT 1",
                chunk,
            ).fetchone()
            if occ is not None:
                raise KnownError(f"户 {wanted[occ[0]]['number']} 要住的房间已住有户号 {occ[1]} 的住户，未作任何改动。"
                                 "请重新预览后再导入。")
        if new_households:
            entered = dt.date.today().isoformat()  # their first visit is due from today at the earliest
            tx.insert_many("household", [{**h, "entered_date": entered} for h in new_households], summary=summary)
        new_people: list[dict] = []
        updates: dict[str, dict] = {}
        for r in good:
            done += 1
            if done % PROGRESS_EVERY == 0:
                if cancelled is not None and cancelled():
                    raise ImportCancelled("已取消导入，未作任何改动。")
                if progress is not None:
                    progress(done, total, "正在写入…")
            v = r.values
            fields = {k: v[k] for k in PERSON_COLS if k in v}
            if "id_number" in v:
                number, birth, sex = v["id_number"]
                fields.update(id_number=number, birth_date=birth.isoformat(), sex=sex)
            if "name" in fields and (r.status == "new" or fields["name"] != r.old_name):
                fields["name_pinyin"], fields["name_initials"] = name_pinyin(fields["name"])
            if r.hh_number:
                fields["household_id"] = hh_ids.get(r.hh_number) or plan.households[r.hh_number]["id"]
            if r.status == "new":
                row = {k: None for k in (*PERSON_COLS, "id_number", "name_pinyin", "name_initials", "household_id")}
                row.update(fields)
                row["id"] = pids[r.row]
                new_people.append(row)
            elif r.person_id is not None:
                updates[r.person_id] = fields
        if cancelled is not None and cancelled():
            raise ImportCancelled("已取消导入，未作任何改动。")
        # Rows the plan found changed: written in batches, each with its own audit entry.
        tx.update_many("person", updates, summary=summary)
        if new_people:
            tx.insert_many("person", new_people, summary=summary)
        # A household created just now has no head yet: set them all in one statement.
        created = {h["id"] for h in new_households}
        tx.set_many("household", "head_person_id",
                    {hh_ids[n]: pid for n, pid in heads.items() if hh_ids.get(n) in created}, summary=summary)
        for number, pid in heads.items():
            hid = hh_ids.get(number)
            if hid and hid not in created and not tx.conn.execute(
                "SELECT head_person_id FROM household WHERE id = ?", (hid,)
            ).fetchone()[0]:
                tx.update("household", hid, {"head_person_id": pid}, summary=summary)
        if progress is not None:
            progress(total, total, "正在保存…")
        result = dict(counts)
        result.update(households_new=len(new_households), places_new=plan.places_new)
        if valid_only:
            result["skipped"] = counts["errors"]
        return result


def preview_lines(plan: ImportPlan, limit: int = 20) -> list[str]:
    """What a clerk reads before saying yes: how households were formed, the households to be
    created (number, room, head, members), the missing places, the possible duplicates."""
    from app.models.excel.excel_import_county import RULES

    out: list[str] = []
    rule = plan.extra.get("rule")
    if plan.ledger != "residents" or rule is None:
        return out
    out.append(f"分户方式：{RULES[rule]}")
    new = [h for h in plan.extra.get("households_preview", []) if h["number"] in plan.households
           and plan.households[h["number"]].get("error") is None]
    if new:
        people = sum(h["members"] for h in new)
        out.append(f"将新建 {plan.households_new} 户（共 {people} 人）：")
        for h in new[:limit]:
            ext = f"，县级户编号 {h['ext_number']}" if h["ext_number"] else ""
            out.append(f"  {h['number']}  {h['address'] or '（无地址）'}  户主 {h['head'] or '（未标明）'}  "
                       f"{h['members']} 人（第 {h['first_row']} 行起{ext}）")
        if len(new) > limit:
            out.append(f"  … 另有 {len(new) - limit} 户")
    index = plan.extra.get("place_index")
    if index is not None and index.missing:
        verb = "将创建" if index.create else "系统中没有（勾选创建或加 --create-places）"
        out.append(f"文件中出现、系统中没有的楼栋/单元/房间，{verb}：{index.missing_text()}")
    maybe = plan.extra.get("maybe_same", [])
    if maybe:
        out.append(f"可能是同一人（{len(maybe)} 行，导入为新居民，请核对）：")
        out.extend(f"  第 {row} 行：{text}" for row, text in maybe[:limit])
    return out


# -- the error workbook ------------------------------------------------------------------------
def write_error_workbook(plan: ImportPlan, out: str | Path) -> Path:
    """A copy of the original workbook with a 错误说明 column and the bad cells in red."""
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        out = out.with_suffix(".xlsx")
    from openpyxl import Workbook, load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    red = PatternFill("solid", fgColor="FFC7CE")
    by_row: dict[int, list[CellError]] = {}
    for e in plan.errors:
        by_row.setdefault(e.row, []).append(e)
    kind = check_file(plan.path)
    if kind == "xlsx":
        with plan.path.open("rb") as fh:  # a file object: openpyxl would refuse an .xlsx named .xls
            wb = load_workbook(fh)
        ws = wb[plan.sheet]
    else:
        # openpyxl cannot edit .xls/.ods: copy the values into a new workbook.
        wb = Workbook()
        ws = wb.active
        ws.title = plan.sheet[:31]
        book = Sheet(plan.path, kind, plan.sheet)
        for r, cells in book.rows():
            for c, v in enumerate(cells):
                if v is not None:
                    cell = ws.cell(row=r + 1, column=c + 1)
                    cell.value = v
                    if isinstance(v, str):
                        cell.data_type = "s"  # never a formula
    err_col = max(ws.max_column, max(plan.columns.values(), default=0) + 1) + 1
    head = ws.cell(row=plan.header_row, column=err_col, value="错误说明")
    head.font = Font(bold=True, color="9C0006")
    head.fill = red
    ws.column_dimensions[col_letter(err_col - 1)].width = 60
    # Printable on A4 landscape, all columns on one page width, so the clerk can hand it round.
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    for row, errs in by_row.items():
        text = "；".join(
            (f"{e.column}：" if e.column else "") + e.problem + (f"（{e.hint}）" if e.hint else "") for e in errs
        )
        ws.cell(row=row, column=err_col, value=text).font = Font(color="9C0006")
        for e in errs:
            if e.col_index is not None:
                cell = ws.cell(row=row, column=e.col_index + 1)
                cell.fill = red
                cell.comment = Comment(e.problem + (f"；{e.hint}" if e.hint else ""), "安居台账")
    with atomic_file(out, check=check_zip, what="错误标注工作簿") as fh:
        wb.save(fh)
    return out


def workbook_ledgers(path: str | Path) -> dict[str, str]:
    """{"households": sheet, "residents": sheet} when one workbook holds both ledgers (a whole
    office's data: ours exported from another office, or a county's 户表 and 人表); else {}."""
    import itertools

    from app.models.excel import excel_import_ledgers as other

    path = Path(path)
    book = Sheet(path, check_file(path))
    found: dict[str, str] = {}
    try:
        if len(book.names) < 2:
            return {}
        for name in book.names:
            if name != book.name:
                book.open(name)
            head = list(itertools.islice(book.rows(), HEADER_SCAN_ROWS))
            hh = find_header(head, book.merged, other.HOUSEHOLD_ALIASES, other.households_header)
            if hh is not None and other.looks_like_households(hh[1]):
                found.setdefault("households", name)
            elif find_header(head, book.merged) is not None:
                found.setdefault("residents", name)
    finally:
        book.close()
    return found if len(found) == 2 else {}


class _Undo(Exception):
    """Leaves the workbook import's transaction without keeping anything."""


def import_workbook(
    db: Database, path: str | Path, sheets: dict[str, str], *, create_places: bool = False, dry_run: bool = False,
    valid_only: bool = False,
) -> tuple[list[ImportPlan], bool]:
    """Households first, then residents, in ONE transaction: the residents sheet is checked against
    the households the first sheet makes. A dry run (or an error) rolls the whole of it back."""
    plans: list[ImportPlan] = []
    try:
        with db.write():
            for ledger in ("households", "residents"):
                plan = plan_import(db, path, ledger=ledger, sheet=sheets[ledger], create_places=create_places)
                plans.append(plan)
                if plan.counts["errors"] and not valid_only:
                    raise _Undo
                apply_plan(db, plan, valid_only=valid_only)
            if dry_run:
                raise _Undo
    except _Undo:
        return plans, False
    return plans, True


def import_file(
    db: Database,
    path: str | Path,
    *,
    ledger: str | None = None,
    dry_run: bool = False,
    valid_only: bool = False,
    errors_out: str | Path | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[ImportPlan, bool]:
    """Dry run, then (unless `dry_run`) apply. Returns (plan, applied)."""
    plan = plan_import(db, path, ledger=ledger, progress=progress, cancelled=cancelled)
    if errors_out and plan.errors:
        write_error_workbook(plan, errors_out)
    if dry_run:
        return plan, False
    if plan.counts["errors"] and not valid_only:
        return plan, False
    apply_plan(db, plan, valid_only=valid_only, progress=progress, cancelled=cancelled)
    return plan, True
