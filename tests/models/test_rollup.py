"""Roll-up: several communities into one read-only database; stats run over it."""

from __future__ import annotations

import json

import pytest

from app.models.core.db import open_database
from app.models.core.errors import DatabaseError, KnownError
from app.models.sync import sync
from app.models.sync.rollup import rollup
from tests.builders.sync import PASS, N, make_office


@pytest.fixture
def two(tmp_path):
    a, _ = make_office(tmp_path / "a.db")
    with a.write() as tx:
        tx.update("community", a.scalar("SELECT id FROM community"), {"name": "甲社区"})
    b, _ = make_office(tmp_path / "b.db")
    a.close()
    b.close()
    return tmp_path / "a.db", tmp_path / "b.db"


def test_rollup_keeps_each_community_and_is_read_only(two, tmp_path):
    street = tmp_path / "street.db"
    report = rollup(street, list(two))
    assert len(report.communities) == 2 and sum(c[2] for c in report.communities) == 4
    db = open_database(street)
    try:
        assert db.scalar("SELECT count(*) FROM person") == 4
        assert db.scalar("SELECT count(DISTINCT community_id) FROM rollup_household") == 2
        per = dict(db.query(
            "SELECT c.name, count(*) FROM person p JOIN rollup_household r ON r.household_id = p.household_id "
            "JOIN community c ON c.id = r.community_id GROUP BY c.name"))
        assert per == {"甲社区": 2, "红路馨居社区": 2}
        assert db.scalar("SELECT count(*) FROM change_log") == 0
        with pytest.raises(DatabaseError, match="只读"):
            with db.write() as tx:
                tx.insert("household", {"number": "X"})
    finally:
        db.close()
    # Rolling up again (fresh data from the same communities) replaces, never duplicates.
    rollup(street, list(two))
    db = open_database(street)
    assert db.scalar("SELECT count(*) FROM person") == 4
    assert [r[0] for r in db.query("PRAGMA integrity_check")] == ["ok"] and db.query("PRAGMA foreign_key_check") == []
    db.close()


def test_rollup_from_bundles_needs_passphrase(two, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a = open_database(two[0])
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    a.close()
    with pytest.raises(KnownError, match="口令"):
        rollup(tmp_path / "s.db", [stick])
    report = rollup(tmp_path / "s2.db", [stick, two[1]], passphrase=PASS)
    assert [c[0] for c in report.communities] == ["甲社区", "红路馨居社区"]


def test_rollup_refuses_a_working_database_as_target(two):
    with pytest.raises(KnownError, match="不是汇总库"):
        rollup(two[0], [two[1]])


def test_cli_rollup_then_stats(two, tmp_path, capsys):
    from app.cli import main

    street = tmp_path / "street.db"
    assert main(["rollup", "--db", str(street), str(two[0]), str(two[1]), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1])["communities"] == 2
    assert main(["stats", "--db", str(street), "--json"]) == 0


def test_rollup_figures_are_counted_afresh_after_another_rollup(two, tmp_path):
    """A roll-up writes no change-log ops, so an open connection must not keep a labour snapshot."""
    import datetime as dt

    from app.models.employment import labour
    from tests.builders.labour import add_person

    for path in two:  # one working-age resident more in each community
        office = open_database(path)
        with office.write() as tx:
            add_person(tx, office.scalar("SELECT id FROM household WHERE deleted = 0 LIMIT 1"), "劳", "1990-01-01")
        office.close()
    street = tmp_path / "street.db"
    rollup(street, [two[0]])
    db = open_database(street)
    try:
        one = labour.compute_figures(db, dt.date(2026, 6, 15)).labour_force
        rollup(street, list(two))  # the second community arrives while the connection stays open
        both = labour.compute_figures(db, dt.date(2026, 6, 15)).labour_force
        singles = []
        for path in two:
            each = open_database(path)
            singles.append(labour.compute_figures(each, dt.date(2026, 6, 15)).labour_force)
            each.close()
        assert one == singles[0] and both == sum(singles) and both > one
    finally:
        db.close()
