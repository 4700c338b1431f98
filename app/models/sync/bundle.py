"""The sync bundle file: header, AES-256-GCM body under a scrypt key, crash-safe write and verified read."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from app.models.core.errors import KnownError
from app.models.core.safe_files import PART_SUFFIX as PART_SUFFIX  # the stick lister skips these
from app.models.core.safe_files import DiskFullError, atomic_file

MAGIC = b"ANJUSYN1"
FORMAT = 1
# A snapshot (every row instead of the ops that made them) is written and read in chunks, each
# sealed on its own, so neither side ever holds the whole body. A delta (header "kind": "delta")
# is written the same way: its ops are read from the change log by cursor, chunk by chunk.
FORMAT_STREAM = 2
CHUNK_BYTES = 1 << 20  # JSON per chunk before compression
MAX_CHUNK_CIPHER = 16 << 20
MAX_CHUNK_PLAIN = 64 << 20
MAX_CHUNKS = 1 << 16
EXTENSION = ".anjusync"
# scrypt cost: about 0.1 s and 32 MB per key on an office PC; tests pass a lower cost.
DEFAULT_SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
# A crafted header must not make us spend minutes or gigabytes deriving a key.
MAX_SCRYPT_N = 2**20
MAX_HEADER_BYTES = 1 << 20
# A whole community of 100,000 residents is a few hundred MB of ops; a body inflating past this is a bomb.
MAX_BODY_BYTES = 1 << 30
_PREFIX = len(MAGIC) + 4


class BundleError(KnownError):
    """A bundle file that cannot be used: incomplete, damaged, tampered, or the wrong passphrase."""


class WrongPassphrase(BundleError):
    pass


@dataclass
class Bundle:
    path: Path
    header: dict[str, Any]
    body: dict[str, Any] | None = None

    @property
    def bundle_id(self) -> str:
        return self.header["bundle_id"]


# Every file on the stick is authenticated at every sync, including those applied long ago. A PC
# writes all its bundles under one salt, so the stick costs one key derivation per PC, not per file.
_KEYS: dict[tuple[bytes, bytes, int, int, int], bytes] = {}
_KEY_CACHE_SIZE = 64


def derive_key(passphrase: str, salt: bytes, n: int = DEFAULT_SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    cache_key = (hashlib.sha256(passphrase.encode("utf-8")).digest(), salt, n, r, p)
    key = _KEYS.get(cache_key)
    if key is None:
        key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
        if len(_KEYS) >= _KEY_CACHE_SIZE:
            _KEYS.pop(next(iter(_KEYS)))
        _KEYS[cache_key] = key
    return key


def _key_check(key: bytes) -> str:
    # Lets the reader tell "wrong passphrase" from "damaged file"; reveals nothing GCM does not.
    return hmac.new(key, b"anju-key-check", hashlib.sha256).hexdigest()[:16]


def bundle_name(community: object, sender: object) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")

    def part(v: object) -> str:  # only letters, digits and '-' ever reach a file name
        return "".join(c for c in str(v) if c.isascii() and (c.isalnum() or c == "-"))[:8] or "x"

    return f"anju-{part(community)}-{part(sender)}-{stamp}-{secrets.token_hex(4)}{EXTENSION}"


def _prepare_write(
    folder: Path, passphrase: str, salt: bytes | None, scrypt_n: int,
) -> tuple[Path, bytes, bytes, bytes]:
    """What writing any bundle starts with: the passphrase and folder checked, then the salt (this
    PC's own when given), a fresh nonce and the key."""
    if not passphrase:
        raise BundleError("同步口令不能为空。")
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"找不到文件夹“{folder}”（U盘是否已插好？）。")
    salt = salt if salt is not None and len(salt) >= 8 else os.urandom(16)
    return folder, salt, os.urandom(12), derive_key(passphrase, salt, scrypt_n)


