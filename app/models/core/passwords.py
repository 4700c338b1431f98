"""Password hashing (salted scrypt) and the password rules every account follows."""

from __future__ import annotations

import base64
import hmac
import os

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from app.models.core.errors import ValidationError

# scrypt with N=2^15, r=8, p=1 takes 32 MiB and ~0.1 s here: cheap once per login, costly for
# anyone guessing passwords from a copied file. The parameters are stored in each hash, so they
# can be raised later without invalidating the hashes already stored.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
PREFIX = "scrypt"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$key`` (base64 parts): the only form in which a password is stored."""
    salt = os.urandom(SALT_BYTES)
    key = Scrypt(salt=salt, length=KEY_BYTES, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode("utf-8"))
    return f"{PREFIX}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        prefix, n, r, p, salt, key = stored.split("$")
        if prefix != PREFIX:
            return False
        expected = base64.b64decode(key)
        derived = Scrypt(salt=base64.b64decode(salt), length=len(expected), n=int(n), r=int(r), p=int(p)).derive(
            password.encode("utf-8")
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, expected)


def check_password_rules(name: str, password: str) -> None:
    """Raise ValidationError (field ``password``) when the password breaks a rule."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"密码至少要 {MIN_LENGTH} 个字符。", field="password")
    if password.strip().casefold() == name.strip().casefold():
        raise ValidationError("密码不能与账号名称相同。", field="password")
    if len(set(password)) == 1:
        raise ValidationError("密码不能全是同一个字符。", field="password")
