"""Keeping secrets out of everything we print or store: one home for the rules.

Secrets are what the configuration holds (:func:`configured_secrets`: the values of the
environment variables targets name, configured header values, credentials in target
URLs) and what is recognisable by its shape (``Bearer ...``, ``sk-...``, ``user:password@``
in a URL). They may reach us inside a target's description, an HTTP error body, a reply
that echoes a request, or a recorded request; every output (terminal, failure text,
JUnit, reports, results, cassettes, the monitor log) passes through a :class:`Scrubber`
first, and text is always scrubbed before it is cut short, so no secret leaks in part.
"""

from __future__ import annotations

import base64
import os
import re
from typing import Any, Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "[REDACTED]"
SECRET_LABEL = "[SECRET]"  # what the masking function writes for a key a bot says (pii/secrets.py)
#: names (description keys, header names) whose values are never shown
SECRET_NAME_RE = re.compile(r"key|token|secret|passw|auth|cookie|header|credential|signature", re.I)
#: secrets recognisable by their shape wherever they appear in text
SECRET_VALUE_RES = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),  # Authorization header values
    re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"),  # OpenAI-style keys
    re.compile(r"(?<=://)[^\s/@'\"<>]+@"),  # credentials in a URL: scheme://user:password@host
)
MIN_SECRET_CHARS = 4  # shorter values would "occur" in any text
#: a header value under a name that does not look secret is one when it is at least this long;
#: shorter plain values ("X-Team: support") would blank out ordinary words everywhere
MIN_HEADER_SECRET_CHARS = 8


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


def header_secrets(headers: dict[str, Any]) -> list[str]:
    """Configured header values that count as secrets: all under a secret-looking name, long ones under any."""
    return [str(value) for name, value in headers.items()
            if len(str(value)) >= (MIN_SECRET_CHARS if SECRET_NAME_RE.search(str(name)) else MIN_HEADER_SECRET_CHARS)]


def url_secrets(url: str) -> list[str]:
    """The credentials in ``url`` as they may come back: ``user:password`` (raw and decoded), the password,
    and the Basic auth token HTTP clients make of them."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return []
    if user is None:
        return []
    userinfo = parts.netloc.rpartition("@")[0]
    decoded = f"{unquote(user)}:{unquote(password or '')}"
    values = [userinfo, decoded, base64.b64encode(decoded.encode("utf-8")).decode("ascii")]
    if password:
        values += [password, unquote(password)]
    return values


def configured_secrets(targets: dict[str, dict[str, Any]]) -> list[str]:
    """Every secret the targets' configuration holds: the values of the environment variables they name,
    their configured header values, and credentials in their URLs. The scrub list of a run."""
    values = environment_secrets(targets)
    for spec in targets.values():
        headers = spec.get("headers")
        if isinstance(headers, dict):
            values += header_secrets(headers)
        values += [secret for value in spec.values() if isinstance(value, str) and "://" in value
                   for secret in url_secrets(value)]
    return values


class Scrubber:
    """Removes secrets from text and headers: known secret values, bearer tokens and key-shaped strings."""

    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)

    def text(self, text: str) -> str:
        """``text`` with every secret replaced; scrub before cutting text short, never after."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if _maybe_shaped(text):  # cheap substring tests decide whether the shapes need looking for
            for pattern in SECRET_VALUE_RES:
                text = pattern.sub(_redacted, text)
        return text

    def headers(self, headers: dict[str, Any]) -> dict[str, str]:
        return {name: (REDACTED if SECRET_NAME_RE.search(name) else self.text(str(value)))
                for name, value in sorted(headers.items())}


def _maybe_shaped(text: str) -> bool:
    """Whether ``text`` holds what every shape in SECRET_VALUE_RES contains (most text holds none)."""
    if "sk-" in text or "://" in text:
        return True
    lowered = text.lower()
    return "bearer" in lowered or "basic" in lowered


def _redacted(match: re.Match[str]) -> str:
    """A shape match replaced, keeping what tells the reader where it was (``Bearer``, the URL's ``@``).

    A key-shaped string (``sk-...``) is labelled ``[SECRET]``, as the masking function labels
    a key a bot says (``pii/secrets.py``): the same key reads the same in every output, and a
    cassette replays it as a key-shaped stand-in.
    """
    if match.lastindex:
        return f"{match.group(1)} {REDACTED}"
    if match.group(0).endswith("@"):
        return f"{REDACTED}@"
    return SECRET_LABEL if match.group(0).startswith("sk-") else REDACTED


#: scrubs what is recognisable by its shape alone (for text that may quote configuration, e.g. a bad URL)
SHAPES = Scrubber()
