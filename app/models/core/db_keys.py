"""The database key of an encrypted office file: kept beside it (``anju.db.keys``), wrapped per account.

The data key is 256 random bits; SQLCipher encrypts every page of the file and of its WAL with it.
It is never stored in clear: the keys file holds it wrapped (AES-256-GCM) once per enabled account
and once for the recovery code printed at set-up. An account's wrapping key is derived from the
account's own scrypt password hash (HKDF over the hash, whose salt and parameters the entry keeps),
so

- logging in derives it from the typed password (one scrypt, ~0.1 s) and a wrong password fails
  the GCM tag before the database file is touched at all;
- an administrator who has the file open can wrap the key for every account from the hashes
  stored inside the encrypted database, without knowing their passwords: a new account, a password
  changed here or on another PC (the hash arrives by sync) and a converted file all get a wrap;
  a disabled or deleted account loses it. The hashes are only readable inside the encrypted file.

The same data key encrypts every backup and rescue copy, each written with a keys file of its own
beside it, so a copy opens with the passwords of its day, with the current keys file, or with the
recovery code. Failed logins are counted here (the database cannot be written before it is
unlocked) and reach the audit log at the next login.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.models.core.errors import DatabaseError, KnownError

KEYS_SUFFIX = ".keys"
FORMAT = "anju-db-keys/1"
SQLITE_MAGIC = b"SQLite format 3\x00"
KEY_BYTES = 32
# Recovery code: 24 symbols of an alphabet without 0/O, 1/I/L, 2/Z, 5/S, 8/B (read aloud or
# copied by hand from paper), 5 bits each = 120 bits, shown as six groups of four.
RECOVERY_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
RECOVERY_LENGTH = 24
RECOVERY_GROUP = 4
# scrypt for the recovery code: the code is long and random, so this only slows a thief's guessing.
RECOVERY_SCRYPT = (2**15, 8, 1)
PENDING_EVENTS_MAX = 200


class LockedDatabaseError(DatabaseError):
    """An encrypted file opened without its key (no login yet, or no keys file beside it)."""


class WrongKeyError(KnownError):
    """A password or recovery code that does not unwrap the key."""


def keys_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}{KEYS_SUFFIX}")


def is_encrypted_file(path: str | Path) -> bool:
    """A non-empty file whose first bytes are not SQLite's plain header (SQLCipher writes its salt there)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC
    except OSError:
        return False


# -- keys unlocked in this process ----------------------------------------------------------------
_UNLOCKED: dict[str, bytes] = {}


def _key_id(path: str | Path) -> str:
    return str(Path(path).resolve())


def remember_key(path: str | Path, key: bytes) -> None:
    """The key of `path` stays known to this process (the worker's connection, a backup, a restore)."""
    _UNLOCKED[_key_id(path)] = key


def key_for(path: str | Path) -> bytes | None:
    return _UNLOCKED.get(_key_id(path))


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


# -- recovery code ----------------------------------------------------------------------------------
def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return format_recovery_code(raw)


def format_recovery_code(raw: str) -> str:
    return "-".join(raw[i:i + RECOVERY_GROUP] for i in range(0, len(raw), RECOVERY_GROUP))


def normalise_recovery_code(text: str) -> str:
    """What the clerk typed or pasted, without spaces and dashes, in capitals; raises if malformed."""
    raw = "".join(ch for ch in text.upper() if not ch.isspace() and ch not in "-—_")
    if len(raw) != RECOVERY_LENGTH or any(ch not in RECOVERY_ALPHABET for ch in raw):
        raise WrongKeyError(
            f"恢复码格式不对：应为 {RECOVERY_LENGTH} 个字母和数字（如 {format_recovery_code('ACDE' * 6)}），"
            "请对照恢复码单逐字核对。"
        )
    return raw


# -- wrapping ---------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _wrapping_key(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"anju db key/" + purpose).derive(secret)


def _seal(kek: bytes, data_key: bytes, aad: bytes) -> dict[str, str]:
    nonce = secrets.token_bytes(12)
    return {"nonce": _b64(nonce), "ct": _b64(AESGCM(kek).encrypt(nonce, data_key, aad))}


