"""A small office for the sync tests, and what they compare and exchange."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

from app.models.core.db import Database, open_database
from app.models.core.schema import synced_tables
from app.models.sync import bundle, sync

PASS = "青松楼-第三网格-2026"
N = 16  # low scrypt cost for tests; the product uses bundle.DEFAULT_SCRYPT_N


def snapshot(db: Database) -> dict[str, list[tuple]]:
    """Every synced table's rows, for comparing two PCs."""
    out = {}
    for t in synced_tables(db.conn):
        out[t] = [tuple(r) for r in db.query(f'SELECT * FROM "{t}" ORDER BY id')]
    return out


def make_office(path: Path) -> tuple[Database, dict[str, str]]:
    """PC 甲's office at `path`: two households of one person each and one mediation case."""
    db = open_database(path, user="甲")
    ids = {}
    with db.write() as tx:
        ids["community"] = tx.insert("community", {"name": "红路馨居社区"})
        ids["h1"] = tx.insert("household", {"number": "H001"})
        ids["h2"] = tx.insert("household", {"number": "H002"})
        ids["p1"] = tx.insert("person", {"name": "张三", "household_id": ids["h1"], "id_number": None})
        ids["p2"] = tx.insert("person", {"name": "李四", "household_id": ids["h2"]})
        tx.update("household", ids["h1"], {"head_person_id": ids["p1"]})
        ids["case"] = tx.insert("mediation_case", {"number": "2026-0001", "received_date": "2026-01-05",
                                                   "title": "邻里噪音"})
    return db, ids


def exchange(a: Database, b: Database, stick: Path) -> None:
    """a, b, then a again sync through `stick`: afterwards both hold everything."""
    sync.sync_with_folder(a, stick, PASS, scrypt_n=N)
    sync.sync_with_folder(b, stick, PASS, scrypt_n=N)
    sync.sync_with_folder(a, stick, PASS, scrypt_n=N)


def forge(src: Path, folder: Path, mutate, *, passphrase: str = PASS) -> Path:  # noqa: ANN001
    """Read a genuine bundle, let `mutate(header, body)` change it, write it with the real writer."""
    b = bundle.read_bundle(src, PASS)
    header = {k: v for k, v in b.header.items() if k not in ("format", "kdf", "nonce", "check", "body_bytes")}
    header["bundle_id"] = str(uuid.uuid4())
    body = copy.deepcopy(b.body)
    mutate(header, body)
    folder.mkdir(exist_ok=True)
    return bundle.write_bundle(folder, header, body, passphrase, scrypt_n=N)


def op_for(body: dict, tbl: str, col: str) -> list:
    """The first op of a bundle body that writes column `col` of table `tbl`."""
    return next(op for op in body["ops"] if op[2] == tbl and op[4] == col)


def not_json(header: dict, body: dict) -> None:
    """A forgery: the value of a person's phone is not JSON."""
    op_for(body, "person", "phone")[5] = "{not json"
