"""Conversation cassettes: record every exchange of a run, replay the suite offline from them.

``--llmops-record=DIR`` wraps the run's target in a :class:`CassetteTarget` that passes
each turn to the real chatbot and keeps what happened (request, reply or fault, status,
latency, time to first token). ``--llmops-replay=DIR`` answers every turn from those
files instead: no network, the same replies every time, and the latency checks judged
on the recorded latencies (marked ``(recorded)``). A case, run or turn with no matching
recording fails clearly, or with ``--llmops-record-missing`` is sent live and added.

One YAML file per case (``DIR/<file>/<case id>.yaml``), written in a fixed key order
with long replies as text blocks, so a re-recording diffs well in review. API keys and
auth headers never reach the file; personal data is masked unless ``--llmops-record-pii``
asked to keep it, and secrets a bot says are always masked (``[SECRET]``). A text longer
than ``text.STORED_TEXT_CHARS`` is stored cut, with a note saying how much was cut, and
replays as stored. A masked value is replayed as a realistic stand-in of the same kind
(:mod:`pytest_llmops.pii.stand_ins`), so the ``no_pii`` and ``no_secrets`` checks give the
verdict they gave when recorded.

A cassette is a target like any other: :class:`CassetteTarget` wraps the live target
through the same :class:`~pytest_llmops.targets.base.Target` interface, learns which case
and run a message belongs to from the :class:`~pytest_llmops.transcript.Conversation`,
and writes a case's file when one of its runs ends. A turn in which the bot called tools
keeps each round (``round: 2``, ...), with the calls, the results sent back and the
tokens each reply cost. The judge's and the embedder's exchanges for a case are kept
beside its cassette by :mod:`.exchange_cassette`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from ..config import Settings
from ..errors import CassetteError, ConfigError, NoRecording, TargetError
from ..jsonl import write_file_atomic
from ..pii import PiiDetector
from ..pii.conversation import ConversationMasker
from ..pii.detector import mask_findings
from ..pii.stand_ins import with_stand_ins
from ..redaction import Scrubber, configured_secrets
from ..text import stored_excerpt
from ..transcript import Conversation, Reply, ToolCall, Usage
from . import system_prompt, target_table
from .base import Message, Target

CASSETTE_VERSION = 1
HEADER = ("# pytest-llmops cassette: one case's recorded conversation (see docs/cassettes.md).\n"
          "# Replay offline with: pytest --llmops --llmops-replay=DIR\n")


@dataclass(frozen=True)
class CassetteMode:
    """What the cassette options asked for."""

    folder: Path
    replaying: bool
    record_missing: bool = False
    keep_pii: bool = False

    @property
    def live(self) -> bool:
        """Whether a real target is needed: recording, or filling in missing recordings."""
        return not self.replaying or self.record_missing

    def describe(self) -> str:
        if not self.replaying:
            return f"recording to {self.folder}" + (" (personal data kept)" if self.keep_pii else "")
        extra = ", recording what is missing" if self.record_missing else ", offline"
        return f"replaying from {self.folder}{extra}"


def mode_from_options(record: str | None, replay: str | None, record_missing: bool, record_pii: bool,
                      root: Path) -> CassetteMode | None:
    """The cassette mode for the command-line options, or None; ConfigError for contradictions."""
    if record and replay:
        raise ConfigError("--llmops-record and --llmops-replay cannot be combined; to add missing recordings "
                          "to a cassette folder use --llmops-replay=DIR --llmops-record-missing")
    if record_missing and not replay:
        raise ConfigError("--llmops-record-missing needs --llmops-replay=DIR (the cassettes to complete)")
    if record_pii and not (record or record_missing):
        raise ConfigError("--llmops-record-pii only applies when recording (--llmops-record=DIR or "
                          "--llmops-replay=DIR --llmops-record-missing)")
    chosen = record or replay
    if not chosen:
        return None
    folder = (root / chosen).resolve()
    if replay and not folder.is_dir():
        raise ConfigError(f"--llmops-replay {replay}: no such folder of cassettes ({folder})")
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--llmops-record {record}: {folder} exists and is not a folder")
    return CassetteMode(folder, replaying=bool(replay), record_missing=record_missing, keep_pii=record_pii)


def case_key(path: Path, case_id: str, cases_root: Path, rootpath: Path) -> str:
    """A case's name in a cassette folder: its file relative to the case folder (else the project), and id.

    The file's folders are always part of it, so two ``faq.yaml`` in different folders never
    share a cassette. A file reached through a symlinked folder keeps the path it has in the
    suite; a file outside the project keeps its path relative to the project, with each
    ``..`` written ``_up`` so the cassette stays inside the cassette folder.
    """
    return f"{_case_file_key(Path(path), cases_root, rootpath)}::{case_id}"


@functools.lru_cache(maxsize=4096)
def _case_file_key(path: Path, cases_root: Path, rootpath: Path) -> str:
    """The file part of :func:`case_key`, worked out once per file (it resolves symlinks on disk)."""
    given = Path(os.path.abspath(path))
    for candidate in (given, given.resolve()):
        for base in (cases_root, rootpath):
            if candidate.is_relative_to(base):
                return candidate.relative_to(base).as_posix()
    outside = Path(os.path.relpath(given.resolve(), rootpath)).parts
    return "/".join("_up" if part == ".." else part for part in outside)


#: longest cassette file name (well below the 255 bytes file systems allow): longer ids are cut, with a hash
MAX_FILE_NAME_CHARS = 150


def cassette_path(folder: Path, case_key: str) -> Path:
    """``support/orders.yaml::status[48212]`` -> ``folder/support/orders/status[48212].yaml``.

    A case id too long for a file name is cut and given a hash of the whole id, so it stays unique.
    """
    file_part, _, case_id = case_key.partition("::")
    stem = Path(file_part).with_suffix("")
    safe_id = re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", case_id) or "case"
    if len(safe_id) > MAX_FILE_NAME_CHARS - len(".yaml"):
        digest = hashlib.sha256(case_id.encode("utf-8")).hexdigest()[:16]
        safe_id = f"{safe_id[:MAX_FILE_NAME_CHARS - len('.yaml') - 17]}-{digest}"
    return folder / stem / f"{safe_id}.yaml"


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, so a changed reply diffs line by line."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class FlowList(list):  # type: ignore[type-arg]
    """A list written on one line (flow style): an embedding of 256 numbers is one entry, not 256 lines."""


def _represent_flow_list(dumper: yaml.SafeDumper, value: FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True)


_BlockDumper.add_representer(str, _represent_str)
_BlockDumper.add_representer(FlowList, _represent_flow_list)


def dump_cassette(document: dict[str, Any], header: str = HEADER) -> str:
    return header + yaml.dump(document, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)




def read_cassette_document(path: Path) -> dict[str, Any]:
    """A cassette file's YAML, checked to be a cassette of this version; CassetteError naming the file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CassetteError(f"{path}: cannot read cassette: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        raise CassetteError(f"{path}: not a pytest-llmops cassette (expected a mapping with a 'runs' list)")
    if document.get("version") != CASSETTE_VERSION:
        raise CassetteError(f"{path}: cassette version {document.get('version')!r} is not {CASSETTE_VERSION}; "
                            "re-record it with --llmops-record")
    return document


