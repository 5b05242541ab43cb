"""The feedback record: what a user or reviewer reported about a conversation, stored safely.

One record is one JSON line in the feedback file (``feedback.jsonl`` by default), appended
through :mod:`pytest_llmops.jsonl` (file lock, one write, flushed). ``id``, ``timestamp``
(ISO 8601 UTC) and ``user_id`` are top-level fields because privacy tooling erases and
exports by user and purges by age. Data minimisation happens here, before anything is
stored: a user id that is an email address or phone number is refused, personal data in
free text is masked (unless the reporter gives a reason to keep it), and the user id is
pseudonymised when ``[tool.llmops.privacy] pseudonymize = true``.

``docs/feedback.schema.json`` is :meth:`FeedbackRecord.model_json_schema` written out.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Mapping, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import jsonl
from ..clock import iso_z
from ..config import Settings, load_settings
from ..errors import ConfigError, FeedbackError
from ..pii import PiiDetector
from ..pii.storage import storage_detector
from ..pseudonym import Pseudonymizer, is_pseudonym
from ..validation import one_line

SCHEMA_VERSION = 1
FeedbackType = Literal["wrong_answer", "pii_leak", "slow", "error", "unhelpful", "praise", "other"]
FEEDBACK_TYPES: tuple[str, ...] = get_args(FeedbackType)
TYPE_HELP = {
    "wrong_answer": "the reply was wrong",
    "pii_leak": "the reply showed personal data",
    "slow": "the reply took too long",
    "error": "the bot failed or replied with an error",
    "unhelpful": "correct but not helpful",
    "praise": "it went well",
    "other": "anything else",
}
MAX_TEXT_CHARS = 20_000
#: the kinds whose presence makes a user id identifying (data minimisation)
IDENTIFYING_KINDS = ("email", "phone")
_ENOUGH_DIGITS_FOR_A_PHONE = re.compile(r"(?:\D*\d){7}")  # no phone number format we detect has fewer digits
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
TARGET_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$"


class ConversationTurn(BaseModel):
    """One turn of the conversation the feedback is about: what the user said and what came back."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the user's message")
    reply: str | None = Field(default=None, max_length=MAX_TEXT_CHARS, description="the bot's reply, if any")
    latency_ms: float | None = Field(default=None, ge=0, description="how long the reply took")
    error: str | None = Field(default=None, max_length=MAX_TEXT_CHARS, description="the fault, if there was no reply")


def new_feedback_id() -> str:
    return f"fb-{uuid.uuid4().hex}"


