"""Convergence: three simulated PCs edit at random and swap bundles in random orders, with repeats and gaps.

The oracle for "concurrent" is independent of the code under test: the test itself records, for
every op a PC makes, which ops that PC held at that moment (its per-site prefix of ops) and the op
itself (read from its change_log right after the write). PCs compact their change logs at random
(and after every sync round), so everything here also holds on compacted databases.
"""

from __future__ import annotations

import atexit
import itertools
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.models.core.db import open_database
from app.models.core.site import have_vector
from app.models.sync import review, sync
from app.models.sync.compact import compact
from app.models.sync.merge import KEY_FIELDS
from tests.builders.sync import PASS, N, snapshot

NAMES = ["张三", "张山", "李四", "王五"]
IDS = ["532128198005010018", "532128199001020029", None]
PHONES = ["138", "139", None]
COLOURS = ["red", "yellow", "green"]
STATUSES = ["受理", "调解中", "已调解"]

_TEMPLATE: dict[str, object] = {}


def template() -> tuple[Path, dict]:
    """One small office database, made once; each PC starts as a copy (and so gets its own site)."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="anju-sync-tpl-"))
        atexit.register(shutil.rmtree, folder, True)
        db = open_database(folder / "tpl.db", user="模板")
        ids: dict[str, list[str]] = {"household": [], "person": []}
        with db.write() as tx:
            tx.insert("community", {"name": "测试社区"})
            for i in range(2):
                ids["household"].append(tx.insert("household", {"number": f"H{i}"}))
            for i in range(3):
                ids["person"].append(tx.insert("person", {"name": NAMES[i], "household_id": ids["household"][i % 2]}))
            ids["case"] = [tx.insert("mediation_case", {"number": "C1", "received_date": "2026-01-01", "title": "t"})]
        ops = [tuple(r) for r in db.query("SELECT site_id, seq, tbl, row_id, col, value FROM change_log")]
        db.close()
        _TEMPLATE.update(path=folder / "tpl.db", ids=ids, ops=ops)
    return _TEMPLATE["path"], _TEMPLATE["ids"]  # type: ignore[return-value]


class SyncMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        tpl, ids = template()
        self.dir = Path(tempfile.mkdtemp(prefix="anju-sync-"))
        self.stick = self.dir / "stick"
        self.stick.mkdir()
        self.pcs = []
        for i in range(3):
            shutil.copy(tpl, self.dir / f"pc{i}.db")
            db = open_database(self.dir / f"pc{i}.db", user=f"用户{i}")
            db.conn.execute("PRAGMA synchronous = OFF")  # test speed only: durability is not under test here
            self.pcs.append(db)
        self.persons = list(ids["person"])
        self.households = list(ids["household"])
        self.case = ids["case"][0]
        self.past: dict[tuple[str, int], dict[str, int]] = {}  # op -> the ops its PC held when making it
        self.ops: list[tuple] = list(_TEMPLATE["ops"])  # every op made: (site, seq, tbl, row_id, col, value)
        self.bundles: list[Path] = []

    def teardown(self) -> None:
        pcs = getattr(self, "pcs", [])
        try:
            if pcs:
                self._final_check()
        finally:
            for db in pcs:
                db.close()
            shutil.rmtree(getattr(self, "dir", "/nonexistent"), ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------
    def _held(self, db) -> dict[str, int]:
        return have_vector(db.conn, db.site_id)

    def _recorded(self, db, fn) -> None:
        """Run `fn`; every op it makes is remembered with what its PC held before."""
        before = self._held(db)
        start = before.get(db.site_id, 0)
        fn()
        for r in db.query("SELECT site_id, seq, tbl, row_id, col, value FROM change_log WHERE site_id = ? AND seq > ?",
                          (db.site_id, start)):
            self.past[(r[0], r[1])] = before
            self.ops.append(tuple(r))

    def _local_write(self, i: int, fn) -> None:
        db = self.pcs[i]

        def go() -> None:
            with db.write() as tx:
                fn(tx, db)

        self._recorded(db, go)

    def _live(self, db, table: str, pool: list[str]) -> list[str]:
        return [x for x in pool if db.scalar(f"SELECT 1 FROM {table} WHERE id = ?", (x,))]

    # -- rules ---------------------------------------------------------------------------
    @rule(i=st.integers(0, 2), k=st.integers(0, 50), col=st.sampled_from(["name", "id_number", "phone"]),
          v=st.integers(0, 3))
    def edit_person(self, i, k, col, v):
        db = self.pcs[i]
        people = self._live(db, "person", self.persons)
        pid = people[k % len(people)]
        value = {"name": NAMES, "id_number": IDS, "phone": PHONES}[col]
        self._local_write(i, lambda tx, _db: tx.update("person", pid, {col: value[v % len(value)]}))

    @rule(i=st.integers(0, 2), k=st.integers(0, 50), h=st.integers(0, 50))
    def move_person(self, i, k, h):
        db = self.pcs[i]
        people = self._live(db, "person", self.persons)
        homes = self._live(db, "household", self.households)
        pid, hid = people[k % len(people)], homes[h % len(homes)]
        self._local_write(i, lambda tx, _db: tx.update("person", pid, {"household_id": hid}))

    @rule(i=st.integers(0, 2), h=st.integers(0, 50), c=st.sampled_from(COLOURS), k=st.integers(0, 50))
    def edit_household(self, i, h, c, k):
        db = self.pcs[i]
        homes = self._live(db, "household", self.households)
        people = self._live(db, "person", self.persons)
        hid, pid = homes[h % len(homes)], people[k % len(people)]
        self._local_write(i, lambda tx, _db: tx.update("household", hid, {"risk_colour": c, "head_person_id": pid}))

    @rule(i=st.integers(0, 2), s=st.sampled_from(STATUSES))
    def edit_case(self, i, s):
        self._local_write(i, lambda tx, _db: tx.update("mediation_case", self.case, {"status": s}))

    @rule(i=st.integers(0, 2), k=st.integers(0, 50), restore=st.booleans())
    def delete_person(self, i, k, restore):
        db = self.pcs[i]
        people = self._live(db, "person", self.persons)
        pid = people[k % len(people)]
        self._local_write(i, lambda tx, _db: tx.update("person", pid, {"deleted": 0 if restore else 1}))

    @rule(i=st.integers(0, 2), n=st.integers(0, 3), idn=st.sampled_from(IDS[:2]))
    def register(self, i, n, idn):
        db = self.pcs[i]
        homes = self._live(db, "household", self.households)
        out = {}

        def go(tx, _db):
            out["id"] = tx.insert("person", {"name": NAMES[n], "id_number": idn, "household_id": homes[0]})

        self._local_write(i, go)
        self.persons.append(out["id"])

    @rule(i=st.integers(0, 2))
    def new_household(self, i):
        out = {}

        def go(tx, _db):
            out["id"] = tx.insert("household", {"number": f"N{len(self.households)}"})
            tx.insert("visit", {"household_id": out["id"], "visit_date": "2026-03-01", "kind": "月访"})

        self._local_write(i, go)
        self.households.append(out["id"])

    @rule(i=st.integers(0, 2))
    def export(self, i):
        path, _ = sync.export_to_folder(self.pcs[i], self.stick, PASS, scrypt_n=N)
        if path is not None:
            self.bundles.append(path)

    @precondition(lambda self: bool(self.bundles))
    @rule(i=st.integers(0, 2), picks=st.lists(st.integers(0, 100), min_size=1, max_size=6))
    def import_some(self, i, picks):
        # A random selection, in random order, repeats allowed: some bundles are left out.
        chosen = [self.bundles[p % len(self.bundles)] for p in picks]
        rep = sync.import_files(self.pcs[i], chosen, PASS)
        assert rep.rejected == 0

    @precondition(lambda self: bool(self.bundles))
    @rule(i=st.integers(0, 2), pick=st.integers(0, 10))
    def resolve(self, i, pick):
        db = self.pcs[i]
        open_ = review.open_conflicts(db)
        if not open_:
            return
        c = open_[pick % len(open_)]
        value = [c.loser.value, c.winner.value][pick % 2]
        self._recorded(db, lambda: review.resolve_conflict(db, c, value))

    @rule(i=st.integers(0, 2))
    def compact(self, i):
        compact(self.pcs[i].conn, self.pcs[i].site_id, horizon_ms=0)

    @invariant()
    def integrity(self):
        for db in getattr(self, "pcs", []):
            assert db.query("PRAGMA foreign_key_check") == []

    # -- the end: everyone exchanges with everyone -------------------------------------------
    def _final_check(self) -> None:
        for _ in range(2):
            for db in self.pcs:
                sync.sync_with_folder(db, self.stick, PASS, scrypt_n=N)
        snaps = [snapshot(db) for db in self.pcs]
        assert snaps[0] == snaps[1] == snaps[2]
        held = [self._held(db) for db in self.pcs]
        assert held[0] == held[1] == held[2]
        assert all(db.scalar("SELECT count(*) FROM sync_pending") == 0 for db in self.pcs)
        # Oracle: every pair of differing key-field edits where neither op's PC held the other.
        by_field: dict[tuple, list] = {}
        for o in self.ops:
            if o[4] in KEY_FIELDS.get(o[2], ()):
                by_field.setdefault((o[2], o[3], o[4]), []).append(o)

        class _Held:
            def __init__(self, vector: dict[str, int]) -> None:
                self.vector = vector

            def __contains__(self, op: tuple[str, int]) -> bool:
                return self.vector.get(op[0], 0) >= op[1]

        def past(op):
            return _Held(self.past.get(op, {}))  # template ops: made before any PC existed

        expected = set()
        expected_open = set()
        for field, fops in by_field.items():
            for a, b in itertools.combinations(fops, 2):
                ka, kb = (a[0], a[1]), (b[0], b[1])
                if json.loads(a[5]) == json.loads(b[5]) or ka in past(kb) or kb in past(ka):
                    continue
                pair = frozenset([ka, kb])
                expected.add((field, pair))
                settled = any(ka in past((z[0], z[1])) and kb in past((z[0], z[1])) for z in fops)
                if not settled:
                    expected_open.add((field, pair))
        event(f"key-field conflicts: {min(len(expected), 3)}+ / open: {min(len(expected_open), 3)}+")
        for db in self.pcs:
            got = {((r[0], r[1], r[2]), frozenset([(r[3], r[4]), (r[5], r[6])]))
                   for r in db.query("SELECT tbl, row_id, col, lo_site, lo_seq, hi_site, hi_seq FROM sync_conflict")}
            assert got == expected
            got_open = set()
            for c in review.open_conflicts(db):
                row = db.one("SELECT lo_site, lo_seq, hi_site, hi_seq FROM sync_conflict WHERE id = ?", (c.id,))
                got_open.add(((c.tbl, c.row_id, c.col), frozenset([(row[0], row[1]), (row[2], row[3])])))
            assert got_open == expected_open
        dups = [{(d.person_a, d.person_b) for d in review.open_duplicates(db)} for db in self.pcs]
        assert dups[0] == dups[1] == dups[2]


# As many runs as the Hypothesis profile gives (tests/conftest.py: a few while working, 200 in CI).
SyncMachine.TestCase.settings = settings(
    stateful_step_count=18, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestSyncConvergence = pytest.mark.slow(SyncMachine.TestCase)
