"""The pseudonym key: one master secret, and per-class subkeys derived from it.

Only subkeys ever reach the database (as string literals, or on PostgreSQL as bound
values of the transaction settings :func:`subkey_setting` names); the master never leaves the
process and is never shown by ``repr``, ``str`` or an error message. Rotating the
master changes every subkey, hence every pseudonym, hash and date shift.

>>> key = MaskingKey(b"k" * 32)
>>> key
MaskingKey(fingerprint='6210e276')
>>> key.subkey("pii.email")[:16]
'59c99a4f9d073197'
>>> len(key.subkey("pii.email"))
64
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

from jupyter_masking.errors import ConfigError

ENV_VAR = "JUPYTER_MASKING_KEY"
MIN_BYTES = 32
SUBKEY_PREFIX = "jupyter-masking/v1/"
SETTING_PREFIX = "jupyter_masking.k_"
_HEX = re.compile(r"[0-9a-fA-F]+")


class MaskingKey:
    """The master secret (at least 32 bytes) that keys every pseudonym.

    Key text (environment or file) is read as hex when it is all hex digits,
    as base64 after a ``base64:`` prefix, and as raw UTF-8 bytes otherwise;
    either way it must decode to at least 32 bytes.
    """

    __slots__ = ("_master", "_subkeys")

    def __init__(self, master: bytes) -> None:
        if len(master) < MIN_BYTES:
            raise ConfigError(
                f"masking key is too short ({len(master)} bytes); it needs at least {MIN_BYTES}",
                hint="generate one with MaskingKey.generate().to_text()",
            )
        self._master = bytes(master)
        self._subkeys: dict[str, str] = {}

    @classmethod
    def generate(cls) -> MaskingKey:
        """A fresh random 32-byte key."""
        return cls(secrets.token_bytes(MIN_BYTES))

    @classmethod
    def from_text(cls, text: str, *, source: str = "key text") -> MaskingKey:
        """Decode key text (hex, ``base64:...`` or raw) as described on the class."""
        text = text.strip()
        if not text:
            raise ConfigError(f"masking key from {source} is empty")
        if text.startswith("base64:"):
            try:
                return cls(base64.b64decode(text[7:], validate=True))
            except binascii.Error:
                raise ConfigError(f"masking key from {source} is not valid base64") from None
        if _HEX.fullmatch(text) and len(text) % 2 == 0:
            return cls(bytes.fromhex(text))
        return cls(text.encode("utf-8"))

    @classmethod
    def from_env(cls, var: str = ENV_VAR) -> MaskingKey:
        """Read the key from an environment variable; a clear error when unset."""
        value = os.environ.get(var)
        if value is None:
            raise ConfigError(
                f"no masking key: environment variable {var} is not set",
                hint=f"set {var} or point the configuration at a key file",
            )
        return cls.from_text(value, source=f"environment variable {var}")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MaskingKey:
        """Read the key from a file that only its owner (and group) may read."""
        file = Path(path)
        try:
            mode = file.stat().st_mode
        except OSError as error:
            raise ConfigError(f"cannot read masking key file {file}: {error.strerror}") from None
        if not stat.S_ISREG(mode):
            raise ConfigError(f"masking key file {file} is not a regular file")
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            raise ConfigError(
                f"masking key file {file} is readable or writable by every user; refusing it",
                hint=f"run: chmod 600 {file}",
            )
        return cls.from_text(file.read_text(encoding="utf-8"), source=f"file {file}")

    def to_text(self) -> str:
        """The master as hex, for writing a new key to a file or secret store once."""
        return self._master.hex()

    def subkey(self, data_class: str) -> str:
        """``HMAC-SHA256(master, "jupyter-masking/v1/" + data_class)`` as 64 lowercase hex."""
        cached = self._subkeys.get(data_class)
        if cached is None:
            message = (SUBKEY_PREFIX + data_class).encode("utf-8")
            cached = hmac.new(self._master, message, hashlib.sha256).hexdigest()
            self._subkeys[data_class] = cached
        return cached

    def fingerprint(self) -> str:
        """Eight hex characters naming this key in audit events; reveals nothing of it."""
        return self.subkey("\x00fingerprint")[:8]

    def __repr__(self) -> str:
        return f"MaskingKey(fingerprint={self.fingerprint()!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MaskingKey):
            return NotImplemented
        return hmac.compare_digest(self._master, other._master)

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("MaskingKey cannot be pickled; pass the key source, not the key")


def subkey_setting(subkey: str) -> str:
    """The transaction setting that carries ``subkey`` where SQL reads it from one.

    Named after a digest of the subkey, which tells nothing about the subkey itself.

    >>> subkey_setting("0" * 64)
    'jupyter_masking.k_60e05bd1b195af2f'
    """
    return SETTING_PREFIX + hashlib.sha256(subkey.encode("utf-8")).hexdigest()[:16]
