"""A county's own resident ledger, in layouts the program never saw, into an empty office.

    .venv/bin/python bench/bench_county_import.py            # 4 layouts × ~23,000 residents
    .venv/bin/python bench/bench_county_import.py --people 5000

The script BUILDS each ledger itself: header names, order and grouping rule differ; title rows,
a merged two-row header, blank rows, one-cell or separate addresses, dates as text in several
forms, as numbers and as real dates, old 15-digit ID numbers typed as numbers. Each import (dry
run, then apply; the buildings and rooms are created by the import) runs in a fresh process so
that its peak memory is its own. Target: dry run + apply ≤ 10 s, peak memory ≤ 400 MB. The CPU seconds are printed beside the
wall-clock ones: on a machine shared with other work they tell the script's own cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # common.py puts the project root on the path

from common import print_table  # noqa: E402

TARGET_S, TARGET_MB = 10.0, 400.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "秀英华明建国芳丽军强敏静玉兰桂花红梅小龙成文学春生金海燕平德福"
ETHNIC = ["汉", "苗", "彝", "布依族", "回族", "汉族", "苗族"]
RELATIONS = ["妻", "长子", "次子", "长女", "次女", "孙子", "孙女", "母亲", "儿媳"]
LABOUR = ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"]


def _people(n_people: int, seed: int) -> list[dict]:
    """Households of 1–7 people in rooms of buildings 1–40 (2 units, 18 floors, 4 rooms per floor)."""
    from app.models.core.id_numbers import make

    rng = random.Random(seed)
    out: list[dict] = []
    seq, hh = 0, 0
    while len(out) < n_people:
        hh += 1
        b, rest = divmod(hh - 1, 144)
        u, rest = divmod(rest, 72)
        floor, k = divmod(rest, 4)
        room = f"{floor + 1}{k + 1:02d}"
        size = rng.choice([1, 2, 3, 4, 4, 5, 5, 6, 7])
        for m in range(size):
            seq += 1
            sex = "男" if (m == 0) == (rng.random() < 0.8) else "女"
            year = rng.randint(1950, 1990) if m == 0 else rng.randint(1945, 2020)
            birth = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
            out.append({
                "hh": hh, "ext": f"52232{hh:014d}", "building": b + 1, "unit": u + 1, "room": room,
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else ""),
                "relation": "户主" if m == 0 else rng.choice(RELATIONS), "birth": birth, "sex": sex,
                "id": make(f"52{seq // 500 % 100:02d}01", birth, seq % 500, sex),
                "ethnic": rng.choice(ETHNIC), "labour": rng.choice(LABOUR),
                "phone": f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}" if rng.random() < 0.7 else None,
            })
    heads = {}
    for p in out:
        heads.setdefault(p["hh"], p["name"])
        p["head"] = heads[p["hh"]]
    return out


def _write(path: Path, header: list[str], rows: list[list], *, titles: int = 0, group_row: list | None = None,
           blank_every: int = 0) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("人口台账")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    r = 0
    for t in range(titles):
        ws.merge_range(r, 0, r, len(header) - 1, ["XX县XX镇易地扶贫搬迁人口台账", "填报单位：红路馨居社区"][t % 2])
        r += 1
    if group_row:  # a two-row header: labels merged over the columns they group, or down two rows
        for c0, c1, text in group_row:
            ws.merge_range(r, c0, r if c1 != c0 else r + 1, c1, text)
        for c, h in enumerate(header):
            if not any(c0 == c1 == c for c0, c1, _ in group_row):
                ws.write_string(r + 1, c, h)
        r += 2
    else:
        for c, h in enumerate(header):
            ws.write_string(r, c, h)
        r += 1
    for n, row in enumerate(rows):
        if blank_every and n and n % blank_every == 0:
            r += 1  # a blank row between villages
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, v)
        r += 1
    wb.close()


def build_layouts(folder: Path, n_people: int) -> dict[str, Path]:
    people = _people(n_people, 1)
    out = {}
    # A: the county's household number, one-cell addresses with the community's name, dotted dates.
    path = folder / "A_county_number.xlsx"
    _write(path, ["序号", "家庭编号", "姓名", "与户主关系", "公民身份号码", "性别", "民族", "出生日期", "搬迁地址",
                  "劳动技能", "联系方式", "政治面貌"],
           [[i + 1, p["ext"], p["name"], p["relation"], p["id"], p["sex"], p["ethnic"],
             f"{p['birth'].year}.{p['birth'].month:02d}.{p['birth'].day:02d}",
             f"红路馨居社区{p['building']}栋{p['unit']}单元{p['room']}室", p["labour"], p["phone"], "群众"]
            for i, p in enumerate(people)], titles=2, blank_every=250)
    out["A 户编号·一格地址·1985.03.12"] = path
    # B: 户主姓名 and separate building/unit/room columns, no relation; dates 1985年3月12日 and 19850312.
    path = folder / "B_head_name.xlsx"
    _write(path, ["户主姓名", "成员姓名", "证件号码", "出生年月", "楼栋号", "单元号", "房间号", "劳动力状况", "备注"],
           [[p["head"], p["name"], p["id"],
             f"{p['birth'].year}年{p['birth'].month}月{p['birth'].day}日" if i % 2 else
             int(p["birth"].strftime("%Y%m%d")), f"{p['building']}栋", f"{p['unit']}单元", p["room"], p["labour"],
             None] for i, p in enumerate(people)], titles=1)
    out["B 户主姓名·分列地址·年月日/数字"] = path
    # C: 户主 rows start households; a merged two-row header; real Excel dates; 5-1-501 addresses.
    path = folder / "C_relation_merged.xlsx"
    _write(path, ["姓名", "家庭关系", "身份证号码", "民族", "出生日期", "住址", "文化程度"],
           [[p["name"], "本人" if p["relation"] == "户主" else p["relation"], p["id"], p["ethnic"], p["birth"],
             f"{p['building']}-{p['unit']}-{p['room']}" if p["relation"] == "户主" else None, "初中"]
            for p in people],
           titles=1, group_row=[(0, 0, "姓名"), (1, 1, "家庭关系"), (2, 4, "基本信息"), (5, 5, "住址"), (6, 6, "文化程度")])
    out["C 户主行·合并表头·Excel日期"] = path
    # D: only the address forms households (same room = same household); 1985/3/12 text dates;
    # the oldest residents' 15-digit ID numbers typed as numbers.
    path = folder / "D_address.xlsx"
    rows = []
    for p in people:
        old = p["birth"].year < 1960
        ident: object = int(p["id"][:6] + p["id"][8:17]) if old else p["id"]
        rows.append([p["name"], p["sex"], f"{p['birth'].year}/{p['birth'].month}/{p['birth'].day}", ident,
                     f"{p['building']}栋{p['unit']}单元{p['room']}", p["ethnic"]])
    _write(path, ["名字", "性别", "出生日期", "身份证", "安置房号", "民族"], rows, titles=0, blank_every=500)
    out["D 地址分户·15位数字身份证"] = path
    return out


def child(ledger: str) -> dict:
    """One import into a fresh office database: the dry run, then the apply."""
    from app.models.core.db import open_database
    from app.models.excel.excel_import import apply_plan, plan_import

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "office.db", user="bench")
        with db.write() as tx:
            tx.insert("community", {"name": "红路馨居社区"})
        c0 = time.process_time()
        t0 = time.perf_counter()
        plan = plan_import(db, ledger, create_places=True)
        t1 = time.perf_counter()
        counts = plan.counts
        if counts["errors"]:
            return {"errors": counts["errors"], "first": [e.message() for e in plan.errors[:3]]}
        apply_plan(db, plan)
        t2 = time.perf_counter()
        cpu = time.process_time() - c0
        again = plan_import(db, ledger, create_places=True).counts
        households = db.scalar("SELECT count(*) FROM household")
        db.close()
    return {"dry": t1 - t0, "apply": t2 - t1, "cpu": cpu, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "new": counts["new"], "households": households, "places": plan.places_new, "rule": plan.extra["rule"],
            "again_new": again["new"] + again["updated"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=23000)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        layouts = build_layouts(Path(tmp), args.people)
        print(f"built {len(layouts)} ledgers of {args.people} residents in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
        for label, path in layouts.items():
            out = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            if "errors" in r:
                rows.append((label, f"{r['errors']} error rows: {r['first']}"))
                continue
            total = r["dry"] + r["apply"]
            ok = "ok" if total <= TARGET_S and r["rss"] <= TARGET_MB else "OVER TARGET"
            rows.append((label, f"{r['new']} residents, {r['households']} households ({r['rule']}), "
                                f"{r['places']} places created | dry {r['dry']:.1f} s + apply {r['apply']:.1f} s = "
                                f"{total:.1f} s (CPU {r['cpu']:.1f} s), peak {r['rss']:.0f} MB | "
                                f"re-import: {r['again_new']} changes | {ok}"))
    print_table(f"county ledger import (target ≤ {TARGET_S:.0f} s, ≤ {TARGET_MB:.0f} MB)", rows)


if __name__ == "__main__":
    main()
