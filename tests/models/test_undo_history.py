"""The undo history outlives the program: read back from op_log at the next start, with the same steps."""

from __future__ import annotations

from app.models.core.db import open_database
from app.models.core.undo import UndoHistory
from app.models.registry import persons
from tests.builders.sync import make_office


def _steps(history: UndoHistory) -> tuple[list, list]:
    return list(history._undo), list(history._redo)


def test_the_steps_outlive_a_restart_and_an_action_of_two_transactions_stays_one_step(tmp_path):
    db, ids = make_office(tmp_path / "a.db")
    history = UndoHistory.load(db)
    db.listeners.append(history.record)
    persons.update(db, ids["p1"], {"phone": "13800000001"})
    with db.collect():  # one action, two transactions (as perform() runs it)
        persons.update(db, ids["p1"], {"phone": "13800000002"})
        persons.update(db, ids["p2"], {"phone": "13800000003"})
    persons.update(db, ids["p2"], {"notes": "已电话核实"})
    history.undo(db)
    assert history.undo_label == "修改 张三 的电话" and history.redo_label == "修改 李四 的备注"
    before = _steps(history)
    db.close()

    db = open_database(tmp_path / "a.db", user="甲")
    again = UndoHistory.load(db)
    assert _steps(again) == before
    again.undo(db)  # both transactions of the action, as one step
    assert db.get("person", ids["p1"])["phone"] == "13800000001"
    assert db.get("person", ids["p2"])["phone"] is None
    again.redo(db)
    assert db.get("person", ids["p2"])["phone"] == "13800000003"
    db.close()

    db = open_database(tmp_path / "a.db", user="乙")  # another clerk: none of 甲's steps
    assert UndoHistory.load(db).undo_label is None
    db.close()


def test_a_new_operation_after_an_undo_ends_redo_also_when_read_back(tmp_path):
    db, ids = make_office(tmp_path / "a.db")
    history = UndoHistory.load(db)
    db.listeners.append(history.record)
    persons.update(db, ids["p1"], {"phone": "13800000001"})
    history.undo(db)
    persons.update(db, ids["p2"], {"phone": "13800000002"})
    assert history.redo_label is None
    assert _steps(UndoHistory.load(db)) == _steps(history)
    db.close()
