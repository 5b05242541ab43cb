"""The target interface: how a conversation reaches a chatbot.

Modelled on httpx's transport: one method, ``send``, that takes the whole message list
(system prompt, earlier turns, the new user message) and returns a :class:`Reply` or
raises a :class:`~pytest_llmops.errors.TargetError`. Targets know nothing of checks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, TypedDict

from ..transcript import Reply


class Message(TypedDict):
    role: str  # "system", "user" or "assistant"
    content: str


class Target(ABC):
    """A chatbot the suite can talk to. Implementations must be safe to call from many threads."""

    #: the kind of target ("stub", "openai", ...), shown in reports
    kind: str = "target"

    def __init__(self, name: str):
        self.name = name

    @abstractmethod
    def send(self, messages: list[Message], session: dict[str, Any]) -> Reply:
        """Reply to the last user message of ``messages``.

        ``session`` is a dict private to one conversation (e.g. to carry a session id
        from one turn to the next); it starts empty for every replay.
        """

    def describe(self) -> dict[str, Any]:
        """What reports may show about this target: never a secret."""
        return {"name": self.name, "kind": self.kind}

    def close(self) -> None:
        """Release connections; called once when the run ends."""
