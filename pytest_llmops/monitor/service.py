"""Production monitoring: the suite's own checks applied to live or logged interactions.

An interaction (user message, bot reply or fault, latency, ids) goes through the same
:class:`~pytest_llmops.checks.Checker`, built from the same ``[tool.llmops]`` settings,
that the test suite uses, so "no email address in a reply" or "under 5000 ms" means
the same in CI and in production. Each interaction becomes one structured JSON log
record (secrets scrubbed, PII masked, long text cut to a bounded excerpt, user id
pseudonymous, personal data in a conversation id masked) on Python ``logging``;
counters feed the summary, alerts and metrics.

Service code calls :class:`Monitor` directly (``observe`` or the ``exchange`` context
manager); ``llmops monitor`` feeds it records read from JSON Lines.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from ..checks import Checker
from ..checks import names
from ..checks.names import SEVERE_CATEGORIES, category_of
from ..clock import iso_z
from ..config import Settings, load_settings
from ..errors import ConfigError, RecordError
from ..pii.storage import storage_detector
from ..pseudonym import Pseudonymizer
from ..text import stored_excerpt
from ..transcript import Exchange
from .log import DIAGNOSTICS_LOGGER_NAME, LOGGER_NAME, JsonLinesFileHandler, JsonMessage, console_handler
from .memory import ConversationMemory
from .records import FieldMap, Interaction
from .settings import MonitorSettings, monitor_settings
from .stats import Stats


ID_DIGEST_CHARS = 12  # of a conversation id that held personal data: tells conversations apart


class Listener(Protocol):
    """Something told about every interaction after it was checked (metrics, alerts)."""

    def interaction(self, entry: dict[str, Any], categories: set[str], latency_ms: float | None) -> None: ...

    def bad_input(self, where: str, reason: str) -> None: ...

    def close(self) -> None: ...


@dataclass
class Observed:
    """What the monitor made of one interaction: the log entry written and its finding categories."""

    entry: dict[str, Any]
    categories: set[str]

    @property
    def flagged(self) -> bool:
        return bool(self.categories)


class Monitor:
    """Checks interactions as the suite would and logs each as one JSON record.

    Thread-safe and cheap enough to call in a request path. Use as a context manager,
    or call :meth:`close` to flush the log and stop alerts and metrics.
    """

    def __init__(self, settings: Settings | None = None, options: MonitorSettings | None = None, *,
                 console: bool | None = None, listeners: list[Listener] | None = None,
                 logger_name: str | None = None) -> None:
        self.settings = settings or load_settings()
        self.options = options or monitor_settings(self.settings)
        self.checker = Checker.from_settings(self.settings)
        self.expect = self.options.expect
        if self.checker.refusal_judged and self.expect.refusal is not None:
            raise ConfigError("[tool.llmops.monitor.expect] refusal cannot run in the monitor with "
                              "[tool.llmops.refusal] judge = true (the monitor sends no reply on to a judge); "
                              "decide refusals by phrases there, or check them in case files")
        # what the log stores is masked for every kind, even kinds the checks leave out (as feedback does)
        self.detector = storage_detector(self.settings)
        self._checker_masks_enough = set(self.detector.kinds) <= set(self.checker.detector.kinds)
        self.pseudonymizer = Pseudonymizer.from_settings(self.settings)
        self._pseudonym = functools.lru_cache(maxsize=4096)(self._storable_user_id)
        # the pseudonym key when there is one (stable across runs), else a key of this monitor's own
        self._id_key = self.pseudonymizer.key or secrets.token_bytes(32)
        self._conversation_id = functools.lru_cache(maxsize=4096)(self._storable_conversation_id)
        self.scrub = self.checker.scrubber.text  # the run's secrets: configured keys, header values, URL credentials
        self.fields = FieldMap(self.options.fields)
        self.listeners = list(listeners or [])
        self.stats = Stats()  # since start
        self.period = Stats()  # since the last summary
        self._lock = threading.Lock()
        self.memory = ConversationMemory()
        self.logger = logging.getLogger(logger_name or f"{LOGGER_NAME}.{id(self):x}")
        self.diagnostics = logging.getLogger(DIAGNOSTICS_LOGGER_NAME)
        self.handlers: list[logging.Handler] = []
        if self.options.log_file:
            self.add_handler(JsonLinesFileHandler(self.log_path, max_bytes=self.options.log_max_bytes,
                                                   backups=self.options.log_backups))
        if self.options.console if console is None else console:
            self.add_handler(console_handler())
        if self.logger.level == logging.NOTSET:
            self.logger.setLevel(logging.INFO)
        self.closed = False

    @property
    def log_path(self) -> Path | None:
        if not self.options.log_file:
            return None
        return Path(self.settings.root) / self.options.log_file

    def add_handler(self, handler: logging.Handler) -> None:
        """Send every interaction record to ``handler`` too; it is closed with the monitor."""
        self.handlers.append(handler)
        self.logger.addHandler(handler)

    def _storable_conversation_id(self, conversation_id: str) -> str:
        """The id as stored: personal data in it (``conv-jane@example.com``) masked, plus a keyed digest of the
        whole id so that different conversations stay apart in the log."""
        findings = self.detector.find(conversation_id)
        if not findings:
            return conversation_id
        digest = hmac.new(self._id_key, conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{self.detector.mask(conversation_id, findings)}~{digest[:ID_DIGEST_CHARS]}"

    def _storable_user_id(self, user_id: str) -> str:
        """The id as stored: hashed when pseudonymisation is on, and never raw personal data."""
        stored = self.pseudonymizer.for_storage(user_id)
        if stored is user_id and self.detector.find(user_id):
            return self.detector.mask(user_id)  # an email as user id must not reach the log
        return stored

    # -- checking -----------------------------------------------------------------------------

    def observe(self, interaction: Interaction) -> Observed:
        """Check one interaction, log it, count it, tell the listeners. Returns what was logged."""
        # a fixed canary ([tool.llmops.leaks] canary) planted in production's system prompt must never come back
        exchange = Exchange(turn=1, user=interaction.user, reply=interaction.reply,
                            latency_ms=interaction.latency_ms, error=interaction.error,
                            error_kind="error" if interaction.error else None, status=interaction.status,
                            canary=self.settings.leaks.canary)
        # one masker for the exchange: what the user said is masked in the reply even in part; the checks'
        # own when it masks every kind the log must (it has then looked at the user's message already)
        # (and it remembers what earlier records of the conversation said: fragments of that are masked too)
        checked = self.checker.detector.conversation()
        logged = checked if self._checker_masks_enough else self.detector.conversation()
        maskers = (checked,) if logged is checked else (checked, logged)
        conversation_id = interaction.conversation_id
        if conversation_id:
            self.memory.recall(conversation_id, *maskers)
        results = self.checker.check_exchange(exchange, self.expect, masker=checked)
        mask = logged.mask
        scrub = self.scrub
        user = mask(scrub(interaction.user))
        # the checks searched the reply for PII and secrets already: mask again only if they found some
        # or did not look
        pii_passed = secrets_passed = None
        findings = []
        pii_kinds: list[str] = []
        for result in results:
            check = result.check
            if check == names.NO_PII:
                pii_passed = result.passed
            elif check == names.NO_SECRETS:
                secrets_passed = result.passed
            if result.passed:
                continue
            finding = {"check": check, "category": category_of(check), "expected": result.expected,
                       "actual": result.actual}
            if result.pii_kinds:
                finding["pii_kinds"] = result.pii_kinds
                pii_kinds.extend(result.pii_kinds)
            findings.append(finding)
        reply = interaction.reply
        if reply is not None:
            reply = scrub(reply)
            if not (pii_passed is True and secrets_passed is True) or not self._checker_masks_enough:
                reply = mask(reply)
        if findings:
            categories = {finding["category"] for finding in findings}
            level = logging.ERROR if categories & SEVERE_CATEGORIES else logging.WARNING
        else:
            categories, level = set(), logging.INFO
        user_id = interaction.user_id
        entry = {
            "timestamp": interaction.timestamp or iso_z(timespec="milliseconds"),
            "level": logging.getLevelName(level),
            "conversation_id": self._conversation_id(conversation_id) if conversation_id else conversation_id,
            "user_id": self._pseudonym(user_id) if user_id else user_id,
        }
        if interaction.system:
            entry["system"] = stored_excerpt(mask(scrub(interaction.system)))
        if interaction.target:
            entry["target"] = interaction.target
        entry["user"] = stored_excerpt(user)
        entry["reply"] = None if reply is None else stored_excerpt(reply)
        entry["latency_ms"] = interaction.latency_ms
        entry["status"] = interaction.status
        entry["error"] = stored_excerpt(mask(scrub(interaction.error))) if interaction.error else None
        entry["findings"] = findings
        if conversation_id:
            self.memory.keep(conversation_id, *maskers)
        self._emit(level, entry)
        failed_checks = [finding["check"] for finding in findings]
        with self._lock:
            self.stats.add(interaction.latency_ms, failed_checks, pii_kinds)
            self.period.add(interaction.latency_ms, failed_checks, pii_kinds)
        for listener in self.listeners:
            listener.interaction(entry, categories, interaction.latency_ms)
        return Observed(entry, categories)

    def record(self, user: str, reply: str | None, latency_ms: float | None, *, conversation_id: str | None = None,
               user_id: str | None = None, error: str | None = None, status: int | None = None,
               timestamp: str | None = None, system: str | None = None, target: str | None = None) -> Observed:
        """Check and log one exchange given as arguments (see :class:`Interaction`)."""
        return self.observe(Interaction(user=user, reply=None if error else reply, latency_ms=latency_ms,
                                        conversation_id=conversation_id, user_id=user_id, timestamp=timestamp,
                                        status=status, error=error, system=system, target=target))

    @contextmanager
    def exchange(self, user: str, *, conversation_id: str | None = None, user_id: str | None = None,
                 system: str | None = None, target: str | None = None) -> Iterator["LiveExchange"]:
        """Time the bot's answer to ``user``: set ``.reply`` inside the block.

        An exception inside the block is recorded as the exchange's error and re-raised.
        """
        live = LiveExchange(user)
        context = {"conversation_id": conversation_id, "user_id": user_id, "system": system, "target": target}
        started = time.perf_counter()
        try:
            yield live
        except BaseException as exc:
            elapsed = (time.perf_counter() - started) * 1000
            self.record(user, None, round(elapsed, 3), error=f"{type(exc).__name__}: {exc}", status=live.status,
                        **context)
            raise
        elapsed = (time.perf_counter() - started) * 1000
        self.record(user, live.reply, round(elapsed, 3), status=live.status,
                    error=None if live.reply is not None else "no reply was set", **context)

    def observe_record(self, record: dict[str, Any], where: str) -> Observed | None:
        """Check one decoded input record; a record that is not an interaction is counted as bad input."""
        interaction = self._interaction_or_reason(record)
        if isinstance(interaction, str):
            self.bad_input(where, interaction)
            return None
        return self.observe(interaction)

    def _interaction_or_reason(self, record: dict[str, Any] | str) -> Interaction | str:
        """The record's interaction, or why it is none (``record`` is that reason already for an undecodable line)."""
        if isinstance(record, str):
            return record
        try:
            return self.fields.interaction(record)
        except RecordError as exc:
            return str(exc)

    def observe_records(self, records: list[tuple[str, dict[str, Any] | str]],
                        stopped: Callable[[], bool] = lambda: False) -> bool:
        """Check decoded input records in order, as :meth:`observe_record` would one by one: each is ``(where,
        record)``, or ``(where, reason)`` for a line that could not be decoded (counted as bad input).

        Their texts are screened for personal data and secrets at once first (:meth:`PiiDetector.screen`).
        Returns False when ``stopped()`` ended it before the last record.
        """
        items = [(where, self._interaction_or_reason(record)) for where, record in records]
        self.screen([interaction for _, interaction in items if not isinstance(interaction, str)])
        for where, item in items:
            if stopped():
                return False
            if isinstance(item, str):
                self.bad_input(where, item)
            else:
                self.observe(item)
        return True

    def screen(self, interactions: list[Interaction]) -> None:
        """Screen the texts of ``interactions`` with the checks' and the log's detectors at once, for their
        :meth:`observe` next (see :meth:`PiiDetector.screen`)."""
        if not interactions:
            return
        texts = [text for interaction in interactions
                 for text in (interaction.user, interaction.reply, interaction.user_id, interaction.conversation_id,
                              interaction.error, interaction.system) if text]
        self.checker.detector.screen(texts)
        if self.detector is not self.checker.detector:
            self.detector.screen(texts, like=self.checker.detector)

    def bad_input(self, where: str, reason: str) -> None:
        """Count and report an input line that could not be used (never its content)."""
        with self._lock:
            self.stats.bad_lines += 1
            self.period.bad_lines += 1
            count = self.stats.bad_lines
        if count <= 100:
            self.diagnostics.warning("%s: %s", where, reason)
        elif count == 101:
            self.diagnostics.warning("more bad lines: counted, no longer reported one by one")
        for listener in self.listeners:
            listener.bad_input(where, reason)

    def _emit(self, level: int, entry: dict[str, Any]) -> None:
        logger = self.logger
        if not logger.isEnabledFor(level):
            return
        files = self._direct_files()
        if files is not None:
            # only the monitor's own log files would receive it: hand them the entry, no LogRecord (most of the cost)
            for handler in files:
                if level >= handler.level:
                    handler.store(entry)
            return
        # built by hand: skips logging's stack walk for the caller, the costly part of logger.log
        record = logger.makeRecord(logger.name, level, "(monitor)", 0, JsonMessage(entry), None, None,
                                   extra={"llmops": entry})
        logger.handle(record)

    def _direct_files(self) -> list[JsonLinesFileHandler] | None:
        """The log files, when they and handlers that drop everything are all a record would reach (as in
        ``llmops monitor``); None when anything else listens (a console, an application's handler, a filter)."""
        logger = self.logger
        if logger.propagate or logger.filters or logger.disabled or logging.root.manager.disable:
            return None
        files = []
        for handler in logger.handlers:
            kind = type(handler)
            if handler.filters or kind not in (JsonLinesFileHandler, logging.NullHandler):
                return None
            if kind is JsonLinesFileHandler:
                files.append(handler)
        return files

    # -- periods, shutdown ----------------------------------------------------------------------

    def take_period(self) -> Stats:
        """The stats since the last call (or start), starting a new period."""
        with self._lock:
            period, self.period = self.period, Stats()
        return period

    def seen(self, condition: str) -> bool:
        """True when ``condition`` (a category, ``bad_input`` or ``any``) occurred since start."""
        stats = self.stats
        if condition == "bad_input":
            return stats.bad_lines > 0
        if condition == "any":
            return stats.flagged > 0 or stats.bad_lines > 0
        return stats.categories.get(condition, 0) > 0

    def flush(self) -> None:
        for handler in self.handlers:
            handler.flush()

    def unwritten(self) -> tuple[int, str | None]:
        """Interactions the log file could not take (a full disk, a read-only folder) and why; final after close."""
        files = [handler for handler in self.handlers if isinstance(handler, JsonLinesFileHandler)]
        return sum(handler.lost for handler in files), next((h.error for h in files if h.error), None)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for handler in self.handlers:
            self.logger.removeHandler(handler)
            handler.close()
        for listener in self.listeners:
            listener.close()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class LiveExchange:
    """The reply (and optional HTTP status) a service sets inside :meth:`Monitor.exchange`."""

    __slots__ = ("user", "reply", "status")

    def __init__(self, user: str):
        self.user = user
        self.reply: str | None = None
        self.status: int | None = None


__all__ = ["Monitor", "Observed", "LiveExchange", "Listener"]
