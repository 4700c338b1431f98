"""Sync between PCs through a folder standing for the USB stick: merge, conflicts, identity, CLI."""

from __future__ import annotations

import json
import shutil

import pytest

from app.models.core import sqlite as sqlite3
from app.models.core.db import open_database
from app.models.core.hlc import wall_ms
from app.models.sync import review, sync
from tests.builders.sync import PASS, N, exchange, make_office, snapshot


@pytest.fixture
def pair(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db", user="乙")
    rep = sync.import_from_folder(b, stick, PASS)
    assert rep.applied > 0 and rep.rejected == 0
    yield a, b, ids, stick
    a.close()
    b.close()


def test_first_sync_copies_everything(pair):
    a, b, ids, stick = pair
    assert snapshot(a) == snapshot(b)
    assert b.site_id != a.site_id
    assert sync.community_of(b)[0] == ids["community"]


def test_one_exchange_each_way_converges_and_is_idempotent(pair):
    a, b, ids, stick = pair
    with a.write() as tx:
        tx.update("person", ids["p1"], {"phone": "13800000001"})
        tx.insert("visit", {"household_id": ids["h1"], "visit_date": "2026-02-01", "kind": "月访"})
    with b.write() as tx:
        tx.update("person", ids["p2"], {"education": "初中"})
        tx.delete("person", ids["p1"])
    exchange(a, b, stick)
    assert snapshot(a) == snapshot(b)
    assert b.get("person", ids["p1"])["deleted"] == 1 and b.get("person", ids["p1"])["phone"] == "13800000001"
    before = snapshot(b)
    log = b.scalar("SELECT count(*) FROM change_log")
    # The same bundles again, in reverse order, as files with other names: nothing changes.
    again = stick.parent / "again"
    again.mkdir()
    for i, f in enumerate(sorted(stick.iterdir(), reverse=True)):
        shutil.copy(f, again / f"copy{i}{f.suffix}")
    b.conn.execute("DELETE FROM sync_bundle")  # forget the file ids: rely on op identity alone
    rep = sync.import_from_folder(b, again, PASS)
    assert rep.applied == 0 and rep.already_had > 0 and rep.conflicts == 0
    assert snapshot(b) == before and b.scalar("SELECT count(*) FROM change_log") == log


def test_concurrent_key_field_edit_is_a_conflict_and_resolution_syncs(pair):
    a, b, ids, stick = pair
    with a.write() as tx:
        tx.update("person", ids["p1"], {"name": "张三丰"})
        tx.update("household", ids["h2"], {"risk_colour": "red"})
    with b.write() as tx:
        tx.update("person", ids["p1"], {"name": "张山"})
        tx.update("person", ids["p1"], {"phone": "139"})  # not a key field: merges silently
        tx.update("household", ids["h2"], {"risk_colour": "red"})  # same value: no conflict
    exchange(a, b, stick)
    assert snapshot(a) == snapshot(b)
    ca, cb = review.open_conflicts(a), review.open_conflicts(b)
    assert [(c.tbl, c.col) for c in ca] == [("person", "name")] == [(c.tbl, c.col) for c in cb]
    c = cb[0]
    assert {c.loser.value, c.winner.value} == {"张三丰", "张山"}
    assert c.current == c.winner.value
    assert {c.loser.user, c.winner.user} == {"甲", "乙"}
    # The clerk at B keeps the losing value: a new op that wins everywhere and settles the conflict.
    review.resolve_conflict(b, c, c.loser.value)
    assert review.open_conflicts(b) == []
    exchange(b, a, stick)
    assert review.open_conflicts(a) == []
    assert a.get("person", ids["p1"])["name"] == c.loser.value
    assert snapshot(a) == snapshot(b)


def test_keeping_the_current_value_still_settles_everywhere(pair):
    a, b, ids, stick = pair
    with a.write() as tx:
        tx.update("mediation_case", ids["case"], {"status": "调解中"})
    with b.write() as tx:
        tx.update("mediation_case", ids["case"], {"status": "已调解"})
    exchange(a, b, stick)
    (c,) = review.open_conflicts(a)
    review.resolve_conflict(a, c, c.current)
    assert review.open_conflicts(a) == []
    exchange(a, b, stick)
    assert review.open_conflicts(b) == [] and snapshot(a) == snapshot(b)


def test_sequential_edits_are_not_conflicts(pair):
    a, b, ids, stick = pair
    with a.write() as tx:
        tx.update("person", ids["p1"], {"name": "张三丰"})
    exchange(a, b, stick)
    with b.write() as tx:
        tx.update("person", ids["p1"], {"name": "张三峰"})
    exchange(b, a, stick)
    assert a.get("person", ids["p1"])["name"] == "张三峰"
    assert review.open_conflicts(a) == [] and a.scalar("SELECT count(*) FROM sync_conflict") == 0


def test_same_id_number_on_two_pcs_is_a_possible_duplicate(pair):
    a, b, ids, stick = pair
    import datetime as dt

    from app.models.core.id_numbers import make

    number = make("532128", dt.date(1980, 5, 1), 12, "男")
    with a.write() as tx:
        pa = tx.insert("person", {"name": "王五", "id_number": number, "household_id": ids["h1"]})
    with b.write() as tx:
        pb = tx.insert("person", {"name": "王伍", "id_number": number, "household_id": ids["h2"]})
    exchange(a, b, stick)
    (d,) = review.open_duplicates(b)
    assert {d.person_a, d.person_b} == {pa, pb} and d.id_number == number
    assert a.get("person", pa)["deleted"] == 0 and a.get("person", pb)["deleted"] == 0  # never auto-merged
    review.resolve_duplicate(b, d, remove=None)
    assert review.open_duplicates(b) == []
    exchange(b, a, stick)
    assert review.open_duplicates(a) == []


def test_copied_database_gets_its_own_site_before_first_edit(tmp_path):
    a, ids = make_office(tmp_path / "a.db")
    site = a.site_id
    a.close()
    shutil.copy(tmp_path / "a.db", tmp_path / "copy.db")
    c = open_database(tmp_path / "copy.db")
    with c.write() as tx:
        tx.update("person", ids["p1"], {"phone": "1"})
    assert c.site_id != site
    assert c.scalar("SELECT site_id FROM change_log ORDER BY op_id DESC LIMIT 1") == c.site_id
    a2 = open_database(tmp_path / "a.db")
    with a2.write() as tx:
        tx.update("person", ids["p1"], {"phone": "2"})
    assert a2.site_id == site  # the original keeps its identity
    # The copy's edit was made having seen everything the original had: not concurrent with it.
    assert sync.merge.Causality(c.conn).saw(c.site_id, 10**9, site, 5)
    a2.close()
    c.close()


def test_another_community_and_newer_schema_are_refused(pair, tmp_path):
    a, b, ids, stick = pair
    other, _ = make_office(tmp_path / "other.db")
    s2 = tmp_path / "stick2"
    s2.mkdir()
    sync.export_to_folder(other, s2, PASS, scrypt_n=N)
    before = snapshot(b)
    rep = sync.import_from_folder(b, s2, PASS)
    assert rep.applied == 0 and rep.other_community and snapshot(b) == before
    # A bundle made by a newer program (schema above ours) is refused with a clear message.
    from app.models.sync import bundle as bmod

    s3 = tmp_path / "stick3"
    s3.mkdir()
    orig = bmod.write_stream_bundle

    def newer(folder, header, payloads, passphrase, **kw):
        return orig(folder, {**header, "schema": 999}, payloads, passphrase, **kw)

    import app.models.sync.sync as smod

    smod.write_stream_bundle = newer
    try:
        with a.write() as tx:
            tx.update("person", ids["p1"], {"phone": "5"})
        sync.export_to_folder(a, s3, PASS, scrypt_n=N)
    finally:
        smod.write_stream_bundle = orig
    rep = sync.import_from_folder(b, s3, PASS)
    assert rep.rejected == 1 and "较新版本" in rep.messages[0] and snapshot(b) == before


def test_clock_far_in_the_future_is_refused(pair):
    a, b, ids, stick = pair
    a.set_meta("hlc", f"{wall_ms() + 40 * 24 * 3600 * 1000:013d}-00000")
    with a.write() as tx:
        tx.update("person", ids["p1"], {"name": "未来人"})
    s = stick.parent / "future"
    s.mkdir()
    sync.export_to_folder(a, s, PASS, scrypt_n=N)
    before = snapshot(b)
    rep = sync.import_from_folder(b, s, PASS)
    assert rep.rejected == 1 and "时钟" in rep.messages[0] and snapshot(b) == before


def test_wrong_passphrase_changes_nothing(pair):
    a, b, ids, stick = pair
    with a.write() as tx:
        tx.update("person", ids["p1"], {"phone": "7"})
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    before = snapshot(b)
    rep = sync.import_from_folder(b, stick, "wrong")
    # Both files on the stick (the one applied before too: nothing is skipped unauthenticated).
    assert rep.rejected == 2 and all("口令" in m for m in rep.messages) and snapshot(b) == before


def test_missing_bundle_waits_then_catches_up(pair):
    a, b, ids, stick = pair
    s1, s2 = stick.parent / "s1", stick.parent / "s2"
    s1.mkdir()
    s2.mkdir()
    with a.write() as tx:
        tx.update("person", ids["p1"], {"phone": "1"})
        new_h = tx.insert("household", {"number": "H003"})
    sync.export_to_folder(a, s1, PASS, scrypt_n=N, full=False)
    for f in stick.iterdir():  # s2 also holds the first full bundle, so a's next export is a delta
        shutil.copy(f, s2 / f.name)
    first = next(s1.iterdir())
    shutil.copy(first, s2 / first.name)
    with a.write() as tx:
        tx.insert("person", {"name": "赵六", "household_id": new_h})
    path, n = sync.export_to_folder(a, s2, PASS, scrypt_n=N)
    assert n == 1  # only the new person: the rest is already on s2
    only_second = stick.parent / "only2"
    only_second.mkdir()
    shutil.copy(path, only_second / path.name)
    rep = sync.import_from_folder(b, only_second, PASS)
    assert rep.applied == 0 and rep.waiting > 0
    rep = sync.import_from_folder(b, s2, PASS)
    assert rep.waiting == 0
    assert snapshot(a) == snapshot(b)


def test_cli_export_import_join(tmp_path):
    from app.cli import main

    a, _ = make_office(tmp_path / "a.db")
    a.close()
    pw = tmp_path / "pass.txt"
    pw.write_text(PASS + "\n", encoding="utf-8")
    stick = tmp_path / "stick"
    stick.mkdir()
    assert main(["sync-export", "--db", str(tmp_path / "a.db"), "--to", str(stick), "--passphrase-file", str(pw)]) == 0
    new = tmp_path / "new.db"
    assert not new.exists()
    assert main(["sync-import", "--db", str(new), "--from", str(stick), "--passphrase-file", str(pw), "--json"]) == 0
    assert new.exists()
    a = open_database(tmp_path / "a.db")
    b = open_database(new)
    assert snapshot(a) == snapshot(b)


def test_cli_json_last_line(tmp_path, capsys):
    from app.cli import main

    a, _ = make_office(tmp_path / "a.db")
    a.close()
    pw = tmp_path / "pass.txt"
    pw.write_text(PASS, encoding="utf-8")
    stick = tmp_path / "stick"
    stick.mkdir()
    main(["sync-export", "--db", str(tmp_path / "a.db"), "--to", str(stick), "--passphrase-file", str(pw)])
    capsys.readouterr()
    rc = main(["sync-import", "--db", str(tmp_path / "b.db"), "--from", str(stick), "--passphrase-file", str(pw),
               "--json"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert rc == 0 and json.loads(last) == {"applied": 7 + 0, "already_had": 0, "conflicts": 0, "rejected": 0,
                                            "outcome": "ok", "refused": []}


def test_integrity_after_sync(pair):
    a, b, ids, stick = pair
    for db in (a, b):
        assert [r[0] for r in db.query("PRAGMA integrity_check")] == ["ok"]
        assert db.query("PRAGMA foreign_key_check") == []


def test_raw_ops_cannot_bypass_guard(pair):
    a, b, ids, stick = pair
    with pytest.raises(sqlite3.DatabaseError):
        b.conn.execute("UPDATE person SET name = 'x'")


def test_first_sync_holds_back_rows_whose_parent_is_missing(pair, tmp_path):
    a, b, ids, stick = pair
    with a.write() as tx:
        h = tx.insert("household", {"number": "H900"})
    sync.sync_with_folder(a, stick, PASS, scrypt_n=N)
    sync.import_from_folder(b, stick, PASS)
    with b.write() as tx:
        q = tx.insert("person", {"name": "钱七", "household_id": h})
    path, n = sync.export_to_folder(b, stick, PASS, scrypt_n=N)
    assert n == 1  # a's ops are on the stick already
    only_b = tmp_path / "only-b"
    only_b.mkdir()
    shutil.copy(path, only_b / path.name)
    c = open_database(tmp_path / "c.db")  # a new PC that sees b's file first
    rep = sync.import_from_folder(c, only_b, PASS)
    assert rep.applied == 1
    assert c.scalar("SELECT count(*) FROM person WHERE id = ?", (q,)) == 0
    assert c.query("PRAGMA foreign_key_check") == [] and c.scalar("SELECT count(*) FROM sync_pending") == 1
    assert c.scalar("PRAGMA foreign_keys") == 1
    sync.import_from_folder(c, stick, PASS)
    assert c.get("person", q)["household_id"] == h and c.scalar("SELECT count(*) FROM sync_pending") == 0
    assert snapshot(c) == snapshot(b)
    c.close()


def test_an_id_number_kept_unverified_syncs_like_at_entry(pair):
    from app.models.core import id_numbers
    from app.models.registry import persons

    a, b, ids, stick = pair
    good = id_numbers.make("532128", __import__("datetime").date(1980, 5, 1), 1, "男")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    persons.update(a, ids["p2"], {"id_number": bad}, accept_unverified_id=True)
    exchange(a, b, stick)
    got = b.one("SELECT id_number, id_unverified FROM person WHERE id = ?", (ids["p2"],))
    assert got["id_number"] == bad and "校验位" in got["id_unverified"]
    assert persons.id_display(got).endswith("（待核实）")


def test_a_demo_copied_before_its_first_edit_gets_its_own_site(tmp_path):
    # The demo is built under a temporary name and renamed: it belongs at its final path at once,
    # so a copy taken before anyone writes in it (a second office PC) is known for a copy.
    from app.models.demo.demo import create_demo_database

    create_demo_database(tmp_path / "demo.db", households=3, seed=3, encrypted=False)
    shutil.copy(tmp_path / "demo.db", tmp_path / "pc2.db")
    a = open_database(tmp_path / "demo.db")
    b = open_database(tmp_path / "pc2.db")
    site = a.site_id
    pid = a.scalar("SELECT id FROM person LIMIT 1")
    for db, phone in ((a, "13800000001"), (b, "13800000002")):
        with db.write() as tx:
            tx.update("person", pid, {"phone": phone})
    assert a.site_id == site and b.site_id != site
    a.close()
    b.close()
