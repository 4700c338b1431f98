"""`anju import-excel`: check a ledger workbook row by row, then import it all or nothing."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli import add_db_argument, open_db
from app.models.excel.excel_import import (
    IMPORTABLE,
    apply_plan,
    import_workbook,
    plan_import,
    preview_lines,
    workbook_ledgers,
    write_error_workbook,
)

MAX_ERRORS_SHOWN = 50


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-excel",
        help="import a ledger from Excel (.xlsx/.xls/.ods); all or nothing unless --valid-only",
        description="从 Excel 导入居民花名册、搬迁户、就业、培训、需求、入户走访台账或房间清单（按表头自动识别）。先逐行检查；默认有任何错误就不导入。",
    )
    add_db_argument(p)
    p.add_argument("file", help="the workbook to import")
    p.add_argument("--ledger", choices=list(IMPORTABLE), default=None,
                   help="ledger layout of the file (default: told by its header)")
    p.add_argument("--create-places", action="store_true",
                   help="create the buildings, units and rooms the file names but the office lacks")
    p.add_argument("--dry-run", action="store_true", help="check and report only; change nothing")
    p.add_argument("--valid-only", action="store_true", help="import the valid rows, skip the rows with errors")
    p.add_argument("--errors-out", help="write a copy of the workbook with the errors marked")
    p.add_argument("--json", action="store_true", help='last line: {"new": N, "updated": M, "unchanged": K, "errors": E, "households_new": H, "places_new": P}')
    p.set_defaults(func=run)


def _report(plan, out) -> None:  # noqa: ANN001
    what = IMPORTABLE.get(plan.ledger, plan.ledger)
    print(f"{plan.path.name} · {what} · 工作表“{plan.sheet}” · 表头在第 {plan.header_row} 行", file=out)
    if plan.ignored_headers:
        print(f"未识别、已忽略的列：{'、'.join(plan.ignored_headers)}", file=out)
    print(plan.summary(), file=out)
    for line in preview_lines(plan):
        print(line, file=out)
    for e in plan.errors[:MAX_ERRORS_SHOWN]:
        print(f"  ✗ {e.message()}", file=out)
    if len(plan.errors) > MAX_ERRORS_SHOWN:
        print(f"  … 另有 {len(plan.errors) - MAX_ERRORS_SHOWN} 处错误（用 --errors-out 保存完整清单）", file=out)


def _run_workbook(db, args: argparse.Namespace, sheets: dict[str, str]) -> int:  # noqa: ANN001
    out = sys.stdout
    print(f"工作簿含搬迁户台账（工作表“{sheets['households']}”）和居民花名册（工作表“{sheets['residents']}”），"
          "先导入户，再导入人，一次完成。", file=out)
    plans, applied = import_workbook(db, args.file, sheets, create_places=args.create_places,
                                     dry_run=args.dry_run, valid_only=args.valid_only)
    for plan in plans:
        _report(plan, out)
    total = {k: sum(p.counts[k] for p in plans) for k in ("new", "updated", "unchanged", "errors")}
    households_new = sum(p.households_new for p in plans)
    if args.dry_run:
        print("试运行：未作任何改动。", file=out)
    elif applied:
        print(f"已导入：新建 {households_new} 户，新增/更新 {total['new'] + total['updated']} 条。", file=out)
    else:
        print("有错误，按“全部或不导入”的规则未导入任何数据（改正后重试，或加 --valid-only 只导入正确的行）。", file=out)
    if args.json:
        print(json.dumps({**total, "households_new": households_new, "places_new": sum(p.places_new for p in plans)}),
              file=out)
    return 0 if applied or (args.dry_run and not total["errors"]) else 1


def run(args: argparse.Namespace) -> int:
    with open_db(args) as db:
        sheets = workbook_ledgers(args.file) if args.ledger is None else {}
        if sheets:
            return _run_workbook(db, args, sheets)
        plan = plan_import(db, args.file, ledger=args.ledger, create_places=args.create_places)
        counts = plan.counts
        out = sys.stdout
        _report(plan, out)
        if args.errors_out and plan.errors:
            path = write_error_workbook(plan, args.errors_out)
            print(f"错误已标注在：{path}", file=out)
        applied = False
        if args.dry_run:
            print("试运行：未作任何改动。", file=out)
        elif counts["errors"] and not args.valid_only:
            print("有错误，按“全部或不导入”的规则未导入任何数据（改正后重试，或加 --valid-only 只导入正确的行）。", file=out)
        else:
            apply_plan(db, plan, valid_only=args.valid_only)
            applied = True
            skipped = f"，跳过有错误的 {counts['errors']} 行" if counts["errors"] else ""
            unit = "人" if plan.ledger == "residents" else "条"
            places = f"，新建楼栋/单元/房间 {plan.places_new} 处" if plan.places_new else ""
            households = f"新建 {plan.households_new} 户，" if plan.ledger == "residents" else ""
            print(f"已导入：{households}新增 {counts['new']} {unit}，更新 {counts['updated']} {unit}{places}{skipped}。",
                  file=out)
        if "places_summary" in plan.extra:  # a room list: what it adds, by kind of place
            print(plan.extra["places_summary"].replace("将新建", "新建" if applied else "将新建"), file=out)
        if args.json:
            result = {k: counts[k] for k in ("new", "updated", "unchanged", "errors")}
            result.update(households_new=plan.households_new, places_new=plan.places_new)
            print(json.dumps(result), file=out)
    if applied or (args.dry_run and not counts["errors"]):
        return 0
    return 1