class FeedbackRecord(BaseModel):
    """One piece of feedback, as stored: one JSON object on one line."""

    model_config = ConfigDict(extra="forbid", title="pytest-llmops feedback record")

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="version of this record format")
    id: str = Field(default_factory=new_feedback_id, pattern=ID_PATTERN, description="unique id of the record")
    timestamp: str = Field(default_factory=iso_z, json_schema_extra={"format": "date-time"},
                           description="when it was recorded, ISO 8601 in UTC (e.g. 2026-11-25T10:41:31.123456Z)")
    user_id: str = Field(min_length=1, max_length=200,
                         description="non-identifying internal id of the reporter (or its pseudonym); "
                                     "never an email address or phone number")
    type: FeedbackType = Field(description="what kind of feedback this is")
    message: str = Field(default="", max_length=MAX_TEXT_CHARS,
                         description="the description, with personal data masked unless pii_kept_reason is set")
    conversation: list[ConversationTurn] | None = Field(default=None, description="the conversation, if attached")
    turn: int | None = Field(default=None, ge=1, description="1-based turn the feedback is about (default: the last)")
    expected: str | None = Field(default=None, max_length=MAX_TEXT_CHARS,
                                 description="the right answer, as the reviewer gives it (wrong_answer)")
    bad_text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS,
                                 description="the wrong part of the reply (wrong_answer; default: the whole reply)")
    source: str | None = Field(default=None, max_length=500,
                               description="where the conversation came from, e.g. results.json::case-id or ui")
    system: str | None = Field(default=None, max_length=MAX_TEXT_CHARS,
                               description="the system prompt the conversation had (masked like the turns)")
    target: str | None = Field(default=None, pattern=TARGET_PATTERN,
                               description="the [tool.llmops.targets] name the conversation was pinned to")
    pii_kept_reason: str | None = Field(default=None, max_length=500,
                                        description="set when personal data was kept in the text on purpose: why")

    @field_validator("timestamp")
    @classmethod
    def _iso_utc(cls, value: str) -> str:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 date and time, e.g. 2026-11-25T10:41:31Z") from None
        offset = moment.utcoffset()  # once: this runs for every record read
        if offset is None or offset.total_seconds() != 0:
            raise ValueError("must be in UTC (end with Z or +00:00)")
        return value

    @field_validator("user_id")
    @classmethod
    def _not_identifying(cls, value: str) -> str:
        check_user_id(value)
        return value

    @model_validator(mode="after")
    def _turn_in_conversation(self) -> "FeedbackRecord":
        if self.turn is not None:
            if not self.conversation:
                raise ValueError("turn is set but no conversation is attached")
            if self.turn > len(self.conversation):
                raise ValueError(f"turn {self.turn} is beyond the {len(self.conversation)}-turn conversation")
        return self

    def reported_turn(self) -> int | None:
        """The 1-based turn this feedback is about: the one named, else the last; None without a conversation."""
        if not self.conversation:
            return None
        return self.turn or len(self.conversation)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


STORED_ALWAYS = ("schema_version", "id", "timestamp", "user_id", "type", "message")
SCHEMA_ID = "https://pytest-llmops.invalid/schemas/feedback.schema.json"


def feedback_json_schema() -> dict[str, Any]:
    """The published JSON Schema of one record (docs/feedback.schema.json is this, written out)."""
    schema = FeedbackRecord.model_json_schema()
    schema["required"] = list(STORED_ALWAYS)  # fields with defaults are still always written
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


_IDENTIFYING = PiiDetector(IDENTIFYING_KINDS)


def check_user_id(user_id: str) -> None:
    """Refuse a user id that identifies a person. The message never repeats the id."""
    if not user_id.strip():
        raise ValueError("user id is empty")
    if ("@" not in user_id and not _ENOUGH_DIGITS_FOR_A_PHONE.match(user_id)) or is_pseudonym(user_id):
        return  # cannot be an email address or a phone number: skip the regexes (read path speed)
    found = _IDENTIFYING.find(user_id)
    if found:
        kind = "an email address" if found[0].kind == "email" else "a phone number"
        raise ValueError(f"user id looks like {kind}; store a non-identifying internal id (such as u-1042) "
                         "instead of contact details (data minimisation)")
    if any(ch.isspace() for ch in user_id):
        raise ValueError("user id must not contain spaces; use a non-identifying internal id such as u-1042")


def conversation_turns(data: Iterable[Any]) -> list[ConversationTurn]:
    """Turns from what callers have at hand: ConversationTurn, dicts with user/reply (or bot/assistant),
    transcript exchanges (``Exchange`` or its dict), or (user, reply) pairs."""
    turns = []
    for item in data:
        if isinstance(item, ConversationTurn):
            turns.append(item)
            continue
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            item = dataclasses.asdict(item)  # a transcript's Exchange
        if isinstance(item, (tuple, list)) and len(item) == 2:
            item = {"user": item[0], "reply": item[1]}
        if not isinstance(item, Mapping):
            raise FeedbackError(f"conversation turn {len(turns) + 1}: expected a mapping with 'user', "
                                f"got {type(item).__name__}")
        reply = next((item[k] for k in ("reply", "bot", "assistant") if item.get(k) is not None), None)
        fields = {"user": item.get("user"), "reply": reply,
                  "latency_ms": item.get("latency_ms"), "error": item.get("error")}
        try:
            turns.append(ConversationTurn.model_validate(fields))
        except ValidationError as exc:
            raise FeedbackError(f"conversation turn {len(turns) + 1}: {one_line(exc, whole='record')}") from None
    return turns


