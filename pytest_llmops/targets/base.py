"""The target interface: how a conversation reaches a chatbot.

Modelled on httpx's transport: one method, ``send``, that takes the whole message list
(system prompt, earlier turns, the new user message) and returns a
:class:`~pytest_llmops.transcript.Reply` or raises a
:class:`~pytest_llmops.errors.TargetError`. Targets know nothing of checks. A target
may wrap another (cassettes record or replay whatever target they wrap) through the
same two methods, so the replay engine never asks what kind of target it holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, NotRequired, TypedDict

from pydantic import BaseModel

from ..errors import TargetError, TargetResponseError
from ..redaction import public_description
from ..transcript import Conversation, Embeddings, Reply


def reply_too_large(limit: int) -> TargetResponseError:
    """The fault of a reply over ``limit`` bytes (``max_reply_bytes``), whatever kind of target sent it."""
    return TargetResponseError(f"reply larger than {limit} bytes (max_reply_bytes); the rest was not read")


def check_reply_size(text: str, limit: int) -> str:
    """``text`` if its UTF-8 form fits in ``limit`` bytes, else the ``reply_too_large`` fault.

    Counting characters first spares encoding a huge text: UTF-8 never has fewer bytes than characters.
    """
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise reply_too_large(limit)
    return text


class Message(TypedDict):
    role: str  # "system", "user", "assistant" or "tool"
    content: str | None  # None only for an assistant message that only calls tools
    tool_calls: NotRequired[list[dict[str, Any]]]  # an assistant's calls, OpenAI's shape
    tool_call_id: NotRequired[str]  # a tool message: the call it answers


class Target(ABC):
    """A chatbot the suite can talk to. Implementations must be safe to call from many threads."""

    #: the kind of target ("stub", "openai", ...), shown in reports
    kind: str = "target"
    #: the model validating this kind's options (its fields are the options a typo is matched against)
    options_model: ClassVar[type[BaseModel] | None] = None
    #: the chatbot's system prompt from the target's table (``system = "..."``); a case or file overrides it
    system: str | None = None

    def __init__(self, name: str):
        self.name = name

    @abstractmethod
    def send(self, messages: list[Message], conversation: Conversation) -> Reply:
        """Reply to the last user message of ``messages``.

        ``conversation`` says which run of which case this is and carries state private
        to that run (e.g. a session id from one turn to the next).
        """

    def embed(self, texts: list[str], conversation: Conversation) -> Embeddings:
        """One embedding vector per text, for the ``similar`` check; kinds that cannot embed say so."""
        raise TargetError(f"target {self.name!r} ({self.kind}) cannot embed texts; "
                          "use an openai, python or stub target as the embedder")

    def cache_identity(self) -> dict[str, Any]:
        """What its answers depend on (model, parameters), never a secret: part of every cache key."""
        return public_description(self.describe())

    def end(self, conversation: Conversation) -> None:
        """The run ``conversation`` is over (no more turns will be sent); cassettes save here."""

    def request_headers(self) -> dict[str, str]:
        """Headers sent with every request (cassettes record them, secrets redacted); none by default."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What reports may show about this target: never a secret."""
        return {"name": self.name, "kind": self.kind}

    def close(self) -> None:
        """Release connections; called once when the run ends."""
