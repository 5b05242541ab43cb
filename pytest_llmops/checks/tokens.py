"""Tokens and what they cost: the ``max_tokens`` check, and prices from ``[tool.llmops.prices]``.

Targets report ``usage`` (prompt and completion tokens, and the model that answered)
when their API does. A price is looked up by that model's name: exactly, then without a
``provider/`` prefix (LiteLLM's ``openai/gpt-4o-mini``), then by the longest configured
name it starts with followed by ``-`` (a dated snapshot such as ``gpt-4o-mini-2024-07-18``).
"""

from __future__ import annotations

from typing import Mapping

from ..transcript import CheckResult, Usage
from . import names
from .settings import ModelPrice

PER_TOKENS = 1_000_000


def max_tokens_check(limit: int, usage: Usage | None) -> CheckResult:
    """The reply's completion tokens are at most ``limit``; a target that reports none cannot pass."""
    expected = f"<= {limit} completion tokens"
    if usage is None:
        return CheckResult(names.MAX_TOKENS, False, expected,
                           "no token usage reported (a streaming openai target needs params = {stream_options = "
                           "{include_usage = true}}, an http target usage_path; see docs/targets.md)")
    return CheckResult(names.MAX_TOKENS, usage.completion_tokens <= limit, expected,
                       f"{usage.completion_tokens} completion tokens")


class Pricing:
    """Prices by model name, and what a usage costs in US dollars."""

    def __init__(self, prices: Mapping[str, ModelPrice] | None = None):
        self.prices = dict(prices or {})

    def price_for(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        for name in (model, model.rsplit("/", 1)[-1]):
            if name in self.prices:
                return self.prices[name]
        bare = model.rsplit("/", 1)[-1]
        prefixes = [name for name in self.prices if bare.startswith(name + "-")]
        return self.prices[max(prefixes, key=len)] if prefixes else None

    def cost(self, usage: Usage) -> float | None:
        """US dollars for ``usage``; None when its model has no price."""
        price = self.price_for(usage.model)
        if price is None:
            return None
        return (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / PER_TOKENS


__all__ = ["max_tokens_check", "Pricing"]