def minimise(record: FeedbackRecord, detector: PiiDetector) -> FeedbackRecord:
    """The record with personal data in every free-text field masked (the one masking function).

    One masker reads the whole record first, so a fragment of personal data said anywhere
    in it (a reply cut off after ``415-555-01``) is masked wherever it stands.
    """
    if record.pii_kept_reason:
        return record
    conversation = detector.conversation()
    texts = [record.system, record.message, record.expected, record.bad_text, record.source]
    for turn in record.conversation or ():
        texts += [turn.user, turn.reply, turn.error]
    for text in texts:
        if text is not None:
            conversation.find(text)

    def mask(text: str | None) -> str | None:
        return None if text is None else conversation.mask(text)

    turns = None
    if record.conversation is not None:
        turns = [turn.model_copy(update={"user": mask(turn.user), "reply": mask(turn.reply), "error": mask(turn.error)})
                 for turn in record.conversation]
    return record.model_copy(update={
        "message": mask(record.message),
        "conversation": turns,
        "expected": mask(record.expected),
        "bad_text": mask(record.bad_text),
        "source": mask(record.source),
        "system": mask(record.system),
    })


@dataclass
class FeedbackStore:
    """A feedback file plus the project's minimisation policy. Build once, record many times.

    Safe to share between threads and processes: every append takes the file's lock.
    """

    path: Path
    detector: PiiDetector
    pseudonymizer: Pseudonymizer | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None, path: Path | str | None = None,
                      environ: Mapping[str, str] | None = None) -> "FeedbackStore":
        """The store of a project: the file from ``[tool.llmops.privacy] feedback`` (default
        feedback.jsonl in the project root) unless ``path`` is given, its allowlist and pseudonym policy."""
        settings = settings or load_settings()
        path = default_feedback_file(settings) if path is None else Path(path)
        return cls(path, storage_detector(settings), Pseudonymizer.from_privacy(settings.privacy, environ))

    def build(self, type: str, message: str = "", *, user_id: str, conversation: Iterable[Any] | None = None,
              turn: int | None = None, expected: str | None = None, bad_text: str | None = None,
              source: str | None = None, keep_pii_reason: str | None = None, system: str | None = None,
              target: str | None = None) -> FeedbackRecord:
        """A validated, minimised record (not yet stored). Raises FeedbackError naming the bad field."""
        if keep_pii_reason is not None and not keep_pii_reason.strip():
            raise FeedbackError("keeping personal data needs a reason (keep_pii_reason / --keep-pii REASON)")
        try:
            check_user_id(user_id)
        except ValueError as exc:
            raise FeedbackError(str(exc)) from None
        stored_id = self.pseudonymizer.for_storage(user_id) if self.pseudonymizer else user_id
        turns = conversation_turns(conversation) if conversation is not None else None
        try:
            record = FeedbackRecord(user_id=stored_id, type=type, message=message, conversation=turns or None,
                                    turn=turn, expected=expected, bad_text=bad_text, source=source,
                                    pii_kept_reason=keep_pii_reason, system=system or None, target=target or None)
            # validated again once masked: what is stored must read back as a valid record
            return FeedbackRecord.model_validate(minimise(record, self.detector).model_dump())
        except ValidationError as exc:
            raise FeedbackError(one_line(exc, whole="record")) from None

    def append(self, record: FeedbackRecord) -> FeedbackRecord:
        """Append one record: lock, one write, flush."""
        jsonl.append_record(self.path, record.to_json_dict())
        return record

    def record(self, type: str, message: str = "", **fields: Any) -> FeedbackRecord:
        """Build, minimise and append one record; returns what was stored."""
        return self.append(self.build(type, message, **fields))


