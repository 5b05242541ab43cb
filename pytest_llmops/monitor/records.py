"""Interaction records as the monitor reads them: one exchange, from fields that may be named differently.

A record is one JSON object per line (or a call of :meth:`Monitor.record`). A
:class:`FieldMap` reads the fields wherever an existing log keeps them
(``--map reply=response.text``); a record that is JSON but not a usable interaction
raises :class:`~pytest_llmops.errors.RecordError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import from_epoch, iso_z
from ..errors import RecordError
from .settings import RECORD_FIELDS, validate_field_map


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
        get = self.get
        user = get(record, "user")
        if not isinstance(user, str):
            raise self._problem("user", user, "a string")
        reply = get(record, "reply")
        error = get(record, "error")
        if error is not None and not isinstance(error, str):
            error = str(error)
        if reply is None and not error:
            raise self._problem("reply", reply, "a string (or an 'error')")
        if reply is not None and not isinstance(reply, str):
            raise self._problem("reply", reply, "a string")
        latency = get(record, "latency_ms")
        if latency is None:
            if not error:
                raise self._problem("latency_ms", latency, "a number of milliseconds")
        elif isinstance(latency, bool) or not isinstance(latency, (int, float)) or not latency >= 0:
            raise self._problem("latency_ms", latency, "a number of milliseconds >= 0")
        status = get(record, "status")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
            raise self._problem("status", status, "an integer")
        return Interaction(user=user, reply=None if error else reply, latency_ms=latency,
                           conversation_id=_optional_text(get(record, "conversation_id")),
                           user_id=_optional_text(get(record, "user_id")),
                           timestamp=_timestamp(get(record, "timestamp"), self.where("timestamp")),
                           status=status, error=error or None, system=_optional_text(get(record, "system")) or None,
                           target=_optional_text(get(record, "target")) or None)

    def _problem(self, name: str, value: Any, wanted: str) -> RecordError:
        if value is None:
            return RecordError(f"missing field {self.where(name)!r}")
        return RecordError(f"field {self.where(name)!r} must be {wanted}, not {type(value).__name__}")


def _optional_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _timestamp(value: Any, where: str) -> str | None:
    """An ISO 8601 timestamp as given, or epoch seconds turned into one; None when absent."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return iso_z(from_epoch(value), timespec="milliseconds")
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise RecordError(f"field {where!r} is not an ISO 8601 timestamp or epoch seconds") from None
        return value
    raise RecordError(f"field {where!r} must be an ISO 8601 string or epoch seconds")
