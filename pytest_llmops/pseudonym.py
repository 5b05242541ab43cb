"""Pseudonymous user ids: a keyed HMAC-SHA256 so stored records never carry the raw id.

The key lives in an environment variable named by ``pseudonym_key_env`` in
``[tool.llmops.privacy]`` (never in a file). Without the key, nobody can turn a raw id
into its pseudonym or back, yet the same raw id always gives the same pseudonym, so
erase and export can accept the raw id and find every record about that user.

Writers (feedback, monitor) call :meth:`Pseudonymizer.for_storage`; readers looking for
one user call :meth:`Pseudonymizer.identities`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Mapping

from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Settings
    from .privacy.settings import PrivacySettings

PREFIX = "u_"
DIGEST_HEX_CHARS = 32  # 128 bits of HMAC-SHA256: collision-free in practice, short in logs
MIN_KEY_BYTES = 16
PSEUDONYM_RE = re.compile(rf"^{PREFIX}[0-9a-f]{{{DIGEST_HEX_CHARS}}}$")


def is_pseudonym(value: str) -> bool:
    """True when ``value`` already has the shape of a pseudonym (``u_`` + 32 hex digits)."""
    return bool(PSEUDONYM_RE.match(value))


def _key_bytes(key: bytes | str) -> bytes:
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(data) < MIN_KEY_BYTES:
        raise ConfigError(f"pseudonym key is too short ({len(data)} bytes; at least {MIN_KEY_BYTES} needed)")
    return data


def pseudonymize(user_id: str, key: bytes | str) -> str:
    """``u_`` + HMAC-SHA256(key, user_id), truncated; an id that already is a pseudonym is returned as is."""
    if not isinstance(user_id, str) or not user_id:
        raise ValueError("user id must be a non-empty string")
    if is_pseudonym(user_id):
        return user_id
    digest = hmac.new(_key_bytes(key), user_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGEST_HEX_CHARS]


@dataclass(frozen=True)
class Pseudonymizer:
    """The project's pseudonymisation policy: whether ids are hashed, and with which key.

    ``key`` is None when the environment variable is unset; that is only an error when
    ``enabled`` is true (storing or finding pseudonyms needs it).
    """

    enabled: bool
    key: bytes | None
    key_env: str

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymizer(enabled={self.enabled}, key_env={self.key_env!r}, key={'set' if self.key else 'unset'})"

    @classmethod
    def from_privacy(cls, privacy: "PrivacySettings", environ: Mapping[str, str] | None = None) -> "Pseudonymizer":
        environ = os.environ if environ is None else environ
        raw = environ.get(privacy.pseudonym_key_env) or None
        key = _key_bytes(raw) if raw is not None else None
        if privacy.pseudonymize and key is None:
            raise ConfigError(
                f"[tool.llmops.privacy] pseudonymize = true, but the environment variable "
                f"{privacy.pseudonym_key_env} that holds the pseudonym key is not set")
        return cls(privacy.pseudonymize, key, privacy.pseudonym_key_env)

    @classmethod
    def from_settings(cls, settings: "Settings", environ: Mapping[str, str] | None = None) -> "Pseudonymizer":
        """The policy of ``[tool.llmops.privacy]``; ConfigError when hashing is on and the key is missing."""
        return cls.from_privacy(settings.privacy, environ)

    def for_storage(self, user_id: str) -> str:
        """The id to write into a stored record: the pseudonym when enabled, else the id unchanged."""
        if not self.enabled:
            return user_id
        assert self.key is not None  # from_privacy guarantees it
        return pseudonymize(user_id, self.key)

    def identities(self, user_id: str) -> set[str]:
        """Every form under which records about ``user_id`` may be stored: raw and, when a key is known, hashed."""
        forms = {user_id}
        if self.key is not None:
            forms.add(pseudonymize(user_id, self.key))
        return forms
