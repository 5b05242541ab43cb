"""The clock: every timestamp we store or show is UTC, written ISO 8601 with a ``Z``."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def iso_z(moment: datetime | None = None, timespec: str = "microseconds") -> str:
    """``moment`` (default now) in UTC as ISO 8601 ending in ``Z``, e.g. ``2026-11-25T10:41:31.123456Z``.

    ``timespec`` as :meth:`datetime.isoformat`: stored records keep microseconds, the
    monitor's log lines milliseconds.
    """
    if moment is None:
        moment = datetime.now(timezone.utc)
    elif moment.tzinfo is None or moment.utcoffset():
        moment = moment.astimezone(timezone.utc)  # naive means local time, as datetime.astimezone reads it
    return moment.isoformat(timespec=timespec)[:-6] + "Z"  # "+00:00" -> "Z"


def from_epoch(seconds: float) -> datetime:
    """Unix seconds as an aware UTC datetime (OverflowError, OSError or ValueError when out of range)."""
    return datetime.fromtimestamp(seconds, timezone.utc)
