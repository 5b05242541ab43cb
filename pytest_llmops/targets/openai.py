"""Any OpenAI-compatible chat completions API: OpenAI, vLLM, Ollama, llama.cpp server, LiteLLM.

``POST {base_url}/chat/completions`` with the whole conversation as ``messages``
(system prompt, every earlier user message and bot reply, the new message). With
``stream = true`` the reply arrives as server-sent events and the time to the first
token is measured too. The API key is read from the environment variable named by
``api_key_env`` when the target is built; it is sent only in the Authorization header
and scrubbed from every error message.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from pydantic import Field, field_validator

from ..config import Settings
from ..errors import TargetResponseError
from ..transcript import Conversation, Reply
from ..redaction import public_url
from .base import Message
from .http_client import (HttpOptions, HttpTargetBase, body_excerpt, check_http_url, dig, parse_json_body,
                          reply_text)

REPLY_PATH = "choices.0.message.content"


class OpenAIOptions(HttpOptions):
    """``[tool.llmops.targets.NAME]`` with ``type = "openai"``."""

    base_url: str = Field(description="e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1")
    model: str = Field(min_length=1)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    params: dict[str, Any] = Field(default_factory=dict, description="more request fields (top_p, seed, ...)")

    @field_validator("base_url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_http_url(url).rstrip("/")

    @field_validator("params")
    @classmethod
    def _no_overrides(cls, params: dict[str, Any]) -> dict[str, Any]:
        reserved = {"model", "messages", "stream"} & set(params)
        if reserved:
            raise ValueError(f"params may not set {', '.join(sorted(reserved))}; use the target's own keys")
        return params



class OpenAITarget(HttpTargetBase):
    """Talks to an OpenAI-compatible ``/chat/completions`` endpoint."""

    kind = "openai"

    def __init__(self, name: str, options: OpenAIOptions, settings: Settings):
        super().__init__(name, options, settings)
        self.options = options
        self.url = f"{options.base_url}/chat/completions"

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], settings: Settings) -> "OpenAITarget":
        return cls(name, OpenAIOptions.model_validate(options), settings)

    def request_body(self, messages: list[Message]) -> dict[str, Any]:
        """The JSON sent for one turn (also what the tests check against the official openai types)."""
        body: dict[str, Any] = {"model": self.options.model, "messages": [dict(m) for m in messages]}
        if self.options.temperature is not None:
            body["temperature"] = self.options.temperature
        if self.options.max_tokens is not None:
            body["max_tokens"] = self.options.max_tokens
        body.update(self.options.params)
        if self.options.stream:
            body["stream"] = True
        return body

    def send(self, messages: list[Message], conversation: Conversation) -> Reply:
        if self.options.stream:
            return self._send_streaming(messages)
        result = self.client.request("POST", self.url, json=self.request_body(messages), headers=self.headers)
        document = parse_json_body(result, self.client.scrub)
        if isinstance(document, dict) and "error" in document and "choices" not in document:
            raise TargetResponseError(self.client.scrub(f"the API returned an error: {_error_text(document)}"))
        text = reply_text(dig(document, REPLY_PATH), REPLY_PATH)
        return Reply(text, status=result.status, retries=result.retries)

    def _send_streaming(self, messages: list[Message]) -> Reply:
        events = _StreamEvents(self.client.scrub)
        result = self.client.request("POST", self.url, json=self.request_body(messages), headers=self.headers,
                                     on_line=events.feed)
        if events.error:
            raise TargetResponseError(self.client.scrub(events.error))  # the API's own error text, too
        if not events.events and result.body.strip():
            # Not an event stream at all: a server that ignored stream=true, or garbage.
            document = parse_json_body(result, self.client.scrub)
            text = reply_text(dig(document, REPLY_PATH), REPLY_PATH)
            return Reply(text, status=result.status, retries=result.retries)
        if not events.done:
            raise TargetResponseError("the event stream ended before 'data: [DONE]' (incomplete reply)")
        text = reply_text("".join(events.parts), "choices.0.delta.content")
        return Reply(text, status=result.status, ttft_ms=events.ttft_ms, retries=result.retries)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "base_url": public_url(self.options.base_url), "model": self.options.model,
                "stream": self.options.stream}


def _error_text(document: dict[str, Any]) -> str:
    error = document.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


class _StreamEvents:
    """Collects ``data:`` lines of a chat completion event stream as they arrive."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        self.scrub = scrub  # applied before an excerpt is cut
        self.parts: list[str] = []
        self.events = 0
        self.done = False
        self.error: str | None = None
        self.ttft_ms: float | None = None

    def feed(self, line: str, elapsed_ms: float) -> None:
        if not line.startswith("data:") or self.done or self.error:
            return
        data = line[5:].strip()
        self.events += 1
        if data == "[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            self.error = f"malformed event in the stream: {body_excerpt(data, self.scrub)!r}"
            return
        if isinstance(chunk, dict) and "error" in chunk:
            self.error = f"the API returned an error mid-stream: {_error_text(chunk)}"
            return
        try:
            delta = chunk["choices"][0].get("delta") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            return  # e.g. a final usage-only chunk
        content = delta.get("content") if isinstance(delta, dict) else None
        if content:
            if self.ttft_ms is None:
                self.ttft_ms = round(elapsed_ms, 3)
            self.parts.append(content)
