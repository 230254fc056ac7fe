"""Password hashing (argon2id), secret tokens stored as digests, CSRF tokens, secret boxes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from frontdesk.core.config import get_settings

API_TOKEN_PREFIX = "fdk_"
SESSION_TOKEN_BYTES = 32


@lru_cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1, type=Type.ID)


def password_hasher() -> PasswordHasher:
    settings = get_settings()
    return _hasher(settings.password_hash_time_cost, settings.password_hash_memory_kib)


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check so unknown accounts are not told apart by timing.
        password_hasher().hash(password)
        return False
    try:
        return password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return password_hasher().check_needs_rehash(password_hash)


def new_secret_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(SESSION_TOKEN_BYTES)


def digest_token(token: str) -> str:
    """Tokens are high-entropy random strings, so a plain SHA-256 is a safe stored form."""
    return hashlib.sha256(token.encode()).hexdigest()


def _derive_key(purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        get_settings().secret_key.encode()
    )


def csrf_token_for(session_token_digest: str) -> str:
    mac = hmac.new(_derive_key("csrf"), session_token_digest.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def csrf_token_matches(session_token_digest: str, presented: str | None) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(csrf_token_for(session_token_digest), presented)


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive_key("secret-box")))


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("the secret cannot be decrypted with this service's key") from exc
