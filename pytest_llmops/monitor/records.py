"""Interaction records as the monitor reads them: one exchange, from fields that may be named differently.

A record is one JSON object per line (or a call of :meth:`Monitor.record`). A
:class:`FieldMap` reads the fields wherever an existing log keeps them
(``--map reply=response.text``); a record that is JSON but not a usable interaction
raises :class:`~pytest_llmops.errors.RecordError` naming the field. Reading is total:
whatever JSON value a field holds (an infinite or absurd latency, a timestamp past the
year 9999, a text with a lone surrogate that cannot be written as UTF-8), the answer is
an interaction or a RecordError, never another exception, so one line never stops a monitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import from_epoch, iso_z
from ..errors import RecordError
from .settings import RECORD_FIELDS, validate_field_map

#: a day: a larger "latency" is a broken record, not a slow reply
MAX_LATENCY_MS = 86_400_000


@dataclass(slots=True)
class Interaction:
    """One exchange seen in production. ``reply`` is None when the bot failed (``error`` says how)."""

    user: str
    reply: str | None
    latency_ms: float | None
    conversation_id: str | None = None
    user_id: str | None = None
    timestamp: str | None = None  # ISO 8601; None means "now"
    status: int | None = None
    error: str | None = None
    system: str | None = None  # the system prompt the bot answered under: regression cases keep it
    target: str | None = None  # the [tool.llmops.targets] name of the bot that answered, if known


class FieldMap:
    """Reads an interaction out of a record whose fields may be named or nested differently."""

    def __init__(self, mapping: dict[str, str] | None = None):
        mapping = validate_field_map(dict(mapping or {}))
        self.paths = {name: tuple(mapping.get(name, name).split(".")) for name in RECORD_FIELDS}
        self._top_level = all(self.paths[name] == (name,) for name in RECORD_FIELDS)

    def get(self, record: dict[str, Any], name: str) -> Any:
        path = self.paths[name]
        if len(path) == 1:
            return record.get(path[0])
        value: Any = record
        for part in self.paths[name]:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def where(self, name: str) -> str:
        return ".".join(self.paths[name])

    def interaction(self, record: dict[str, Any]) -> Interaction:
        """The interaction in ``record``; RecordError names the first field that is missing or wrong."""
        if self._top_level:  # every field at the top (no --map into nested objects): one dict lookup each
            (timestamp, conversation_id, user_id, user, reply, latency, status, error, system,
             target) = map(record.get, RECORD_FIELDS)
        else:
            (timestamp, conversation_id, user_id, user, reply, latency, status, error, system,
             target) = (self.get(record, name) for name in RECORD_FIELDS)
        if not isinstance(user, str):
            raise self._problem("user", user, "a string")
        error = self._text("error", error)
        if reply is None and not error:
            raise self._problem("reply", reply, "a string (or an 'error')")
        if reply is not None and not isinstance(reply, str):
            raise self._problem("reply", reply, "a string")
        if latency is None:
            if not error:
                raise self._problem("latency_ms", latency, "a number of milliseconds")
        elif isinstance(latency, bool) or not isinstance(latency, (int, float)):
            raise self._problem("latency_ms", latency, "a number of milliseconds >= 0")
        elif not 0 <= latency <= MAX_LATENCY_MS:  # also NaN and infinity
            raise RecordError(f"field {self.where('latency_ms')!r} is out of range: a latency is from 0 to "
                              f"{MAX_LATENCY_MS} milliseconds (a day)")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
            raise self._problem("status", status, "an integer")
        if status is not None and not 100 <= status <= 599:
            raise RecordError(f"field {self.where('status')!r} is out of range: an HTTP status is from 100 to 599")
        text = self._text
        return Interaction(user=text("user", user), reply=None if error else text("reply", reply),
                           latency_ms=latency, conversation_id=text("conversation_id", conversation_id),
                           user_id=text("user_id", user_id), timestamp=_timestamp(timestamp, self.where("timestamp")),
                           status=status, error=error or None, system=text("system", system) or None,
                           target=text("target", target) or None)

    def _text(self, name: str, value: Any) -> str | None:
        """An optional text field as text (a number or other JSON value as its text), storable as UTF-8."""
        if value is None:
            return None
        text = value if isinstance(value, str) else _as_text(value)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise RecordError(f"field {self.where(name)!r} is not valid Unicode text "
                                  "(a lone surrogate cannot be stored as UTF-8)") from None
        return text

    def _problem(self, name: str, value: Any, wanted: str) -> RecordError:
        if value is None:
            return RecordError(f"missing field {self.where(name)!r}")
        return RecordError(f"field {self.where(name)!r} must be {wanted}, not {type(value).__name__}")


def _as_text(value: Any) -> str:
    """A non-text JSON value (number, list, object) as text; ``repr`` escapes any lone surrogate inside."""
    try:
        return str(value)
    except (RecursionError, ValueError):  # nested past the recursion limit, or an int too long to print
        return f"[a JSON {type(value).__name__}]"


def _timestamp(value: Any, where: str) -> str | None:
    """An ISO 8601 timestamp as given, or epoch seconds turned into one; None when absent."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return iso_z(from_epoch(value), timespec="milliseconds")
        except (OverflowError, OSError, ValueError):  # NaN, infinite, or beyond the years 1-9999
            raise RecordError(f"field {where!r} is not a time: epoch seconds out of range") from None
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise RecordError(f"field {where!r} is not an ISO 8601 timestamp or epoch seconds") from None
        return value
    raise RecordError(f"field {where!r} must be an ISO 8601 string or epoch seconds")