def _open_seal(kek: bytes, entry: dict[str, Any], aad: bytes) -> bytes | None:
    try:
        return AESGCM(kek).decrypt(_unb64(entry["nonce"]), _unb64(entry["ct"]), aad)
    except (InvalidTag, KeyError, ValueError):
        return None


@dataclass(frozen=True)
class AccountSecret:
    """What the database holds about an account's password: its scrypt hash, split into parts."""

    account_id: str
    name: str
    role: str
    password_hash: str

    def parts(self) -> tuple[int, int, int, bytes, bytes]:
        prefix, n, r, p, salt, key = self.password_hash.split("$")
        if prefix != "scrypt":
            raise ValueError("not a scrypt hash")
        return int(n), int(r), int(p), _unb64(salt), _unb64(key)


def _account_aad(account_id: str) -> bytes:
    return b"anju-account:" + account_id.encode("utf-8")


def account_wrap(secret: AccountSecret, data_key: bytes) -> dict[str, Any]:
    n, r, p, salt, derived = secret.parts()
    return {"account_id": secret.account_id, "name": secret.name, "role": secret.role,
            "n": n, "r": r, "p": p, "salt": _b64(salt),
            **_seal(_wrapping_key(derived, b"account"), data_key, _account_aad(secret.account_id))}


def _same_wrap(entry: dict[str, Any], secret: AccountSecret) -> bool:
    try:
        n, r, p, salt, _ = secret.parts()
    except ValueError:
        return False
    return (entry.get("account_id"), entry.get("name"), entry.get("role"), entry.get("n"), entry.get("r"),
            entry.get("p"), entry.get("salt")) == (secret.account_id, secret.name, secret.role, n, r, p, _b64(salt))


def recovery_wrap(code: str, data_key: bytes) -> dict[str, Any]:
    n, r, p = RECOVERY_SCRYPT
    salt = secrets.token_bytes(16)
    derived = hashlib.scrypt(normalise_recovery_code(code).encode("ascii"), salt=salt, n=n, r=r, p=p,
                             maxmem=256 * 1024 * 1024, dklen=KEY_BYTES)
    return {"n": n, "r": r, "p": p, "salt": _b64(salt),
            **_seal(_wrapping_key(derived, b"recovery"), data_key, b"anju-recovery")}


def _scrypt(secret: bytes, entry: dict[str, Any]) -> bytes:
    return hashlib.scrypt(secret, salt=_unb64(entry["salt"]), n=int(entry["n"]), r=int(entry["r"]),
                          p=int(entry["p"]), maxmem=256 * 1024 * 1024, dklen=KEY_BYTES)


