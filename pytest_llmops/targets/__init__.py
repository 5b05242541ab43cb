"""Building targets by name from settings: the stub, and each kind registered in KINDS."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import ValidationError

from ..config import Settings
from ..errors import ConfigError
from .base import Message, Target
from .stub import StubTarget
from .http import HttpTarget
from .openai import OpenAITarget
from .python import PythonTarget

#: kind name -> factory(name, options, settings) -> Target
KINDS: dict[str, Callable[[str, dict[str, Any], Settings], Target]] = {
    "stub": lambda name, options, settings: StubTarget.from_options(name, options),
    "openai": OpenAITarget.from_options,
    "http": HttpTarget.from_options,
    "python": PythonTarget.from_options,
}


def build_target(name: str, settings: Settings) -> Target:
    """The target called ``name``: one of ``[tool.llmops.targets]``, or ``stub`` for the built-in bot.

    Raises ConfigError (before anything runs) for unknown names or bad options.
    """
    spec = settings.targets.get(name)
    if spec is None:
        if name == "stub":
            spec = {"type": "stub"}
        else:
            known = sorted({"stub", *settings.targets})
            raise ConfigError(f"unknown target {name!r}; known targets: {', '.join(known)} "
                              "(define more under [tool.llmops.targets.NAME])")
    options = dict(spec)
    kind = options.pop("type", "stub")
    factory = KINDS.get(kind)
    if factory is None:
        raise ConfigError(f"target {name!r}: unknown type {kind!r}; known types: {', '.join(sorted(KINDS))}")
    try:
        return factory(name, options, settings)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConfigError(f"target {name!r}: {problems}") from None


__all__ = ["Target", "Message", "StubTarget", "OpenAITarget", "HttpTarget", "PythonTarget", "build_target", "KINDS"]
