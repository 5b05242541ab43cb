"""The chatbots a run can talk to, built by name from settings.

* :mod:`.base`: the :class:`Target` interface (``send``, ``end``, ``describe``, ``close``);
* :mod:`.stub`: the built-in support bot; :mod:`.stub_server`: the same bot over HTTP (``llmops serve-stub``);
* :mod:`.http_client`: what the HTTP kinds share (deadlines, retries, fault mapping);
* :mod:`.openai`, :mod:`.http`, :mod:`.python`: one module per kind;
* :mod:`.cassette`: recording and replaying any target.

Add a kind: a module with a ``Target`` subclass and ``from_options``, then an entry in KINDS.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from pydantic import ValidationError

from ..config import Settings
from ..errors import ConfigError
from ..validation import one_line
from .base import Message, Target
from .stub import StubTarget

Factory = Callable[[str, dict[str, Any], Settings], Target]

# Where each kind lives. They are imported only when a target of that kind is built: the
# plugin loads in every pytest run, and httpx with httpcore alone take ~0.15 s to import.
_LAZY_KINDS = {"openai": (".openai", "OpenAITarget"), "http": (".http", "HttpTarget"),
               "python": (".python", "PythonTarget")}


def _lazy_factory(module: str, class_name: str) -> Factory:
    def factory(name: str, options: dict[str, Any], settings: Settings) -> Target:
        return getattr(importlib.import_module(module, __name__), class_name).from_options(name, options, settings)
    return factory


#: kind name -> factory(name, options, settings) -> Target
KINDS: dict[str, Factory] = {
    "stub": lambda name, options, settings: StubTarget.from_options(name, options),
    **{kind: _lazy_factory(module, class_name) for kind, (module, class_name) in _LAZY_KINDS.items()},
}


def __getattr__(name: str) -> Any:
    """``from pytest_llmops.targets import OpenAITarget`` still works, importing on first use."""
    for module, class_name in _LAZY_KINDS.values():
        if name == class_name:
            return getattr(importlib.import_module(module, __name__), class_name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        raise ConfigError(f"target {name!r}: {one_line(exc, unknown='Extra inputs are not permitted')}") from None


__all__ = ["Target", "Message", "StubTarget", "OpenAITarget", "HttpTarget", "PythonTarget", "build_target", "KINDS"]