# -- the keys file ----------------------------------------------------------------------------------
class KeyFile:
    """The JSON file beside an encrypted database (mode 0600, replaced atomically)."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def new(cls, db_path: str | Path) -> KeyFile:
        return cls(keys_path(db_path), {"format": FORMAT, "cipher": "sqlcipher4", "accounts": [],
                                        "recovery": None, "logins": {}, "pending_events": []})

    @classmethod
    def load(cls, db_path: str | Path) -> KeyFile | None:
        path = keys_path(db_path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DatabaseError(f"无法读取钥匙文件“{path}”：{exc.strerror or exc}") from exc
        try:
            data = json.loads(raw.decode("utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(data.get("format"))
        except (ValueError, UnicodeDecodeError, AttributeError) as exc:
            raise DatabaseError(
                f"钥匙文件“{path.name}”已损坏或不是安居台账的钥匙文件。请用恢复码打开数据库"
                f"（anju recover --db \"{str(path)[:-len(KEYS_SUFFIX)]}\" --code-file 恢复码文件）。"
            ) from exc
        data.setdefault("accounts", [])
        data.setdefault("logins", {})
        data.setdefault("pending_events", [])
        return cls(path, data)

    # -- entries
    @property
    def accounts(self) -> list[dict[str, Any]]:
        return list(self.data.get("accounts") or [])

    def account_names(self) -> list[tuple[str, str]]:
        """(name, role) of every account that can unlock the file, for the login screen."""
        return [(e["name"], e.get("role", "")) for e in self.accounts]

    def set_accounts(self, secrets_: list[AccountSecret], data_key: bytes) -> bool:
        """Wrap the key for exactly these accounts (kept entries are reused); True if anything changed."""
        old = {e.get("account_id"): e for e in self.accounts}
        new = []
        for s in secrets_:
            entry = old.get(s.account_id)
            if entry is None or not _same_wrap(entry, s):
                try:
                    entry = account_wrap(s, data_key)
                except ValueError:
                    continue  # a hash the program cannot read gives no wrap (the account cannot log in here)
            new.append(entry)
        changed = new != self.accounts
        self.data["accounts"] = new
        return changed

    def set_recovery(self, code: str, data_key: bytes) -> None:
        self.data["recovery"] = recovery_wrap(code, data_key)

    def portable(self) -> dict[str, Any]:
        """The wraps alone (no login counters): the copy kept inside the database and beside backups."""
        return {"format": FORMAT, "cipher": self.data.get("cipher", "sqlcipher4"),
                "accounts": self.accounts, "recovery": self.data.get("recovery"),
                "logins": {}, "pending_events": []}

    # -- unlocking
    def unlock_with_password(self, name: str, password: str) -> tuple[bytes, str] | None:
        """(data key, account id) when `password` unwraps the entry of account `name`; None otherwise."""
        for entry in self.accounts:
            if entry.get("name") != name:
                continue
            try:
                derived = _scrypt(password.encode("utf-8"), entry)
            except (ValueError, KeyError, TypeError):
                continue
            key = _open_seal(_wrapping_key(derived, b"account"), entry, _account_aad(entry["account_id"]))
            if key is not None:
                return key, entry["account_id"]
        return None

    def unlock_with_recovery_code(self, code: str) -> bytes | None:
        entry = self.data.get("recovery")
        if not entry:
            return None
        derived = _scrypt(normalise_recovery_code(code).encode("ascii"), entry)
        return _open_seal(_wrapping_key(derived, b"recovery"), entry, b"anju-recovery")

    # -- failed logins (the database cannot be written before it is unlocked)
    def login_state(self, name: str) -> dict[str, Any]:
        return dict(self.data["logins"].get(name) or {})

    def set_login_state(self, name: str, failures: int, locked_until: dt.datetime | None) -> None:
        if failures == 0 and locked_until is None:
            self.data["logins"].pop(name, None)
        else:
            self.data["logins"][name] = {
                "failures": failures,
                "locked_until": locked_until.isoformat(timespec="seconds") if locked_until else None,
            }

    def add_pending_event(self, event: dict[str, Any]) -> None:
        events = self.data["pending_events"]
        events.append(event)
        del events[:-PENDING_EVENTS_MAX]

    def take_pending_events(self) -> list[dict[str, Any]]:
        events = list(self.data["pending_events"])
        self.data["pending_events"] = []
        return events

    # -- writing
    def save(self, path: Path | None = None) -> Path:
        """Write atomically (temporary name, fsync, rename), readable by the owner only."""
        from app.models.core.safe_files import atomic_path

        target = path or self.path
        text = json.dumps(self.data if path is None else self.portable(), ensure_ascii=False, indent=1)
        with atomic_path(target, what="钥匙文件") as part:
            fd = os.open(part, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0))
            try:
                with contextlib.suppress(OSError):
                    os.fchmod(fd, 0o600)
                os.write(fd, text.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        with contextlib.suppress(OSError):
            os.chmod(target, 0o600)
        return target


def require_keys(db_path: str | Path) -> KeyFile:
    """The keys file of an encrypted database, or a clerk's message naming the ways in."""
    keys = KeyFile.load(db_path)
    if keys is None:
        raise LockedDatabaseError(
            f"数据库“{db_path}”是加密的，但旁边没有它的钥匙文件“{keys_path(db_path).name}”。"
            "请把钥匙文件放回数据库旁边（备份文件旁边也有一份），或用恢复码打开："
            f"anju recover --db \"{db_path}\" --code-file 恢复码文件。"
        )
    return keys