def default_feedback_file(settings: Settings) -> Path:
    """The file new feedback goes to: the first ``[tool.llmops.privacy] feedback`` entry, in the project root."""
    entries = settings.privacy.feedback
    if not entries or any(char in entries[0] for char in "*?["):
        raise ConfigError("[tool.llmops.privacy] feedback: the first entry must be a file path (feedback is "
                          f"written there), not {'a pattern' if entries else 'missing'}")
    return Path(settings.root) / entries[0]


def record_feedback(type: str, message: str = "", *, user_id: str, conversation: Iterable[Any] | None = None,
                    turn: int | None = None, expected: str | None = None, bad_text: str | None = None,
                    source: str | None = None, keep_pii_reason: str | None = None, system: str | None = None,
                    target: str | None = None, path: Path | str | None = None,
                    settings: Settings | None = None) -> FeedbackRecord:
    """Record one piece of feedback (e.g. a thumbs-down in the chat UI) and return the stored record.

    ``path`` defaults to the project's feedback file. ``system`` and ``target`` are the
    system prompt and the target the conversation ran with: a regression case made from
    the feedback replays under them. Services recording often should build a
    :class:`FeedbackStore` once instead; this reads the project settings each call.
    """
    store = FeedbackStore.from_settings(settings, path)
    return store.record(type, message, user_id=user_id, conversation=conversation, turn=turn,
                        expected=expected, bad_text=bad_text, source=source, keep_pii_reason=keep_pii_reason,
                        system=system, target=target)


@dataclass
class BadRecord:
    """A line of the feedback file that is not a valid record: its number and why (never its content)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def iter_feedback(path: Path | str) -> Iterator[tuple[int, FeedbackRecord | BadRecord]]:
    """Every non-blank line of the feedback file as (line number, record or BadRecord); never stops early.

    Appends made while reading are left for the next read (never seen half-written).
    pydantic parses and validates each line in one step (about half the time of json.loads and then
    validating); a line it refuses is read again the slow way, which gives the same record (JSON that
    only Python's parser takes, such as ``Infinity``) or says why it is bad, as before."""
    for number, raw in jsonl.iter_raw_lines(path, upto=jsonl.settled_size(path)):
        try:
            yield number, FeedbackRecord.model_validate_json(raw)
        except ValidationError:
            yield number, _record_or_bad(jsonl.parse_line(number, raw))


def _record_or_bad(line: jsonl.Line) -> FeedbackRecord | BadRecord:
    """A parsed line as a record, or why it is not one (the line's number, never its content)."""
    if line.record is None:
        return BadRecord(line.number, line.bad.reason if line.bad else "unreadable")
    try:
        return FeedbackRecord.model_validate(line.record)
    except ValidationError as exc:
        return BadRecord(line.number, f"not a feedback record ({one_line(exc, whole='record')})")


def read_feedback(path: Path | str) -> tuple[list[FeedbackRecord], list[BadRecord]]:
    """All valid records of the feedback file and the bad lines. A missing file is a FeedbackError."""
    path = Path(path)
    if not path.is_file():
        raise FeedbackError(f"{path}: no such feedback file")
    records: list[FeedbackRecord] = []
    bad: list[BadRecord] = []
    with jsonl.collector_paused():  # 100,000 records: 3x faster
        for _, item in iter_feedback(path):
            (records if isinstance(item, FeedbackRecord) else bad).append(item)  # type: ignore[arg-type]
    return records, bad



__all__ = ["FeedbackRecord", "ConversationTurn", "FeedbackStore", "FeedbackError", "BadRecord",
           "FEEDBACK_TYPES", "TYPE_HELP", "record_feedback", "read_feedback", "iter_feedback",
           "check_user_id", "default_feedback_file", "feedback_json_schema", "conversation_turns", "minimise"]
