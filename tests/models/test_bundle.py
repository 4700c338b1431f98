"""Bundle files: truncated, bit-flipped, wrong passphrase or half-written files are all refused, nothing applied."""

from __future__ import annotations

import random

import pytest

from app.models.core.db import open_database
from app.models.sync import bundle, sync
from tests.builders.sync import PASS, N, make_office, snapshot


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundle")
    stick = d / "stick"
    stick.mkdir()
    a, _ = make_office(d / "a.db")
    path, n = sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    a.close()
    return path, n


@pytest.fixture
def target(tmp_path):
    db = open_database(tmp_path / "b.db")
    yield db
    db.close()


def _import_bytes(db, data: bytes, folder):
    f = folder / "x.anjusync"
    f.write_bytes(data)
    try:
        return sync.import_files(db, [f], PASS)
    finally:
        f.unlink()


def test_header_is_readable_and_body_is_encrypted(made):
    path, n = made
    data = path.read_bytes()
    assert data.startswith(bundle.MAGIC)
    h = bundle.read_header(path)
    assert h["ops"] == n and h["kdf"]["alg"] == "scrypt" and h["community"]
    assert "红路馨居".encode() not in data[len(bundle.MAGIC) + 4 + 2000:]  # names are not in clear text
    assert "张三".encode() not in data


def test_every_truncation_is_refused(made, target, tmp_path):
    data = made[0].read_bytes()
    before = snapshot(target)
    offsets = sorted(set(range(0, 300)) | set(range(300, len(data), 53)) | {len(data) - 1, len(data) - 16})
    for cut in offsets:
        rep = _import_bytes(target, data[:cut], tmp_path)
        assert rep.rejected == 1 and rep.applied == 0, cut
        assert rep.messages and ("不完整" in rep.messages[0] or "不是" in rep.messages[0] or "损坏" in rep.messages[0])
    assert snapshot(target) == before and target.scalar("SELECT count(*) FROM change_log") == 0


def test_every_bit_flip_is_refused(made, target, tmp_path):
    data = made[0].read_bytes()
    rng = random.Random(7)
    positions = list(range(0, 60)) + [rng.randrange(len(data)) for _ in range(200)]
    for pos in positions:
        flipped = bytearray(data)
        flipped[pos] ^= 1 << rng.randrange(8)
        rep = _import_bytes(target, bytes(flipped), tmp_path)
        assert rep.rejected == 1 and rep.applied == 0, pos
    assert target.scalar("SELECT count(*) FROM change_log") == 0
    # The intact file still imports afterwards.
    rep = _import_bytes(target, data, tmp_path)
    assert rep.applied == made[1] and rep.rejected == 0


def test_wrong_passphrase_is_named_as_such(made, target):
    with pytest.raises(bundle.WrongPassphrase):
        bundle.read_bundle(made[0], "not-the-passphrase")


def test_half_written_temporary_file_is_ignored_and_reported(made, target, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    data = made[0].read_bytes()
    (stick / ("anju-half" + bundle.EXTENSION + bundle.PART_SUFFIX)).write_bytes(data[: len(data) // 2])
    rep = sync.import_from_folder(target, stick, PASS)
    assert rep.applied == 0 and rep.rejected == 0
    assert rep.incomplete == ["anju-half" + bundle.EXTENSION + bundle.PART_SUFFIX]
    assert any("未写完" in line for line in rep.lines())


def test_writer_never_overwrites_and_leaves_no_temporary_file(made, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    p1 = bundle.write_bundle(stick, {"bundle_id": "1", "community": "c", "sender": "s", "schema": 1, "ranges": {}},
                             {"ops": []}, PASS, scrypt_n=N)
    p2 = bundle.write_bundle(stick, {"bundle_id": "2", "community": "c", "sender": "s", "schema": 1, "ranges": {}},
                             {"ops": []}, PASS, scrypt_n=N)
    assert p1 != p2 and sorted(stick.iterdir()) == sorted([p1, p2])


def test_default_cost_is_real(made):
    assert bundle.DEFAULT_SCRYPT_N >= 2**15