def write_bundle(
    folder: Path, header: dict[str, Any], body: dict[str, Any], passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N,
    salt: bytes | None = None,
) -> Path:
    """Write a new bundle file in `folder`: temporary name, fsync, rename, read back and verify.

    `salt` (16 bytes, the writing PC's own) lets readers derive this PC's key once for all its files.
    """
    folder, salt, nonce, key = _prepare_write(folder, passphrase, salt, scrypt_n)
    plain = zlib.compress(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 1)
    head = dict(header)
    head.update(
        format=FORMAT,
        kdf={"alg": "scrypt", "n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": base64.b64encode(salt).decode()},
        nonce=base64.b64encode(nonce).decode(),
        check=_key_check(key),
        body_bytes=len(plain) + 16,
    )
    head_bytes = json.dumps(head, ensure_ascii=False, sort_keys=True).encode("utf-8")
    prefix = MAGIC + struct.pack(">I", len(head_bytes)) + head_bytes
    cipher = AESGCM(key).encrypt(nonce, plain, prefix)
    name = bundle_name(head.get("community", "x"), head.get("sender", "x"))
    final = folder / name

    def read_back(part: Path) -> None:
        # A bad stick or a write cache that lied shows up now, not at the other PC.
        check = read_bundle(part, passphrase, parse_body=False)
        if check.header.get("bundle_id") != header.get("bundle_id"):
            raise BundleError(f"写入U盘后读回校验失败：“{final.name}”。请换一个U盘重试。")

    # Never overwrite anything already on the stick (replace=False).
    try:
        with atomic_file(final, check=read_back, what="同步文件", replace=False) as fh:
            fh.write(prefix)
            fh.write(cipher)
    except DiskFullError as exc:
        raise DiskFullError(exc.folder, needed=len(prefix) + len(cipher), what="同步文件", estimate=True) from exc
    return final


def _split(data: bytes, name: str) -> tuple[dict[str, Any], bytes, bytes]:
    """(header, prefix bytes used as associated data, ciphertext); only structure is checked here."""
    if len(data) < _PREFIX:
        if MAGIC.startswith(data[: len(MAGIC)]):
            raise BundleError(f"“{name}”不完整（文件被截断，可能写入时拔出了U盘），未导入。")
        raise BundleError(f"“{name}”不是安居台账的同步文件，未导入。")
    if data[: len(MAGIC)] != MAGIC:
        raise BundleError(f"“{name}”不是安居台账的同步文件（或文件头已损坏），未导入。")
    (hlen,) = struct.unpack(">I", data[len(MAGIC) : _PREFIX])
    if hlen > MAX_HEADER_BYTES:
        raise BundleError(f"“{name}”的文件头已损坏，未导入。")
    if len(data) < _PREFIX + hlen:
        raise BundleError(f"“{name}”不完整（文件被截断，可能写入时拔出了U盘），未导入。")
    try:
        header = json.loads(data[_PREFIX : _PREFIX + hlen].decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header")
        kdf = header["kdf"]
        for k in ("n", "r", "p"):
            if not isinstance(kdf[k], int):
                raise ValueError(k)
        for k in ("bundle_id", "community", "sender", "check", "nonce"):
            if not isinstance(header[k], str):
                raise ValueError(k)
        stream = header.get("format") == FORMAT_STREAM
        if not isinstance(0 if stream else header["body_bytes"], int) or not isinstance(header["schema"], int):
            raise ValueError("sizes")
        if not isinstance(header.get("ranges"), dict):
            raise ValueError("ranges")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise BundleError(f"“{name}”的文件头已损坏，未导入。") from exc
    cipher = data[_PREFIX + hlen :]
    if header.get("format") == FORMAT_STREAM:
        return header, data[: _PREFIX + hlen], cipher
    if len(cipher) < header["body_bytes"]:
        raise BundleError(f"“{name}”不完整（文件被截断，可能写入时拔出了U盘），未导入。")
    if len(cipher) != header["body_bytes"]:
        raise BundleError(f"“{name}”已损坏（长度不符），未导入。")
    return header, data[: _PREFIX + hlen], cipher


def _read_head(path: Path) -> bytes:
    """The file's first bytes, enough for its header (a streamed bundle is never read whole)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(_PREFIX + MAX_HEADER_BYTES)
    except OSError as exc:
        raise BundleError(f"无法读取“{path.name}”：{exc}") from exc


def read_header(path: Path) -> dict[str, Any]:
    """The header alone, UNAUTHENTICATED: for showing a file's details, never for deciding anything."""
    path = Path(path)
    head = _read_head(path)
    header = _split(head, path.name)[0] if len(head) >= _PREFIX else None
    if header is not None and header.get("format") == FORMAT_STREAM:
        return header
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"无法读取“{path.name}”：{exc}") from exc
    return _split(data, path.name)[0]


