"""One rule for an occupied room: no second live household, whatever the path (sync flags it)."""

from __future__ import annotations

import pytest

from app.models.core.db import open_database
from app.models.core.errors import ValidationError
from app.models.registry import households
from app.models.sync import review, sync
from tests.builders.excel import county_office
from tests.builders.sync import PASS, N, exchange


def test_create_move_restore_and_status_refuse_an_occupied_room(db):
    ids = county_office(db)
    first = households.create(db, {}, room="5-1-501")
    with pytest.raises(ValidationError, match="5栋1单元501已住有户号"):
        households.create(db, {}, room="5栋1单元501")
    other = households.create(db, {}, room="5-1-502")
    with pytest.raises(ValidationError, match="已住有户号"):
        households.move(db, other, "5-1-501")
    households.update(db, other, {"status": "迁出"})
    households.move(db, other, ids["room-5-1-601"])
    households.delete(db, first)
    households.move(db, other, "5-1-501")
    households.update(db, other, {"status": "在住"})
    with pytest.raises(ValidationError, match="已住有户号"):
        households.restore(db, first)
    households.update(db, other, {"status": "迁出"})
    households.restore(db, first)
    with pytest.raises(ValidationError, match="已住有户号"):
        households.update(db, other, {"status": "在住"})
    assert db.scalar("SELECT count(*) FROM household WHERE room_id = ? AND status = '在住' AND deleted = 0",
                     (ids["room-5-1-501"],)) == 1


def test_sync_applies_two_households_in_one_room_and_flags_it(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a = open_database(tmp_path / "a.db", user="甲")
    ids = county_office(a)
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db", user="乙")
    sync.import_from_folder(b, stick, PASS)
    households.create(a, {"number": "HLX-000101"}, room="5-1-501")
    households.create(b, {"number": "HLX-000102"}, room="5-1-501")
    sync.export_to_folder(b, stick, PASS, scrypt_n=N)
    report = sync.import_from_folder(a, stick, PASS)
    assert report.shared_rooms == 1 and any("住有两户" in line for line in report.lines())
    rooms = review.open_shared_rooms(a)
    assert [r.room_id for r in rooms] == [ids["room-5-1-501"]] and len(rooms[0].labels) == 2
    review.confirm_shared_room(a, rooms[0])
    assert review.open_shared_rooms(a) == []
    exchange(a, b, stick)
    assert review.open_shared_rooms(b) == []  # the clerk's decision travels
    a.close()
    b.close()