#: a reply's place in a run: (turn, round); round 1 answers the user, later rounds answer tool results
Step = tuple[int, int]


def load_cassette(path: Path) -> dict[int, dict[Step, dict[str, Any]]]:
    """{run: {(turn, round): interaction}} from a cassette file; CassetteError naming the file for bad ones."""
    document = read_cassette_document(path)
    runs: dict[int, dict[Step, dict[str, Any]]] = {}
    try:
        for run in document["runs"]:
            runs[int(run["run"])] = {(int(turn["turn"]), int(turn.get("round", 1))): turn for turn in run["turns"]}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CassetteError(f"{path}: malformed run or turn entry ({exc.__class__.__name__}: {exc})") from None
    return runs


def step_of(messages: list[Message]) -> Step:
    """Which reply of the conversation ``messages`` ask for: the turn (user messages so far) and the tool round."""
    turn = sum(1 for message in messages if message["role"] == "user")
    last_user = max((index for index, m in enumerate(messages) if m["role"] == "user"), default=-1)
    return turn, 1 + sum(1 for message in messages[last_user + 1:] if message["role"] == "assistant")


def describe_step(step: Step) -> str:
    turn, round_number = step
    return f"turn {turn}" + (f" (tool round {round_number})" if round_number > 1 else "")


def clean_message(message: Message, clean: Callable[[str], str]) -> dict[str, Any]:
    """A message as a cassette keeps it: text cleaned, tool calls and their ids kept, arguments cleaned."""
    kept: dict[str, Any] = {"role": message["role"], "content": None if message.get("content") is None
                            else clean(str(message["content"]))}
    if message.get("tool_calls"):
        kept["tool_calls"] = [{"id": call.get("id"), "name": call.get("function", {}).get("name"),
                               "arguments": clean(str(call.get("function", {}).get("arguments", "")))}
                              for call in message["tool_calls"]]
    if message.get("tool_call_id"):
        kept["tool_call_id"] = message["tool_call_id"]
    return kept