def _key_of(header: dict[str, Any], passphrase: str, name: str) -> tuple[bytes, bytes]:
    """(key, nonce) for a header, after checking its key parameters and the passphrase."""
    try:
        kdf = header["kdf"]
        n, r, p = kdf["n"], kdf["r"], kdf["p"]
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(header["nonce"], validate=True)
        alg = kdf.get("alg")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BundleError(f"“{name}”的文件头已损坏，未导入。") from exc
    # Memory is 128 * n * r bytes: cap it (1 GiB) so a crafted header cannot exhaust the PC.
    if alg != "scrypt" or n < 2 or n > MAX_SCRYPT_N or n & (n - 1) or not 1 <= r <= 16 or not 1 <= p <= 4 \
            or 128 * n * r > 1 << 30:
        raise BundleError(f"“{name}”的文件头已损坏（密钥参数无效），未导入。")
    if len(nonce) != 12 or len(salt) < 8:
        raise BundleError(f"“{name}”的文件头已损坏，未导入。")
    key = derive_key(passphrase, salt, n, r, p)
    if not hmac.compare_digest(_key_check(key), header["check"]):
        raise WrongPassphrase(f"同步口令不对，无法打开“{name}”。请向本社区管理员确认同步口令。")
    return key, nonce


def _stream_key(key: bytes, nonce: bytes) -> bytes:
    # One key per streamed file: its chunks' nonces are then a plain counter, never reused under a key.
    return hmac.new(key, b"anju-stream" + nonce, hashlib.sha256).digest()


def _chunk_nonce(i: int) -> bytes:
    return b"\0\0\0\0" + struct.pack(">Q", i)


