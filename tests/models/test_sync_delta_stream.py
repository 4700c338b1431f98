"""Importing a delta bundle reads its ops a chunk at a time, yet stays all-or-nothing."""

from __future__ import annotations

import uuid

import pytest

from app.models.core.db import open_database
from app.models.sync import bundle, sync
from tests.builders.sync import PASS, N, make_office, snapshot

CHUNK = 5  # ops per chunk in these tests: a small edit makes a bundle of many chunks
NEW = 48  # the ops of A's edits below (12 × insert, insert, update, update)


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.setattr(sync, "SNAPSHOT_ROWS", CHUNK)
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db", user="乙")
    assert sync.import_from_folder(b, stick, PASS).rejected == 0
    # A's next edits: new households with a person each, and phones changed.
    with a.write() as tx:
        for i in range(12):
            h = tx.insert("household", {"number": f"H1{i:02d}"})
            p = tx.insert("person", {"name": f"王{i}", "household_id": h})
            tx.update("household", h, {"head_person_id": p})
            tx.update("person", p, {"phone": f"1390000{i:04d}"})
    out = tmp_path / "delta"  # a stick of its own: the delta also carries the 7 ops B has
    out.mkdir()
    path, n = sync.export_to_folder(a, out, PASS, scrypt_n=N)
    assert path is not None and n > NEW
    yield a, b, path, n
    a.close()
    b.close()


def _op_chunks(path):
    b = bundle.Bundle(path, bundle.read_header(path))
    return b.header, [c["o"] for c in bundle.iter_chunks(b, PASS) if "o" in c]


def _watch_chunks(monkeypatch, db):
    """Make the importer's chunk reader check, each time it is asked for the next chunk, that the
    ops of the chunk it gave before are already stored: a reader of all ops first fails here."""
    given: list[int] = []

    def watched(b, passphrase, **kw):
        sites = b.header["sites"]
        previous = None
        for chunk in bundle.iter_chunks(b, passphrase, **kw):
            if previous is not None:
                stored = sum(db.conn.execute("SELECT count(*) FROM change_log WHERE site_id = ? AND seq = ?",
                                             (sites[op[0]], op[1])).fetchone()[0] for op in previous)
                assert stored == len(previous), "the next chunk was read before the ops of this one were applied"
            previous = chunk.get("o")
            given.append(len(previous or ()))
            yield chunk

    monkeypatch.setattr(sync, "iter_chunks", watched)
    return given


def test_a_delta_of_many_chunks_is_applied_chunk_by_chunk(pair, monkeypatch):
    a, b, path, n = pair
    header, chunks = _op_chunks(path)
    assert header["kind"] == "delta" and len(chunks) >= 8 and max(map(len, chunks)) <= CHUNK
    given = _watch_chunks(monkeypatch, b)
    rep = sync.import_files(b, [path], PASS)
    assert rep.rejected == 0 and rep.applied == NEW and rep.already_had == n - NEW
    assert sum(given) == n and len([g for g in given if g]) == len(chunks)
    assert snapshot(a) == snapshot(b)
    # Idempotent: the same file again changes nothing.
    again = sync.import_files(b, [path], PASS)
    assert again.applied == 0 and again.files_known == 1 and snapshot(a) == snapshot(b)


def _tables(db):
    return (snapshot(db), *(db.query(f"SELECT * FROM {t} ORDER BY 1, 2") for t in
                             ("change_log", "sync_state", "sync_knowledge", "sync_bundle", "sync_pending",
                              "sync_conflict")))


def test_a_refusal_in_the_last_chunk_leaves_the_database_unchanged(pair, monkeypatch, tmp_path):
    a, b, path, n = pair
    header, chunks = _op_chunks(path)
    # The same ops, rewritten with the real writer; only the very last op is bad (its value is not JSON).
    chunks[-1][-1][5] = "{not json"
    head = {k: v for k, v in header.items() if k not in ("format", "kdf", "nonce", "check")}
    head["bundle_id"] = str(uuid.uuid4())
    forged_dir = tmp_path / "forged"
    forged_dir.mkdir()
    forged = bundle.write_stream_bundle(forged_dir, head, ({"o": c} for c in chunks), PASS, scrypt_n=N)
    before = [[tuple(r) for r in t] if isinstance(t, list) else t for t in _tables(b)]
    given = _watch_chunks(monkeypatch, b)
    rep = sync.import_files(b, [forged], PASS)
    # Every chunk before the last was applied in the transaction, then all of it rolled back.
    assert len([g for g in given if g]) == len(chunks)
    assert rep.rejected == 1 and rep.applied == 0 and not rep.files_applied
    assert f"第 {n} 条修改" in rep.refused[0].reason
    after = [[tuple(r) for r in t] if isinstance(t, list) else t for t in _tables(b)]
    assert after == before
    # The genuine file still applies afterwards.
    assert sync.import_files(b, [path], PASS).applied == NEW
    assert snapshot(a) == snapshot(b)
