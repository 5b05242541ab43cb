"""Cassettes for the judge and the embedder: their exchanges for a case, kept beside the case's cassette.

A judge or an embedder is asked questions whose answers depend only on what is asked,
so its exchanges are matched by the request (compared masked, as the bot's are), not by
turn: ``DIR/<case file>/<case id>+judge.yaml`` and ``...+embeddings.yaml`` (``+`` never
appears in a case's own cassette name). Under ``--llmops-replay`` every verdict and
vector comes from these files, so a run with ``judge`` and ``similar`` checks replays
offline with the servers stopped; a question that was never recorded fails its check
with the reason, or with ``--llmops-record-missing`` is asked live and added.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..config import Settings
from ..errors import CassetteError, NoRecording, TargetError
from ..jsonl import write_file_atomic
from ..pii import PiiDetector
from ..redaction import Scrubber, environment_secrets
from ..text import excerpt
from ..transcript import Conversation, Embeddings, Reply
from . import target_table
from .base import Message, Target
from .cassette import (CASSETTE_VERSION, CassetteMode, FlowList, cassette_path, clean_message, comparable,
                       dump_cassette, read_cassette_document, usage_data, usage_from_data)

ROLES = ("judge", "embeddings")
HEADER = ("# pytest-llmops cassette: the {role} exchanges of one case (see docs/cassettes.md).\n"
          "# Replay offline with: pytest --llmops --llmops-replay=DIR\n")


def exchange_cassette_path(folder: Path, case_key: str, role: str) -> Path:
    """``DIR/support/orders/status.yaml`` -> ``DIR/support/orders/status+judge.yaml``."""
    path = cassette_path(folder, case_key)
    return path.with_name(f"{path.stem}+{role}{path.suffix}")


@dataclass
class _Tape:
    loaded: dict[int, list[dict[str, Any]]] | None = None
    recorded: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ExchangeCassette(Target):
    """Wraps a judge or embedder target (or none, offline) and records or replays its exchanges per case and run."""

    kind = "cassette"

    def __init__(self, name: str, role: str, mode: CassetteMode, live: Target | None, detector: PiiDetector,
                 scrubber: Scrubber, live_description: dict[str, Any] | None = None):
        super().__init__(name)
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self.role = role
        self.mode = mode
        self.live = live
        self.detector = detector
        self.scrubber = scrubber
        self._description = live.describe() if live is not None else (live_description or {"name": name})
        self._tapes: dict[str, _Tape] = {}
        self._lock = threading.Lock()

    # -- the Target interface ------------------------------------------------------------
    def send(self, messages: list[Message], conversation: Conversation) -> Reply:
        request = {"messages": [clean_message(m, self._clean) for m in messages]}
        found = self._answer(conversation, request, lambda: self.live.send(messages, conversation))  # type: ignore[union-attr]
        if isinstance(found, Reply):
            return found
        _raise_recorded_fault(found)
        return Reply(str(found.get("reply", "")), status=found.get("status"),
                     usage=usage_from_data(found.get("usage")), recorded_latency_ms=found.get("latency_ms"))

    def embed(self, texts: list[str], conversation: Conversation) -> Embeddings:
        request = {"input": [self._clean(text) for text in texts]}
        found = self._answer(conversation, request, lambda: self.live.embed(texts, conversation))  # type: ignore[union-attr]
        if isinstance(found, Embeddings):
            return found
        _raise_recorded_fault(found)
        return Embeddings([list(vector) for vector in found.get("vectors", [])],
                          usage=usage_from_data(found.get("usage")), recorded_latency_ms=found.get("latency_ms"))

    def end(self, conversation: Conversation) -> None:
        self.save(conversation.case_key)

    def describe(self) -> dict[str, Any]:
        return {**self._description, "cassette": {"mode": "replay" if self.mode.replaying else "record",
                                                  "folder": str(self.mode.folder), "role": self.role}}

    def cache_identity(self) -> dict[str, Any]:
        return self.live.cache_identity() if self.live is not None else super().cache_identity()

    def close(self) -> None:
        if self.live is not None:
            self.live.close()

    # -- replaying and recording ----------------------------------------------------------
    def _answer(self, conversation: Conversation, request: dict[str, Any],
                ask_live: Callable[[], Reply | Embeddings]) -> Reply | Embeddings | dict[str, Any]:
        key, run = conversation.case_key, conversation.run
        tape = self._tape(key)
        if self.mode.replaying:
            try:
                recorded = self._loaded(key, tape).get(run, [])
            except CassetteError as exc:
                raise NoRecording(str(exc)) from None
            wanted = self._comparable(request)
            match = next((exchange for exchange in recorded
                          if self._comparable(exchange.get("request", {})) == wanted), None)
            if match is not None:
                return match.get("response", {})
            if not self.mode.record_missing:
                raise NoRecording(self._missing(key, run, request))
        if self.live is None:  # cannot happen: offline replay never gets here
            raise NoRecording(self._missing(key, run, request))
        started = time.perf_counter()
        try:
            answer = ask_live()
        except TargetError as exc:
            self._keep(tape, run, request, {"latency_ms": self._since(started), **({"status": exc.status} if exc.status
                                                                                  else {}),
                                             "error": {"kind": exc.kind, "message": self._clean(str(exc))}})
            raise
        response: dict[str, Any] = {"latency_ms": self._since(started), "usage": usage_data(answer.usage)}
        if isinstance(answer, Reply):
            response.update(status=answer.status, reply=self._clean(answer.text))
        else:
            response["vectors"] = [FlowList(vector) for vector in answer.vectors]
        self._keep(tape, run, request, {k: v for k, v in response.items() if v is not None})
        return answer

    def _comparable(self, request: dict[str, Any]) -> Any:
        if "messages" in request:
            return comparable(request["messages"], self.detector)
        return [self.detector.mask(str(text)) for text in request.get("input", [])]

    def _missing(self, key: str, run: int, request: dict[str, Any]) -> str:
        path = exchange_cassette_path(self.mode.folder, key, self.role)
        asked = request.get("messages", [{}])[-1].get("content") if "messages" in request else request.get("input")
        return (f"no recorded {self.role} exchange in {path} for run {run} asking "
                f"{excerpt(self.detector.mask(str(asked)), 120)!r}; record it with --llmops-record=DIR, or add what "
                "is missing with --llmops-replay=DIR --llmops-record-missing")

    @staticmethod
    def _since(started: float) -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    def _clean(self, text: str) -> str:
        text = self.scrubber.text(text)
        return text if self.mode.keep_pii else self.detector.mask(text)

    def _tape(self, key: str) -> _Tape:
        with self._lock:
            return self._tapes.setdefault(key, _Tape())

    def _loaded(self, key: str, tape: _Tape) -> dict[int, list[dict[str, Any]]]:
        if tape.loaded is None:
            path = exchange_cassette_path(self.mode.folder, key, self.role)
            tape.loaded = load_exchanges(path) if path.exists() else {}
        return tape.loaded

    def _keep(self, tape: _Tape, run: int, request: dict[str, Any], response: dict[str, Any]) -> None:
        with tape.lock:
            kept = tape.recorded.setdefault(run, [])
            wanted = self._comparable(request)
            kept[:] = [exchange for exchange in kept if self._comparable(exchange["request"]) != wanted]
            kept.append({"request": request, "response": response})

    def save(self, key: str) -> Path | None:
        """Write the case's exchanges recorded so far (and those loaded, when completing a replay)."""
        tape = self._tape(key)
        with tape.lock:
            if not tape.recorded:
                return None
            runs = {run: list(exchanges) for run, exchanges in (tape.loaded or {}).items()}
            for run, exchanges in tape.recorded.items():
                fresh = [self._comparable(exchange["request"]) for exchange in exchanges]
                runs[run] = [old for old in runs.get(run, []) if self._comparable(old.get("request", {})) not in fresh]
                runs[run] += exchanges
            tape.loaded, tape.recorded = runs, {}
            document = {"version": CASSETTE_VERSION, "case": key, "role": self.role, "target": self._description,
                        "personal_data": "kept as sent" if self.mode.keep_pii else "masked",
                        "runs": [{"run": run, "exchanges": runs[run]} for run in sorted(runs)]}
            text = dump_cassette(document, header=HEADER.format(role=self.role))
            path = exchange_cassette_path(self.mode.folder, key, self.role)
            write_file_atomic(path, self.scrubber.text(text).encode("utf-8"), mode=0o644)
        return path


