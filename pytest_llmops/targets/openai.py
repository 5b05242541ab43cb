"""Any OpenAI-compatible chat completions API: OpenAI, vLLM, Ollama, llama.cpp server, LiteLLM.

``POST {base_url}/chat/completions`` with the whole conversation as ``messages``
(system prompt, every earlier user message and bot reply, the new message). With
``stream = true`` the reply arrives as server-sent events and the time to the first
token is measured too. The API key is read from the environment variable named by
``api_key_env`` when the target is built; it is sent only in the Authorization header
and scrubbed from every error message.

Each reply's ``usage`` (tokens, and the model that answered) and ``tool_calls`` are
kept; tools come from the target's ``tools`` and the case's. As an embedder (``similar``)
the same target posts to ``{base_url}/embeddings``.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from pydantic import Field, field_validator

from ..config import Settings
from ..errors import TargetResponseError
from ..tools import merge_tools, tool_definitions
from ..transcript import Conversation, Embeddings, Reply, ToolCall, Usage
from ..redaction import public_url
from .base import Message
from .http_client import (HttpOptions, HttpTargetBase, body_excerpt, check_http_url, dig, parse_json_body,
                          reply_text)

REPLY_PATH = "choices.0.message.content"
MESSAGE_PATH = "choices.0.message"


class OpenAIOptions(HttpOptions):
    """``[tool.llmops.targets.NAME]`` with ``type = "openai"``."""

    base_url: str = Field(description="e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1")
    model: str = Field(min_length=1)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    params: dict[str, Any] = Field(default_factory=dict, description="more request fields (top_p, seed, ...)")
    tools: list[dict[str, Any]] = Field(default_factory=list, description="tool definitions offered with every request")

    @field_validator("base_url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_http_url(url).rstrip("/")

    @field_validator("params")
    @classmethod
    def _no_overrides(cls, params: dict[str, Any]) -> dict[str, Any]:
        reserved = {"model", "messages", "stream", "tools"} & set(params)
        if reserved:
            raise ValueError(f"params may not set {', '.join(sorted(reserved))}; use the target's own keys")
        return params

    _tools_valid = field_validator("tools")(classmethod(lambda cls, tools: tool_definitions(tools)))



class OpenAITarget(HttpTargetBase):
    """Talks to an OpenAI-compatible ``/chat/completions`` endpoint."""

    kind = "openai"
    options_model = OpenAIOptions

    def __init__(self, name: str, options: OpenAIOptions, settings: Settings):
        super().__init__(name, options, settings)
        self.options = options
        self.url = f"{options.base_url}/chat/completions"

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], settings: Settings) -> "OpenAITarget":
        return cls(name, OpenAIOptions.model_validate(options), settings)

    def request_body(self, messages: list[Message], tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The JSON sent for one turn (also what the tests check against the official openai types).

        ``tools`` are the case's tool definitions, added to the target's own.
        """
        body: dict[str, Any] = {"model": self.options.model, "messages": [dict(m) for m in messages]}
        if self.options.temperature is not None:
            body["temperature"] = self.options.temperature
        if self.options.max_tokens is not None:
            body["max_tokens"] = self.options.max_tokens
        body.update(self.options.params)
        offered = merge_tools(self.options.tools, tools or ())
        if offered:
            body["tools"] = offered
        if self.options.stream:
            body["stream"] = True
        return body

    def send(self, messages: list[Message], conversation: Conversation) -> Reply:
        body = self.request_body(messages, conversation.tools)
        if self.options.stream:
            return self._send_streaming(body)
        result = self.client.request("POST", self.url, json=body, headers=self.headers)
        document = parse_json_body(result, self.client.scrub)
        reply = self._reply_from(document)
        reply.status, reply.retries = result.status, result.retries
        return reply

    def _reply_from(self, document: Any) -> Reply:
        """A chat completion's text, tool calls and usage; a fault for an error document or a missing reply."""
        if isinstance(document, dict) and "error" in document and "choices" not in document:
            raise TargetResponseError(self.client.scrub(f"the API returned an error: {_error_text(document)}"))
        message = dig(document, MESSAGE_PATH)
        if not isinstance(message, dict):
            raise TargetResponseError(f"{MESSAGE_PATH!r} in the response JSON is not an object")
        calls = tool_calls_from(message.get("tool_calls"))
        content = message.get("content")
        if calls and (content is None or content == ""):
            text = ""  # a reply that only calls tools
        else:
            text = reply_text(dig(document, REPLY_PATH), REPLY_PATH)
        return Reply(text, usage=Usage.from_api(document.get("usage"), self._model_of(document)), tool_calls=calls)

    def _model_of(self, document: Any) -> str:
        model = document.get("model") if isinstance(document, dict) else None
        return model if isinstance(model, str) and model else self.options.model

    def _send_streaming(self, body: dict[str, Any]) -> Reply:
        events = _StreamEvents(self.client.scrub)
        result = self.client.request("POST", self.url, json=body, headers=self.headers, on_line=events.feed)
        if events.error:
            raise TargetResponseError(self.client.scrub(events.error))  # the API's own error text, too
        if not events.events and result.body.strip():
            # Not an event stream at all: a server that ignored stream=true, or garbage.
            reply = self._reply_from(parse_json_body(result, self.client.scrub))
            reply.status, reply.retries = result.status, result.retries
            return reply
        if not events.done:
            raise TargetResponseError("the event stream ended before 'data: [DONE]' (incomplete reply)")
        calls = events.tool_calls()
        text = "".join(events.parts)
        if not calls:
            text = reply_text(text, "choices.0.delta.content")
        usage = Usage.from_api(events.usage, events.model or self.options.model)
        return Reply(text, status=result.status, ttft_ms=events.ttft_ms, retries=result.retries, usage=usage,
                     tool_calls=calls)

    def embed(self, texts: list[str], conversation: Conversation) -> Embeddings:
        """``POST {base_url}/embeddings``: one vector per text, in the order given."""
        result = self.client.request("POST", f"{self.options.base_url}/embeddings",
                                     json=self.embeddings_body(texts), headers=self.headers)
        document = parse_json_body(result, self.client.scrub)
        if isinstance(document, dict) and "error" in document and "data" not in document:
            raise TargetResponseError(self.client.scrub(f"the API returned an error: {_error_text(document)}"))
        data = dig(document, "data")
        if not isinstance(data, list) or not all(isinstance(item, dict) and "embedding" in item for item in data):
            raise TargetResponseError("'data' in the embeddings response is not a list of {embedding: [...]}")
        ordered = sorted(data, key=lambda item: item.get("index", 0) if isinstance(item.get("index"), int) else 0)
        return Embeddings([item["embedding"] for item in ordered],
                          usage=Usage.from_api(document.get("usage"), self._model_of(document)))

    def embeddings_body(self, texts: list[str]) -> dict[str, Any]:
        """The JSON of an embeddings request (checked against the official openai types in the tests)."""
        return {"model": self.options.model, "input": list(texts)}

    def cache_identity(self) -> dict[str, Any]:
        """The endpoint, model and every request parameter: a cached answer is reused only for the same ones."""
        return {"kind": self.kind, "base_url": public_url(self.options.base_url), "model": self.options.model,
                "temperature": self.options.temperature, "max_tokens": self.options.max_tokens,
                "params": self.options.params}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "base_url": public_url(self.options.base_url), "model": self.options.model,
                "stream": self.options.stream}


