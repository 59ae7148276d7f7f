"""Integration secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, ``cryptography``).

The keys come from ``JOBRUNNER_SECRETS_KEY`` (url-safe base64 Fernet keys, comma-separated:
the first encrypts, every one decrypts, so a key can be rotated); when it is unset, one
key is generated into ``data_dir/secrets-key`` on first use (like the JWT secret).

Stored values are ``fernet:<token>``. A value without that prefix is a secret saved in
plain text before encryption existed: it still works, and is encrypted in place the first
time a job reads it; a value sealed with an older key is re-sealed with the first key then."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from jobrunner.domain.errors import PermanentError
from jobrunner.settings import Settings

PREFIX = "fernet:"
KEY_FILE = "secrets-key"


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: str) -> str:
        return PREFIX + self._primary.encrypt(secret.encode()).decode("ascii")

    def open(self, stored: str) -> tuple[str, bool]:
        """The secret, and whether the stored value should be written again (plain text,
        or sealed with a key that is no longer the first)."""
        if not stored.startswith(PREFIX):
            return stored, True
        token = stored[len(PREFIX) :].encode("ascii", "replace")
        try:
            return self._primary.decrypt(token).decode(), False
        except InvalidToken:
            pass
        try:
            return self._all.decrypt(token).decode(), True
        except InvalidToken:
            raise PermanentError(
                "the integration's secret cannot be decrypted with this service's keys "
                "(JOBRUNNER_SECRETS_KEY); save the integration again"
            ) from None


def secret_box(settings: Settings) -> SecretBox:
    return _box(settings.secrets_key, str(settings.data_dir))


@lru_cache(maxsize=8)
def _box(configured: str | None, data_dir: str) -> SecretBox:
    if configured:
        keys = [key.strip().encode() for key in configured.split(",") if key.strip()]
    else:
        keys = [_key_file(Path(data_dir) / KEY_FILE)]
    return SecretBox(keys)


def _key_file(path: Path) -> bytes:
    """The generated key; created atomically, so processes starting together share one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secrets-key-")
        try:
            os.write(fd, Fernet.generate_key() + b"\n")
            os.close(fd)
            os.chmod(temporary, 0o600)
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_bytes().strip()
