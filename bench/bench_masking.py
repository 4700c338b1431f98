"""What the masked variant costs: the residents ledger exported whole and masked, on a demo community.

    .venv/bin/python bench/bench_masking.py [--size 23k|100k] [--runs 3]

Prints the median seconds of each export and of masking the rows alone (no file written).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # common.py puts the project root on the path

from common import ensure_demo, median, print_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="23k")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from app.models.core.db import open_database
    from app.models.excel.excel_export import export_ledger
    from app.models.excel.ledgers import get_ledger, masked_view

    path = ensure_demo(args.size)
    times: dict[str, list[float]] = {"full": [], "masked": [], "mask_rows": []}
    rows = 0
    with open_database(path) as db, tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for variant in ("full", "masked"):
                t0 = time.perf_counter()
                rows = export_ledger(db, "residents", Path(tmp) / f"{variant}.xlsx", masked=variant == "masked")
                times[variant].append(time.perf_counter() - t0)
            columns, _total, it = get_ledger("residents").rows(db)
            data = list(it)
            t0 = time.perf_counter()
            for _row in masked_view(columns, data)[1]:
                pass
            times["mask_rows"].append(time.perf_counter() - t0)
    print_table(f"residents ledger, {rows:,} rows ({args.size} demo), median of {args.runs}", [
        ("export, whole", f"{median(times['full']):.2f} s"),
        ("export, masked", f"{median(times['masked']):.2f} s"),
        ("masking the rows alone", f"{median(times['mask_rows']):.2f} s"),
    ])


if __name__ == "__main__":
    main()