def _raise_recorded_fault(response: dict[str, Any]) -> None:
    """A fault recorded for this question is replayed as the same fault (kind, status, latency)."""
    error = response.get("error")
    if error:
        raise TargetError(str(error.get("message", "recorded fault")), kind=error.get("kind", "target_error"),
                          status=response.get("status"), recorded_latency_ms=response.get("latency_ms"))


def load_exchanges(path: Path) -> dict[int, list[dict[str, Any]]]:
    """{run: [exchange, ...]} from a judge or embeddings cassette; CassetteError naming the file for bad ones."""
    document = read_cassette_document(path)
    try:
        return {int(run["run"]): [dict(exchange) for exchange in run["exchanges"]] for run in document["runs"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise CassetteError(f"{path}: malformed run or exchange entry ({exc.__class__.__name__}: {exc})") from None


def build_exchange_cassette(name: str, role: str, settings: Settings, mode: CassetteMode, detector: PiiDetector,
                            build_live: Callable[[str, Settings], Target]) -> ExchangeCassette:
    """The judge or embedder target ``name`` wrapped for recording or replaying; offline replay builds no live one."""
    spec = target_table(name, settings)
    live = build_live(name, settings) if mode.live else None
    description = None if live is not None else {"name": name, "kind": spec.get("type", "stub")}
    return ExchangeCassette(name, role, mode, live, detector, Scrubber(environment_secrets(settings.targets)),
                            description)


__all__ = ["ExchangeCassette", "build_exchange_cassette", "exchange_cassette_path", "load_exchanges"]
