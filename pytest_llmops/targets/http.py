"""Any JSON chat endpoint: a request body template in, a reply path out.

The body template is ordinary TOML/JSON in which strings may hold placeholders:

* ``{message}``: the new user message; ``{system}``: the system prompt (or null);
* ``{history}``: earlier turns as ``[{"role": ..., "content": ...}]``;
  ``{messages}``: system prompt, history and the new message;
* ``{conversation_id}``: a fresh id per replayed conversation; ``{turn}``: 1, 2, ...;
* ``{session_id}``: the session id the bot handed out on an earlier turn (or null).

A string that is exactly one placeholder becomes that value (a list stays a list);
placeholders inside longer strings are replaced by their text. ``reply_path`` names
where the reply lives in the response JSON (``reply``, ``choices.0.message.content``).
A session id the bot returns (``session_header`` or ``session_path``) is carried to
the next turn: sent back in the same header and available as ``{session_id}``.
``usage_path`` names where the reply's token counts are (``usage``: an object with
``prompt_tokens``/``completion_tokens`` or ``input_tokens``/``output_tokens``); prices are
looked up by ``model``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from ..config import Settings
from ..errors import TargetResponseError
from ..transcript import Conversation, Reply, Usage
from ..redaction import public_url
from .base import Message
from .http_client import (HttpOptions, HttpTargetBase, check_http_url, dig, parse_json_body,
                          reply_text)

PLACEHOLDERS = ("message", "system", "history", "messages", "conversation_id", "turn", "session_id")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _placeholder_names(template: Any) -> set[str]:
    if isinstance(template, str):
        return set(PLACEHOLDER_RE.findall(template))
    if isinstance(template, dict):
        return set().union(*(_placeholder_names(v) for v in template.values())) if template else set()
    if isinstance(template, list):
        return set().union(*(_placeholder_names(v) for v in template)) if template else set()
    return set()


def render(template: Any, values: dict[str, Any]) -> Any:
    """``template`` with every placeholder filled from ``values`` (see the module docstring)."""
    if isinstance(template, str):
        whole = PLACEHOLDER_RE.fullmatch(template)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]

        def text(match: re.Match[str]) -> str:
            value = values.get(match.group(1), match.group(0))
            return value if isinstance(value, str) else json.dumps(value)

        return PLACEHOLDER_RE.sub(text, template)
    if isinstance(template, dict):
        return {key: render(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, values) for value in template]
    return template


class HttpTargetOptions(HttpOptions):
    """``[tool.llmops.targets.NAME]`` with ``type = "http"``."""

    url: str
    method: Literal["POST", "PUT", "PATCH", "GET"] = "POST"
    body: Any = Field(default_factory=lambda: {"message": "{message}", "history": "{history}"},
                      description="request JSON template (query parameters for GET)")
    reply_path: str = Field(default="reply", min_length=1)
    session_header: str | None = Field(default=None, description="response header carrying a session id")
    session_path: str | None = Field(default=None, description="response JSON path carrying a session id")
    usage_path: str | None = Field(default=None, min_length=1, description="response JSON path of the token counts")
    model: str | None = Field(default=None, min_length=1, description="the model behind it, for [tool.llmops.prices]")
    api_key_header: str = "Authorization"
    api_key_prefix: str = "Bearer "

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_http_url(url)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, method: Any) -> Any:
        return method.upper() if isinstance(method, str) else method

    @model_validator(mode="after")
    def _known_placeholders(self) -> "HttpTargetOptions":
        unknown = _placeholder_names(self.body) - set(PLACEHOLDERS)
        if unknown:
            raise ValueError(f"body: unknown placeholder(s) {', '.join('{' + n + '}' for n in sorted(unknown))}; "
                             f"known: {', '.join('{' + n + '}' for n in PLACEHOLDERS)}")
        if self.method == "GET" and not isinstance(self.body, dict):
            raise ValueError("body: a GET request sends the body template as query parameters, so it must be a table")
        return self


class HttpTarget(HttpTargetBase):
    """Sends each turn to a JSON endpoint built from a template; reads the reply from a path."""

    kind = "http"
    options_model = HttpTargetOptions

    def __init__(self, name: str, options: HttpTargetOptions, settings: Settings):
        super().__init__(name, options, settings, options.api_key_header, options.api_key_prefix)
        self.options = options

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], settings: Settings) -> "HttpTarget":
        return cls(name, HttpTargetOptions.model_validate(options), settings)

    def placeholder_values(self, messages: list[Message], session: dict[str, Any]) -> dict[str, Any]:
        """The values of every body placeholder for this turn; ``session`` is the conversation's state."""
        conversation_id = session.setdefault("conversation_id", uuid.uuid4().hex)
        session["turn"] = session.get("turn", 0) + 1
        system = next((m["content"] for m in messages if m["role"] == "system"), None)
        history = [dict(m) for m in messages[:-1] if m["role"] != "system"]
        return {"message": messages[-1]["content"], "system": system, "history": history,
                "messages": [dict(m) for m in messages], "conversation_id": conversation_id,
                "turn": session["turn"], "session_id": session.get("session_id")}

    def send(self, messages: list[Message], conversation: Conversation) -> Reply:
        options = self.options
        session = conversation.state
        body = render(options.body, self.placeholder_values(messages, session))
        headers = dict(self.headers)
        if options.session_header and session.get("session_id"):
            headers[options.session_header] = str(session["session_id"])
        if options.method == "GET":
            params = {key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()}
            url = str(httpx.URL(options.url).copy_merge_params(params))  # keeps the URL's own query
            result = self.client.request("GET", url, headers=headers)
        else:
            result = self.client.request(options.method, options.url, json=body, headers=headers)
        document = parse_json_body(result, self.client.scrub)
        self._remember_session(result.headers, document, session)
        try:
            text = reply_text(dig(document, options.reply_path), options.reply_path)
        except TargetResponseError as exc:
            raise TargetResponseError(self.client.scrub(str(exc))) from None
        return Reply(text, status=result.status, retries=result.retries, usage=self._usage(document))

    def _usage(self, document: Any) -> Usage | None:
        """The token counts at ``usage_path``; None when not configured or this response has none."""
        if not self.options.usage_path:
            return None
        try:
            return Usage.from_api(dig(document, self.options.usage_path), self.options.model)
        except TargetResponseError:
            return None

    def _remember_session(self, headers: Any, document: Any, session: dict[str, Any]) -> None:
        if self.options.session_header and headers.get(self.options.session_header):
            session["session_id"] = headers[self.options.session_header]
        if self.options.session_path:
            try:
                found = dig(document, self.options.session_path)
            except TargetResponseError:
                return  # a bot may hand out the id only on the first turn
            if found is not None:
                session["session_id"] = found

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "url": public_url(self.options.url), "method": self.options.method,
                "reply_path": self.options.reply_path}