def write_stream_bundle(
    folder: Path, header: dict[str, Any], payloads: Iterable[dict[str, Any]], passphrase: str, *,
    scrypt_n: int = DEFAULT_SCRYPT_N, salt: bytes | None = None,
) -> Path:
    """A bundle whose body is a sequence of separately sealed chunks (each a JSON object), written
    as `payloads` yields them: temporary name, fsync, rename, read back and verified like write_bundle."""
    folder, salt, nonce, key = _prepare_write(folder, passphrase, salt, scrypt_n)
    head = dict(header)
    head.update(
        format=FORMAT_STREAM,
        kdf={"alg": "scrypt", "n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": base64.b64encode(salt).decode()},
        nonce=base64.b64encode(nonce).decode(),
        check=_key_check(key),
    )
    head_bytes = json.dumps(head, ensure_ascii=False, sort_keys=True).encode("utf-8")
    prefix = MAGIC + struct.pack(">I", len(head_bytes)) + head_bytes
    aead = AESGCM(_stream_key(key, nonce))
    final = folder / bundle_name(head.get("community", "x"), head.get("sender", "x"))
    written = 0

    def read_back(part: Path) -> None:
        check = read_bundle(part, passphrase, parse_body=False)
        if check.header.get("bundle_id") != header.get("bundle_id"):
            raise BundleError(f"写入U盘后读回校验失败：“{final.name}”。请换一个U盘重试。")

    def seal(fh: Any, i: int, payload: dict[str, Any] | None) -> int:
        last = payload is None
        plain = zlib.compress(json.dumps(payload or {}, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 1)
        cipher = aead.encrypt(_chunk_nonce(i), plain, prefix + struct.pack(">QB", i, last))
        fh.write(struct.pack(">BI", last, len(cipher)))
        fh.write(cipher)
        return 5 + len(cipher)

    try:
        with atomic_file(final, check=read_back, what="同步文件", replace=False) as fh:
            fh.write(prefix)
            written = len(prefix)
            i = 0
            for payload in payloads:
                written += seal(fh, i, payload)
                i += 1
            written += seal(fh, i, None)
    except DiskFullError as exc:
        raise DiskFullError(exc.folder, needed=written * 2, what="同步文件", estimate=True) from exc
    return final


def iter_chunks(bundle: Bundle, passphrase: str, *, decode: bool = True,
                budget: int | None = None) -> Iterator[dict[str, Any]]:
    """The chunks of a streamed bundle, each authenticated (and decoded) as it is read.

    Raises BundleError for a truncated, damaged or tampered file at the chunk where it shows, and
    when the chunks inflate to more than `budget` bytes together (a caller that keeps them all).
    """
    path, header = bundle.path, bundle.header
    name = path.name
    key, nonce = _key_of(header, passphrase, name)
    aead = AESGCM(_stream_key(key, nonce))
    truncated = f"“{name}”不完整（文件被截断，可能写入时拔出了U盘），未导入。"
    damaged = f"“{name}”已损坏或被改动过（校验失败），未导入。"
    try:
        fh = open(path, "rb")  # noqa: SIM115 - held across the generator's life
    except OSError as exc:
        raise BundleError(f"无法读取“{name}”：{exc}") from exc
    with fh:
        prefix = fh.read(_PREFIX)
        if len(prefix) < _PREFIX:
            raise BundleError(truncated)
        (hlen,) = struct.unpack(">I", prefix[len(MAGIC):_PREFIX])
        if hlen > MAX_HEADER_BYTES:
            raise BundleError(damaged)
        prefix += fh.read(hlen)
        # The chunks are sealed under these very bytes: they must be the header already judged.
        try:
            same = len(prefix) == _PREFIX + hlen and json.loads(prefix[_PREFIX:].decode("utf-8")) == header
        except (ValueError, UnicodeDecodeError):
            same = False
        if not same:
            raise BundleError(damaged)
        i = 0
        while True:
            if i >= MAX_CHUNKS:
                raise BundleError(f"“{name}”分块过多，不是正常的同步文件，未导入。")
            frame = fh.read(5)
            if len(frame) < 5:
                raise BundleError(truncated)
            last, size = struct.unpack(">BI", frame)
            if last not in (0, 1) or size > MAX_CHUNK_CIPHER or size < 16:
                raise BundleError(damaged)
            cipher = fh.read(size)
            if len(cipher) < size:
                raise BundleError(truncated)
            try:
                plain = aead.decrypt(_chunk_nonce(i), cipher, prefix + struct.pack(">QB", i, last))
            except InvalidTag as exc:
                raise BundleError(damaged) from exc
            if last:
                if fh.read(1):
                    raise BundleError(f"“{name}”已损坏（结尾有多余数据），未导入。")
                return
            i += 1
            if not decode:
                continue
            if budget is None:
                yield _inflate_json(plain, MAX_CHUNK_PLAIN, name)
                continue
            raw = _inflate(plain, max(1, min(MAX_CHUNK_PLAIN, budget)), name)  # 0 would mean no limit
            budget -= len(raw)
            yield _parse_json(raw, name)


def is_stream(bundle: Bundle) -> bool:
    return bundle.header.get("format") == FORMAT_STREAM


def is_snapshot(bundle: Bundle) -> bool:
    """A streamed bundle of rows (applied chunk by chunk), not a streamed delta of ops."""
    return is_stream(bundle) and bundle.header.get("kind") != "delta"


def _delta_body(bundle: Bundle, passphrase: str) -> dict[str, Any]:
    """A streamed delta's body as a format-1 body has it: {"sites", "ops", "knowledge"}, every chunk
    authenticated, the whole inflating to at most MAX_BODY_BYTES like a format-1 body. For tools
    that look into or rewrite a bundle; the importer reads a delta chunk by chunk, never whole."""
    ops: list[Any] = []
    knowledge: list[Any] = []
    for chunk in iter_chunks(bundle, passphrase, budget=MAX_BODY_BYTES):
        if isinstance(chunk.get("o"), list) and len(chunk) == 1:
            ops.extend(chunk["o"])
        elif isinstance(chunk.get("k"), list) and len(chunk) == 1:
            knowledge.extend(chunk["k"])
        else:
            raise BundleError(f"“{bundle.path.name}”内容格式不对（未知的数据块），未导入。")
    return {"sites": bundle.header.get("sites"), "ops": ops, "knowledge": knowledge}


def read_bundle(path: Path, passphrase: str, *, parse_body: bool = True) -> Bundle:
    """Read, authenticate header and body together (the header is the cipher's associated data), decode.

    Raises BundleError; nothing of the header may be trusted unless this returned. Without
    `parse_body` the body is authenticated but not decompressed (``body`` stays None). A streamed
    bundle (a snapshot) is authenticated chunk by chunk and never decoded here: its ``body``
    stays None and :func:`iter_chunks` reads it.
    """
    path = Path(path)
    head = _read_head(path)
    header, prefix, _ = _split(head, path.name)
    if header.get("format") == FORMAT_STREAM:
        _key_of(header, passphrase, path.name)
        stream = Bundle(path, header)
        if parse_body and header.get("kind") == "delta":
            stream.body = _delta_body(stream, passphrase)
            return stream
        for _ in iter_chunks(stream, passphrase, decode=False):
            pass
        return stream
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"无法读取“{path.name}”：{exc}") from exc
    header, prefix, cipher = _split(data, path.name)
    if header.get("format") != FORMAT:
        raise BundleError(f"“{path.name}”的文件格式（第 {str(header.get('format'))[:8]} 版）本程序不认识："
                          "可能来自较新版本的安居台账（请升级本机程序），也可能文件已损坏。未导入。")
    key, nonce = _key_of(header, passphrase, path.name)
    try:
        plain = AESGCM(key).decrypt(nonce, cipher, prefix)
    except InvalidTag as exc:
        raise BundleError(f"“{path.name}”已损坏或被改动过（校验失败），未导入。") from exc
    if not parse_body:
        return Bundle(path, header)
    return Bundle(path, header, _inflate_json(plain, MAX_BODY_BYTES, path.name))


def _inflate_json(plain: bytes, limit: int, name: str) -> dict[str, Any]:
    """A decrypted body or chunk: inflated to at most `limit` bytes, a JSON object, or BundleError."""
    return _parse_json(_inflate(plain, limit, name), name)


def _inflate(plain: bytes, limit: int, name: str) -> bytes:
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(plain, limit)
    except zlib.error as exc:
        raise BundleError(f"“{name}”内容无法解析，未导入。") from exc
    if inflater.unconsumed_tail:
        raise BundleError(f"“{name}”解压后超过 {limit >> 20} MB，不是正常的同步文件，未导入。")
    return raw


def _parse_json(raw: bytes, name: str) -> dict[str, Any]:
    try:
        payload = json.loads(raw.decode("utf-8"))
        if not isinstance(payload, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError(f"“{name}”内容无法解析，未导入。") from exc
    return payload