def usage_data(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "model": usage.model}


def usage_from_data(data: Any) -> Usage | None:
    return Usage.from_api(data, data.get("model")) if isinstance(data, dict) else None


@dataclass
class _CaseTape:
    """One case's interactions: those loaded from its file and those recorded in this run."""

    loaded: dict[int, dict[Step, dict[str, Any]]] | None = None
    recorded: dict[int, dict[Step, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class CassetteTarget(Target):
    """Wraps a live target (or none, offline) and records or replays per case, run and turn."""

    kind = "cassette"

    def __init__(self, name: str, mode: CassetteMode, live: Target | None, detector: PiiDetector,
                 scrubber: Scrubber, live_description: dict[str, Any] | None = None):
        super().__init__(name)
        self.mode = mode
        self.live = live
        self.detector = detector
        self.scrubber = scrubber
        self._live_description = live.describe() if live is not None else (live_description or {"name": name})
        self._tapes: dict[str, _CaseTape] = {}
        self._lock = threading.Lock()

    # -- the Target interface ------------------------------------------------------------
    def send(self, messages: list[Message], conversation: Conversation) -> Reply:
        turn = step_of(messages)
        masker = self.detector.conversation()  # reads the request in order, then this turn's reply
        request = self._request(messages, masker)
        if self.mode.replaying:
            key, run = conversation.case_key, conversation.run
            tape = self.tape(key)
            try:
                recorded = self.loaded(key, tape).get(run, {})
            except CassetteError as exc:
                raise NoRecording(str(exc)) from None
            interaction = recorded.get(turn)
            problem = self._mismatch(key, run, recorded, interaction, request, turn)
            if problem is None:
                return self._replayed(interaction or {}, f"{key}\x00{run}\x00{describe_step(turn)}")
            if not self.mode.record_missing:
                raise NoRecording(f"{problem}; record it with --llmops-record=DIR, or add what is missing with "
                                  "--llmops-replay=DIR --llmops-record-missing")
        return self._live(messages, conversation, turn, request, masker)

    def end(self, conversation: Conversation) -> None:
        """A run is over: write its case's cassette if this run recorded anything for it."""
        if self.live is not None:
            self.live.end(conversation)
        self.save(conversation.case_key)

    def request_headers(self) -> dict[str, str]:
        return self.live.request_headers() if self.live is not None else {}

    def describe(self) -> dict[str, Any]:
        return {**self._live_description, "cassette": {"mode": "replay" if self.mode.replaying else "record",
                                                       "folder": str(self.mode.folder),
                                                       "record_missing": self.mode.record_missing}}

    def close(self) -> None:
        if self.live is not None:
            self.live.close()

    # -- the tapes -----------------------------------------------------------------------
    def tape(self, case_key: str) -> _CaseTape:
        with self._lock:
            return self._tapes.setdefault(case_key, _CaseTape())

    def loaded(self, case_key: str, tape: _CaseTape) -> dict[int, dict[Step, dict[str, Any]]]:
        """The case's recordings on disk (read once); an unreadable file is a clear CassetteError."""
        if tape.loaded is None:
            path = cassette_path(self.mode.folder, case_key)
            tape.loaded = load_cassette(path) if path.exists() else {}
        return tape.loaded

    def save(self, case_key: str) -> Path | None:
        """Write the case's cassette with everything recorded so far; returns its path (None: nothing new).

        Runs of one case end on different threads; each writes the whole tape under its
        lock, so the last write holds every run.
        """
        tape = self.tape(case_key)
        with tape.lock:
            if not tape.recorded:
                return None
            # what the file holds: loaded from disk when replaying, else what this session saved so far
            runs = {run: dict(turns) for run, turns in (tape.loaded or {}).items()}
            for run, turns in tape.recorded.items():
                first_new = min(turns)
                kept = {t: i for t, i in runs.get(run, {}).items() if t < first_new}  # later ones are stale
                runs[run] = {**kept, **turns}
            tape.loaded, tape.recorded = runs, {}
            document = {
                "version": CASSETTE_VERSION,
                "case": case_key,
                "target": self._live_description,
                "personal_data": "kept as the bot said it" if self.mode.keep_pii else "masked",
                "runs": [{"run": run, "turns": [runs[run][turn] for turn in sorted(runs[run])]}
                         for run in sorted(runs)],
            }
            path = cassette_path(self.mode.folder, case_key)
            write_file_atomic(path, self.scrubber.text(dump_cassette(document)).encode("utf-8"), mode=0o644)
        return path

    # -- replaying -----------------------------------------------------------------------
    def _mismatch(self, case_key: str, run: int, recorded: dict[Step, Any], interaction: dict[str, Any] | None,
                  request: dict[str, Any], turn: Step) -> str | None:
        path = os.path.relpath(cassette_path(self.mode.folder, case_key))
        where = f"cassette {path}"
        if not recorded:
            runs = self.loaded(case_key, self.tape(case_key))
            if not runs:
                return f"no recording of {case_key} (no {where})"
            return f"{where} holds run(s) {', '.join(map(str, sorted(runs)))}, not run {run}"
        if interaction is None:
            return f"{where} has no {describe_step(turn)} in run {run}"
        recorded_messages = interaction.get("request", {}).get("messages")
        if comparable(recorded_messages, self.detector) != comparable(request["messages"], self.detector):
            difference = _first_difference(recorded_messages, request["messages"], self.detector)
            return f"{where}: {describe_step(turn)} was recorded for another conversation ({difference})"
        return None

    def _replayed(self, interaction: dict[str, Any], seed: str) -> Reply:
        response = interaction.get("response", {})
        latency = response.get("latency_ms")
        error = response.get("error")
        if error:
            raise TargetError(error.get("message", "recorded fault"), kind=error.get("kind", "target_error"),
                              status=response.get("status"), recorded_latency_ms=latency)
        # a masked value comes back as a realistic one of its kind: the checks judge the replay as they judged the bot
        kinds = set(response.get("pii", []))
        text = with_stand_ins(response.get("reply", ""), seed, self.detector, kinds)
        calls = response.get("tool_calls")
        tool_calls = None if not isinstance(calls, list) else [
            ToolCall(id=str(call.get("id")), name=str(call.get("name")),
                     arguments=with_stand_ins(str(call.get("arguments", "{}")), f"{seed}\x00{index}", self.detector,
                                              kinds)) for index, call in enumerate(calls)]
        return Reply(text, status=response.get("status"), ttft_ms=response.get("ttft_ms"),
                     retries=int(response.get("retries", 0)), recorded_latency_ms=latency,
                     usage=usage_from_data(response.get("usage")), tool_calls=tool_calls)

    # -- recording -----------------------------------------------------------------------
    def _request(self, messages: list[Message], masker: ConversationMasker) -> dict[str, Any]:
        request: dict[str, Any] = {"messages": [clean_message(m, lambda text: self._clean(text, masker))
                                                for m in messages]}
        headers = self.request_headers()
        if headers:
            request["headers"] = self.scrubber.headers(headers)
        return request

    def _clean(self, text: str, masker: ConversationMasker) -> str:
        """Text as a cassette stores it: personal data (and fragments of what the conversation said) masked
        unless kept, secrets always, cut past STORED_TEXT_CHARS.

        Masked before scrubbing: a key the bot said becomes [SECRET], which replays as a stand-in
        (scrubbed first it would be [REDACTED], and replay could not give the no_secrets verdict again).
        """
        if self.mode.keep_pii:  # personal data kept on request; secrets never
            text = mask_findings(text, self.detector.find_secrets(text))
        else:
            text = masker.mask(text)
        return stored_excerpt(self.scrubber.text(text))

    def _live(self, messages: list[Message], conversation: Conversation, turn: Step, request: dict[str, Any],
              masker: ConversationMasker) -> Reply:
        if self.live is None:  # cannot happen: offline replay never gets here
            raise NoRecording(f"no recording and no live target for {conversation.case_key}")
        started = time.perf_counter()
        try:
            reply = self.live.send(messages, conversation)
        except TargetError as exc:
            latency = round((time.perf_counter() - started) * 1000, 3)
            status = {"status": exc.status} if exc.status is not None else {}
            self._keep(conversation, turn, request, {**status, "latency_ms": latency,
                                                     "error": {"kind": exc.kind,
                                                               "message": self._clean(str(exc), masker)}})
            raise
        latency = round((time.perf_counter() - started) * 1000, 3)
        arguments = " ".join(call.arguments for call in reply.tool_calls or [])
        said = f"{reply.text} {arguments}"
        secrets = self.detector.find_secrets(said)
        masked = secrets if self.mode.keep_pii else [*masker.find(self.scrubber.text(said)), *secrets]
        kinds = sorted({finding.kind for finding in masked})
        response: dict[str, Any] = {"status": reply.status, "reply": self._clean(reply.text, masker),
                                    "latency_ms": latency,
                                    "ttft_ms": reply.ttft_ms, "retries": reply.retries,
                                    "usage": usage_data(reply.usage)}
        if reply.tool_calls is not None:
            response["tool_calls"] = [{"id": call.id, "name": call.name, "arguments": self._clean(call.arguments, masker)}
                                      for call in reply.tool_calls]
        if kinds:
            response["pii"] = kinds  # the kinds masked in the reply: replayed as stand-ins
        self._keep(conversation, turn, request, {key: value for key, value in response.items() if value is not None})
        return reply

    def _keep(self, conversation: Conversation, turn: Step, request: dict[str, Any], response: dict[str, Any]) -> None:
        tape = self.tape(conversation.case_key)
        where: dict[str, Any] = {"turn": turn[0]} if turn[1] == 1 else {"turn": turn[0], "round": turn[1]}
        with tape.lock:
            tape.recorded.setdefault(conversation.run, {})[turn] = {**where, "request": request, "response": response}


def comparable(messages: Any, detector: PiiDetector) -> list[tuple[Any, ...]] | None:
    """Messages as compared on replay: masked on both sides (in order, as when recorded, so fragments of
    earlier personal data are masked alike; whether or not PII was kept), call ids left out."""
    if not isinstance(messages, list):
        return None
    mask = detector.conversation().mask
    compared: list[tuple[Any, ...]] = []
    for message in messages:
        if not isinstance(message, dict):
            compared.append(("?", str(message)))
            continue
        calls = tuple((call.get("name"), mask(str(call.get("arguments"))))
                      for call in message.get("tool_calls") or [] if isinstance(call, dict))
        content = message.get("content")
        compared.append((str(message.get("role")), None if content is None else mask(str(content)), calls))
    return compared


def _first_difference(recorded: Any, current: list[dict[str, Any]], detector: PiiDetector) -> str:
    recorded = recorded if isinstance(recorded, list) else []
    for index, message in enumerate(current):
        before = recorded[index] if index < len(recorded) else None
        if comparable([before], detector) != comparable([message], detector):
            was = detector.mask(str(before.get("content")))[:80] if isinstance(before, dict) else "nothing"
            now = detector.mask(str(message.get("content")))[:80]
            return f"message {index + 1} ({message['role']}) was {was!r}, now {now!r}"
    return f"the recording has {len(recorded)} message(s), this request {len(current)}"


def build_cassette_target(name: str, settings: Settings, mode: CassetteMode, detector: PiiDetector,
                          build_live: Callable[[str, Settings], Target]) -> CassetteTarget:
    """The run's target ``name`` wrapped for recording or replaying; offline replay builds no live target.

    The wrapper carries the target's system prompt either way, so a case replayed offline
    sends the same messages it was recorded with.
    """
    if mode.live:
        live: Target | None = build_live(name, settings)
        description = None
    else:
        live = None
        description = {"name": name, "kind": target_table(name, settings).get("type", "stub")}
    target = CassetteTarget(name, mode, live, detector, Scrubber(configured_secrets(settings.targets)), description)
    target.system = live.system if live is not None else system_prompt(name, settings)
    return target


__all__ = ["CassetteMode", "CassetteTarget", "mode_from_options", "build_cassette_target", "FlowList",
           "case_key", "cassette_path", "load_cassette", "dump_cassette"]
