"""Keeping secrets out of everything we print or store: one home for the rules.

Secrets are API keys and tokens (from the environment variables targets name),
credentials in URLs, and values of secret-looking keys or headers. They may reach us
inside a target's description, an HTTP error body or a recorded request; every output
(terminal, reports, results, cassettes) passes through these functions first.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[REDACTED]"
#: names (description keys, header names) whose values are never shown
SECRET_NAME_RE = re.compile(r"key|token|secret|passw|auth|cookie|header|credential|signature", re.I)
#: secrets recognisable by their shape wherever they appear in text
SECRET_VALUE_RES = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),  # Authorization header values
    re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"),  # OpenAI-style keys
)
MIN_SECRET_CHARS = 4  # shorter values would "occur" in any text


def public_url(url: str) -> str:
    """``url`` without user:password and with query values hidden (an API key may ride in either)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "[unparseable url]"
    host = parts.hostname or ""
    if port:
        host = f"{host}:{port}"
    query = "&".join(f"{pair.split('=', 1)[0]}=***" if "=" in pair else pair
                     for pair in parts.query.split("&") if pair)
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def public_description(description: dict[str, Any]) -> dict[str, Any]:
    """A target description safe to print: secret-looking keys dropped, URLs stripped of credentials."""
    safe: dict[str, Any] = {}
    for key, value in description.items():
        if SECRET_NAME_RE.search(str(key)):
            continue
        if isinstance(value, dict):
            safe[key] = public_description(value)
        elif isinstance(value, str) and "://" in value:
            safe[key] = public_url(value)
        else:
            safe[key] = value
    return safe


def environment_secrets(targets: dict[str, dict[str, Any]]) -> list[str]:
    """Values of the environment variables the targets name (``api_key_env`` and any ``*_env`` option)."""
    values = []
    for spec in targets.values():
        for key, name in spec.items():
            if key.endswith("_env") and isinstance(name, str) and len(os.environ.get(name, "")) >= MIN_SECRET_CHARS:
                values.append(os.environ[name])
    return values


class Scrubber:
    """Removes secrets from text and headers: known secret values, bearer tokens and key-shaped strings."""

    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)

    def text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in SECRET_VALUE_RES:
            text = pattern.sub(lambda m: (m.group(1) + " " if m.lastindex else "") + REDACTED, text)
        return text

    def headers(self, headers: dict[str, Any]) -> dict[str, str]:
        return {name: (REDACTED if SECRET_NAME_RE.search(name) else self.text(str(value)))
                for name, value in sorted(headers.items())}
