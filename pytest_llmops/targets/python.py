"""A chatbot that is a Python callable: ``callable = "package.module:function"``.

The callable receives the message list (system prompt, earlier turns, the new user
message, each ``{"role": ..., "content": ...}``) and returns the reply text, or a dict
with ``text`` (and optionally ``ttft_ms`` and ``usage``). It may be a plain function or
``async def``. As an embedder (``[tool.llmops.embeddings]``) the callable receives a list
of texts and returns one vector (a list of numbers) per text.
Modules are imported relative to the project root. An exception raised by the
callable is a fault of that turn, and a call that does not return within the timeout
is a timeout finding: the call is left to finish on its own daemon thread, since
Python cannot stop a running function.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..config import DEFAULT_MAX_REPLY_BYTES, Settings
from ..errors import ConfigError, TargetError, TargetResponseError, TargetTimeout
from ..transcript import Conversation, Embeddings, Reply, Usage
from .base import Message, Target, check_reply_size

CALLABLE_RE = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


class PythonOptions(BaseModel):
    """``[tool.llmops.targets.NAME]`` with ``type = "python"``."""

    model_config = ConfigDict(extra="forbid")

    callable: str = Field(pattern=CALLABLE_RE, description="module:function")
    timeout_s: float | None = Field(default=None, gt=0)
    max_reply_bytes: int | None = Field(default=None, ge=1, description="largest reply text, in UTF-8 bytes "
                                                                       "(default: max_reply_bytes)")

    @field_validator("callable", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


def load_callable(spec: str, root: Path) -> Callable[..., Any]:
    """Import ``module:attr.attr`` with ``root`` on the import path; ConfigError if it cannot."""
    module_name, _, attribute = spec.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as exc:  # an import error of any kind is the user's configuration
        raise ConfigError(f"cannot import {module_name!r} for callable {spec!r}: "
                          f"{exc.__class__.__name__}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ConfigError(f"callable {spec!r}: {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        raise ConfigError(f"callable {spec!r} is a {type(found).__name__}, not callable")
    return found


class PythonTarget(Target):
    """Calls a Python function (sync or async) for every turn."""

    kind = "python"
    options_model = PythonOptions

    def __init__(self, name: str, function: Callable[..., Any], spec: str, timeout_s: float,
                 max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES):
        super().__init__(name)
        self.function = function
        self.spec = spec
        self.timeout_s = timeout_s
        self.max_reply_bytes = max_reply_bytes
        self.is_async = inspect.iscoroutinefunction(function)

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], settings: Settings) -> "PythonTarget":
        parsed = PythonOptions.model_validate(options)
        try:
            function = load_callable(parsed.callable, settings.root)
        except ConfigError as exc:
            raise ConfigError(f"target {name!r}: {exc}") from None
        return cls(name, function, parsed.callable, parsed.timeout_s or settings.timeout_s,
                   parsed.max_reply_bytes or settings.max_reply_bytes)

    def send(self, messages: list[Message], conversation: Conversation) -> Reply:
        reply = _as_reply(self._call([dict(m) for m in messages]), self.spec)  # a copy: the bot may not change our history
        check_reply_size(reply.text, self.max_reply_bytes)
        return reply

    def embed(self, texts: list[str], conversation: Conversation) -> Embeddings:
        vectors = self._call(list(texts))
        if not isinstance(vectors, list):
            raise TargetResponseError(f"{self.spec} returned {type(vectors).__name__}, expected a list of vectors")
        return Embeddings(vectors)

    def _call(self, argument: Any) -> Any:
        """Call the function with ``argument`` on its own thread, within the timeout."""
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def call() -> None:
            try:
                result = self.function(argument)
                if inspect.isawaitable(result):
                    result = asyncio.run(_awaited(result))
                outcome["value"] = result
            except BaseException as exc:  # reported as the turn's fault
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=call, name=f"llmops-python-{self.name}", daemon=True).start()
        if not finished.wait(self.timeout_s):
            raise TargetTimeout(f"{self.spec} did not return within {self.timeout_s:g} s")
        if "error" in outcome:
            error = outcome["error"]
            raise TargetError(f"{self.spec} raised {error.__class__.__name__}: {error}")
        return outcome["value"]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "callable": self.spec}


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _as_reply(value: Any, spec: str) -> Reply:
    """A callable's return value as a Reply: text, or a dict with ``text``."""
    if isinstance(value, dict):
        if "text" not in value:
            raise TargetResponseError(f"{spec} returned a dict without 'text' (keys: {', '.join(map(str, value))})")
        text, ttft, usage = value["text"], value.get("ttft_ms"), Usage.from_api(value.get("usage"), value.get("model"))
    else:
        text, ttft, usage = value, None, None
    if not isinstance(text, str):
        raise TargetResponseError(f"{spec} returned {type(text).__name__}, expected str or a dict with 'text'")
    if not text.strip():
        raise TargetResponseError(f"{spec} returned an empty reply")
    return Reply(text, ttft_ms=float(ttft) if isinstance(ttft, (int, float)) else None, usage=usage)
