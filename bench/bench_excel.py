"""Excel export/import figures on the demo databases, beside LibreOffice Calc and the other libraries.

    .venv/bin/python bench/bench_excel.py            # everything (about 3–4 minutes on 2 busy cores)
    .venv/bin/python bench/bench_excel.py --skip-libs  # only Anju's own figures and LibreOffice

Each measured step runs in its own process so that its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # common.py puts the project root on the path

from common import ensure_demo, print_table  # noqa: E402

TARGETS = {"export": 15.0, "export_mb": 400.0, "dry": 15.0, "apply": 10.0}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- child steps (run in a fresh process) ---------------------------------------------------------
def step_export(db_path: str, out: str) -> dict:
    from app.models.core.db import open_database
    from app.models.excel.excel_export import export_ledger

    with open_database(db_path) as db:
        t0, c0 = time.perf_counter(), time.process_time()
        n = export_ledger(db, "residents", out)
        return {"seconds": time.perf_counter() - t0, "step_cpu": time.process_time() - c0, "rows": n}


def step_import(db_path: str, path: str) -> dict:
    from app.models.core.db import open_database
    from app.models.excel.excel_import import apply_plan, plan_import

    with open_database(db_path) as db:
        t0, c0 = time.perf_counter(), time.process_time()
        plan = plan_import(db, path, create_places=True)
        dry = time.perf_counter() - t0
        dry_cpu = time.process_time() - c0
        dry_mb = _peak_mb()
        t1 = time.perf_counter()
        if plan.counts["new"] + plan.counts["updated"]:
            apply_plan(db, plan)  # the preview's plan itself: the file has not changed
        return {"dry": dry, "apply": time.perf_counter() - t1, "counts": plan.counts, "dry_mb": dry_mb,
                "dry_cpu": dry_cpu, "step_cpu": time.process_time() - c0}


def step_renumber(src: str, out: str) -> dict:
    """The 23k workbook as if it came from another site: new ID numbers and household numbers."""
    import python_calamine as pc
    import xlsxwriter

    from app.models.core.id_numbers import check_digit

    t0 = time.perf_counter()
    sheet = pc.CalamineWorkbook.from_path(src).get_sheet_by_index(0)
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False})
    ws = wb.add_worksheet()
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(sheet.iter_rows()):
        for c, v in enumerate(row):
            if v == "" or v is None:
                continue
            if r >= 2 and c == 0:
                v = f"B-{v}"
            if r >= 2 and c == 8:
                v = f"B{v}"  # buildings of the other site: its households must not land in occupied rooms
            if r >= 2 and c == 2 and isinstance(v, str) and len(v) == 18:
                body = "9" + v[1:17]  # a one-to-one change of region: no new duplicates
                v = body + check_digit(body)
            if hasattr(v, "year"):
                ws.write_datetime(r, c, v, date_fmt)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
    wb.close()
    return {"seconds": time.perf_counter() - t0}


def step_phones(src: str, out: str) -> dict:
    """The exported ledger with every phone changed (last digit + 1): what a clerk's corrections
    of a whole community look like to the importer."""
    import python_calamine as pc

    from app.models.excel.xlsx_stream import S_DATE, S_NUMBER, S_TEXT, SheetColumn, SheetWriter

    sheet = pc.CalamineWorkbook.from_path(src).get_sheet_by_index(0).to_python()
    title, header, data = sheet[0][0], sheet[1], sheet[2:]
    col = header.index("联系电话")
    dates = {header.index(h) for h in ("出生日期", "入住日期")}
    kinds = [S_DATE if c in dates else S_NUMBER if h == "单元" else S_TEXT for c, h in enumerate(header)]
    changed = 0
    rows = []
    for row in data:
        row = list(row)
        if row[col]:
            phone = str(row[col])
            row[col] = phone[:-1] + str((int(phone[-1]) + 1) % 10)
            changed += 1
        rows.append(row)
    with open(out, "wb") as fh:
        w = SheetWriter(fh, "居民花名册", [SheetColumn(h, k) for h, k in zip(header, kinds, strict=True)], title=title,
                        expected_rows=len(rows))
        w.write_rows(rows)
        w.close()
    return {"rows": len(rows), "changed": changed}


def _library_rows(n: int = 100_000, cols: int = 20) -> list[list]:
    import datetime as dt

    row = ["HL-00001", "张秀英", "532301196803050024", "女", dt.date(1968, 3, 5), "汉族", "户主", "13812345678",
           "1栋", 1, "101", "大坪镇", "新1村", "初中", "全劳动力", "就近就业", "脱贫户、低保", "绿", 3123.45, "备注"]
    return [row[:cols] for _ in range(n)]


def step_lib_write(kind: str, out: str) -> dict:
    rows = _library_rows()
    t0 = time.perf_counter()
    if kind == "anju-xlsx-stream":
        import datetime as dt

        from app.models.excel.xlsx_stream import S_DATE, S_NUMBER, S_TEXT, SheetColumn, SheetWriter

        cols = [SheetColumn(f"c{i}", S_DATE if isinstance(v, dt.date) else S_TEXT if isinstance(v, str) else S_NUMBER)
                for i, v in enumerate(rows[0])]
        with open(out, "wb") as fh:
            w = SheetWriter(fh, "S", cols, expected_rows=len(rows))
            w.write_rows(rows)
            w.close()
    elif kind == "openpyxl-write-only":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        for row in rows:
            ws.append(row)
        wb.save(out)
    else:
        import xlsxwriter

        wb = xlsxwriter.Workbook(out, {"constant_memory": kind == "xlsxwriter-constant-memory"})
        ws = wb.add_worksheet()
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if isinstance(v, str):
                    ws.write_string(r, c, v)
                elif hasattr(v, "year"):
                    ws.write_datetime(r, c, v, date_fmt)
                else:
                    ws.write_number(r, c, v)
        wb.close()
    return {"seconds": time.perf_counter() - t0}


def step_lib_read(kind: str, path: str) -> dict:
    t0 = time.perf_counter()
    n = 0
    if kind == "openpyxl-read-only":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        for _row in wb.active.iter_rows(values_only=True):
            n += 1
        wb.close()
    else:
        import python_calamine as pc

        for _row in pc.CalamineWorkbook.from_path(path).get_sheet_by_index(0).iter_rows():
            n += 1
    return {"seconds": time.perf_counter() - t0, "rows": n}


STEPS = {"export": step_export, "import": step_import, "renumber": step_renumber, "phones": step_phones,
         "lib_write": step_lib_write, "lib_read": step_lib_read}


def child(step: str, args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", step, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def soffice_csv(path: Path, workdir: Path) -> float | None:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        return None
    profile = (workdir / "lo-profile").as_uri()
    # A first run creates the profile; not part of the measurement.
    warm = workdir / "warm.xlsx"
    if not warm.exists():
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(warm))
        wb.add_worksheet().write(0, 0, 1)
        wb.close()
        subprocess.run([exe, "--headless", "--norestore", f"-env:UserInstallation={profile}", "--convert-to", "csv",
                        "--outdir", str(workdir / "lo"), str(warm)], capture_output=True, timeout=600)
    t0 = time.perf_counter()
    subprocess.run([exe, "--headless", "--norestore", f"-env:UserInstallation={profile}", "--convert-to", "csv",
                    "--outdir", str(workdir / "lo"), str(path)], check=True, capture_output=True, timeout=1200)
    return time.perf_counter() - t0


def soffice_csv_cpu(path: Path, workdir: Path) -> tuple[float, float] | None:
    """(wall, CPU) seconds of LibreOffice opening `path` and saving it as CSV: the CPU seconds of its
    processes compare with Anju's own on a machine whose load moves the wall times."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = soffice_csv(path, workdir)
    if wall is None:
        return None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--skip-libs", action="store_true")
    args, rest = parser.parse_known_args()
    if args.child:
        step, *step_args = args.child + rest
        result = STEPS[step](*step_args)
        result["peak_mb"] = _peak_mb()
        use = resource.getrusage(resource.RUSAGE_SELF)
        result["cpu"] = use.ru_utime + use.ru_stime  # whole process; comparable when the machine is busy
        print(json.dumps(result, ensure_ascii=False))
        return

    demo100 = ensure_demo("100k")
    demo23 = ensure_demo("23k")
    work = Path(tempfile.mkdtemp(prefix="anju-bench-excel-"))
    try:
        rows: list[tuple[str, str]] = []
        db100 = work / "100k.db"
        shutil.copy(demo100, db100)
        x100 = work / "residents-100k.xlsx"
        r = child("export", [str(db100), str(x100)])
        rows.append(("export residents, 100k demo (target < 15 s, < 400 MB)",
                     f"{r['seconds']:.1f} s wall ({r['cpu']:.1f} s CPU), {r['rows']} rows, peak {r['peak_mb']:.0f} MB, "
                     f"{x100.stat().st_size / 2**20:.1f} MB file"))
        export_s = r["seconds"]

        db23 = work / "23k.db"
        shutil.copy(demo23, db23)
        x23 = work / "residents-23k.xlsx"
        r = child("export", [str(db23), str(x23)])
        rows.append(("export residents, 23k demo", f"{r['seconds']:.1f} s, {r['rows']} rows"))
        r = child("import", [str(db23), str(x23)])
        rows.append(("round trip: dry run of the 23k export on its own DB",
                     f"{r['dry']:.1f} s, peak {r['peak_mb']:.0f} MB, {json.dumps(r['counts'])}"))
        x23new = work / "residents-23k-other-site.xlsx"
        child("renumber", [str(x23), str(x23new)])
        db23b = work / "23k-b.db"
        shutil.copy(demo23, db23b)
        r = child("import", [str(db23b), str(x23new)])
        dry_s = r["dry"]
        rows.append(("dry run, 23k new residents (target < 15 s)", f"{r['dry']:.1f} s, {json.dumps(r['counts'])}"))
        rows.append(("apply, 23k new residents (target < 10 s more)",
                     f"{r['apply']:.1f} s (dry run + apply: {r['cpu']:.1f} s CPU), peak {r['peak_mb']:.0f} MB"))

        lo23 = soffice_csv(x23new, work)
        lo100 = soffice_csv(x100, work)
        if lo23 is None:
            rows.append(("LibreOffice Calc", "soffice not installed (apt-get install libreoffice-calc-nogui)"))
        else:
            rows.append(("LibreOffice open+save as CSV, 23k workbook", f"{lo23:.1f} s (Anju dry run is {dry_s / lo23:.2f}× that)"))
            rows.append(("LibreOffice open+save as CSV, 100k workbook", f"{lo100:.1f} s (Anju export is {export_s / lo100:.2f}× that)"))
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with it)")
        print_table("Anju Excel (residents ledger)", rows)

        if not args.skip_libs:
            lib_rows = []
            for kind in ("anju-xlsx-stream", "xlsxwriter", "xlsxwriter-constant-memory", "openpyxl-write-only"):
                out = work / f"lib-{kind}.xlsx"
                r = child("lib_write", [kind, str(out)])
                lib_rows.append((f"write 100k × 20: {kind}", f"{r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB"))
            src = work / "lib-xlsxwriter.xlsx"
            for kind in ("python-calamine", "openpyxl-read-only"):
                r = child("lib_read", [kind, str(src)])
                lib_rows.append((f"read 100k × 20: {kind}", f"{r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB"))
            print_table("Libraries, same data, one process each", lib_rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