def tool_calls_from(raw: Any) -> list[ToolCall]:
    """The ``tool_calls`` of an assistant message; arguments given as an object are kept as JSON text."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TargetResponseError("'tool_calls' in the reply is not a list")
    calls = []
    for index, item in enumerate(raw):
        function = item.get("function") if isinstance(item, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise TargetResponseError(f"tool_calls[{index}] has no function name")
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        calls.append(ToolCall(id=str(item.get("id") or f"call_{index}"), name=name, arguments=arguments))
    return calls


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
        self.usage: Any = None
        self.model: str | None = None
        self._calls: dict[int, dict[str, str]] = {}  # index -> id, name, arguments so far

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
        if isinstance(chunk, dict):
            self.usage = chunk.get("usage") or self.usage
            self.model = chunk.get("model") if isinstance(chunk.get("model"), str) else self.model
        try:
            delta = chunk["choices"][0].get("delta") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            return  # e.g. a final usage-only chunk
        content = delta.get("content") if isinstance(delta, dict) else None
        if content:
            if self.ttft_ms is None:
                self.ttft_ms = round(elapsed_ms, 3)
            self.parts.append(content)
        for call in (delta.get("tool_calls") or []) if isinstance(delta, dict) else []:
            self._add_call_part(call)

    def _add_call_part(self, part: Any) -> None:
        """A piece of a streamed tool call: its id and name come once, its arguments in pieces."""
        if not isinstance(part, dict):
            return
        index = part.get("index") if isinstance(part.get("index"), int) else len(self._calls)
        call = self._calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        function = part.get("function") if isinstance(part.get("function"), dict) else {}
        call["id"] = part.get("id") or call["id"]
        call["name"] += function.get("name") or ""
        call["arguments"] += function.get("arguments") or ""

    def tool_calls(self) -> list[ToolCall]:
        return tool_calls_from([{"id": call["id"], "function": {"name": call["name"],
                                                                "arguments": call["arguments"] or "{}"}}
                                for _, call in sorted(self._calls.items())])
