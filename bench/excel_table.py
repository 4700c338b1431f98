"""The Excel rows of the lean-and-fast table: Anju beside LibreOffice on the same file, one run.

    .venv/bin/python bench/excel_table.py          # prints the rows (about 2 minutes on 2 busy cores)

`excel_rows()` returns (what, Anju, LibreOffice, goal) rows for a script that prints the whole
table. Each Anju step runs in its own process (bench_excel.py's children) so that its peak memory
is its own; LibreOffice opens the very file Anju wrote (or is about to import) and saves it as
CSV, right after Anju's step. Wall times on a shared machine move with its load: the CPU seconds
of Anju's process are printed beside them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_excel import child, soffice_csv_cpu  # noqa: E402
from common import ensure_demo  # noqa: E402

Row = tuple[str, str, str, str]


def excel_rows(work: Path | None = None, sizes: list[str] | None = None) -> list[Row]:
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="anju-bench-excel-table-")) if work is None else work
    rows: list[Row] = []
    try:
        for size in sizes if sizes is not None else ["100k", "23k"]:
            db = work / f"{size}.db"
            shutil.copy(ensure_demo(size), db)
            out = work / f"residents-{size}.xlsx"
            r = child("export", [str(db), str(out)])
            lo = soffice_csv_cpu(out, work)
            goal = "≤ LibreOffice, ≤ 200 MB" if size == "100k" else "≤ LibreOffice"
            rows.append((f"export residents ledger, {r['rows']:,} rows",
                         f"{r['seconds']:.1f} s ({r['step_cpu']:.1f} s CPU), peak {r['peak_mb']:.0f} MB",
                         _lo(lo, r["seconds"], r["step_cpu"]), goal))
            if size == "23k":
                changed = work / "residents-23k-phones.xlsx"
                p = child("phones", [str(out), str(changed)])
                lo = soffice_csv_cpu(changed, work)
                r = child("import", [str(db), str(changed)])
                total = r["dry"] + r["apply"]
                cpu = r["step_cpu"]
                rows.append((f"import {p['rows']:,} rows with {p['changed']:,} changed phones: dry run + apply",
                             f"{r['dry']:.1f} s + {r['apply']:.1f} s = {total:.1f} s (CPU {r['dry_cpu']:.1f} s + "
                             f"{cpu - r['dry_cpu']:.1f} s = {cpu:.1f} s), peak {r['peak_mb']:.0f} MB",
                             _lo(lo, total, cpu), "≤ 3 s together"))
        rows.append(("load average during the run", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", "", ""))
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def _lo(lo: tuple[float, float] | None, ours: float, ours_cpu: float) -> str:
    if lo is None:
        return "soffice not installed"
    wall, cpu = lo
    return (f"open + save as CSV: {wall:.1f} s, {cpu:.1f} s CPU (Anju {ours / wall:.2f}× its wall time, "
            f"{ours_cpu / cpu:.2f}× its CPU)")


def print_rows(rows: list[Row]) -> None:
    print("| what | now | LibreOffice on the same file | goal |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    print_rows(excel_rows())
