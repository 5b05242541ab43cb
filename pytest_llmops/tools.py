"""Tool calling, the case-file side: tool definitions offered to the bot and canned tool results.

A case (or the ``openai`` target) offers tools to the bot; when the bot calls one and the
case gives a canned result for it (``tool_results: {lookup_order: {status: shipped}}``),
the replay engine sends the result back as a ``tool`` message and the bot answers again,
as it would in production. Definitions may be written in OpenAI's shape
(``{type: function, function: {name, description, parameters}}``) or the short one
(``{name, description, parameters}``); both become OpenAI's shape here.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SHORT_KEYS = {"name", "description", "parameters", "strict"}


def check_json_schema(schema: Any, what: str) -> None:
    """ValueError naming ``what`` when ``schema`` is not a valid JSON Schema (jsonschema decides)."""
    import jsonschema  # imported when a case file uses a schema: not every run needs it

    if not isinstance(schema, dict):
        raise ValueError(f"{what} must be a mapping (a JSON Schema), not a {type(schema).__name__}")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        raise ValueError(f"{what} is not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else "")) \
            from None


def tool_definition(spec: Any) -> dict[str, Any]:
    """One tool definition in OpenAI's shape; ValueError saying what is wrong."""
    if not isinstance(spec, dict):
        raise ValueError(f"a tool is a mapping with a name, not a {type(spec).__name__}")
    if "function" in spec or "type" in spec:
        if spec.get("type") != "function" or not isinstance(spec.get("function"), dict) or set(spec) - {"type",
                                                                                                        "function"}:
            raise ValueError("a tool in OpenAI's shape is {type: function, function: {name, description, parameters}}")
        function = dict(spec["function"])
    else:
        function = dict(spec)
    unknown = set(function) - _SHORT_KEYS
    if unknown:
        raise ValueError(f"unknown tool key(s) {', '.join(sorted(map(repr, unknown)))}; "
                         f"a tool has {', '.join(sorted(_SHORT_KEYS))}")
    name = function.get("name")
    if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
        raise ValueError(f"tool name {name!r} must be 1-64 letters, digits, '_' or '-'")
    if "description" in function and not isinstance(function["description"], str):
        raise ValueError(f"tool {name!r}: description must be text")
    if "parameters" in function:
        check_json_schema(function["parameters"], f"tool {name!r}: parameters")
    return {"type": "function", "function": function}


def tool_definitions(specs: Iterable[Any] | None) -> list[dict[str, Any]]:
    """Every definition in OpenAI's shape; a name given twice is an error."""
    tools = [tool_definition(spec) for spec in specs or ()]
    names = [tool["function"]["name"] for tool in tools]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"tool {twice[0]!r} is defined twice")
    return tools


def merge_tools(wider: Iterable[dict[str, Any]], narrower: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``wider`` tools plus ``narrower`` ones, a narrower definition replacing a wider one of the same name."""
    merged = {tool["function"]["name"]: tool for tool in wider}
    merged.update({tool["function"]["name"]: tool for tool in narrower})
    return list(merged.values())


def tool_names(tools: Iterable[dict[str, Any]]) -> list[str]:
    return [tool["function"]["name"] for tool in tools]


def result_content(value: Any) -> str:
    """A canned result as the ``content`` of a ``tool`` message: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


__all__ = ["tool_definition", "tool_definitions", "merge_tools", "tool_names", "result_content",
           "check_json_schema", "TOOL_NAME_RE"]
