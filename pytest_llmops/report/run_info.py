"""Facts about a run that reports show next to the results: git state, the target, the time.

Whatever comes from here is printed in terminals, HTML reports and results files, so
target descriptions are scrubbed of anything that could be a secret.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..results import GitInfo

#: keys of a target description that are never shown, whatever a target puts there
SECRET_KEY_RE = re.compile(r"key|token|secret|passw|auth|cookie|header|credential", re.I)
GIT_TIMEOUT_S = 5


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _git(root: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                                   timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def git_info(root: Path) -> GitInfo:
    """Commit, branch (None when detached) and dirtiness of the repository holding ``root``; all None outside git."""
    commit = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    if not commit:
        return GitInfo()
    branch = _git(root, "symbolic-ref", "-q", "--short", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return GitInfo(commit=commit, branch=branch or None, dirty=None if status is None else bool(status))


def public_url(url: str) -> str:
    """``url`` without user:password and with query values hidden (an API key may ride in either)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "[unparseable url]"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{pair.split('=', 1)[0]}=***" if "=" in pair else pair
                     for pair in parts.query.split("&") if pair)
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def _scrubbed(description: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in description.items():
        if SECRET_KEY_RE.search(str(key)):
            continue
        if isinstance(value, dict):
            safe[key] = _scrubbed(value)
        elif isinstance(value, str) and "://" in value:
            safe[key] = public_url(value)
        else:
            safe[key] = value
    return safe


def public_target(description: dict[str, Any]) -> dict[str, Any]:
    """A target description safe to print: secret-looking keys dropped, URLs stripped of credentials."""
    return {"name": "?", "kind": "?", "url": None, **_scrubbed(description)}
