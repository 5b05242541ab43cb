"""Small text helpers every output shares: cutting long text, writing milliseconds, tokens and dollars."""

from __future__ import annotations

EXCERPT_CHARS = 300


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def format_ms(value: float | None, *, unit: bool = True, missing: str = "-") -> str:
    """Milliseconds as people read them: ``1,234 ms`` from 100 up, ``12.3 ms`` below; ``missing`` for None."""
    if value is None:
        return missing
    number = f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    return f"{number} ms" if unit else number


def quote_list(items: list[str]) -> str:
    """``"a", "b"``: the strings a check looked for, as a failure line shows them."""
    return ", ".join(f'"{item}"' for item in items)


def format_usd(value: float | None, *, missing: str = "no price") -> str:
    """US dollars as people read them: ``$12.35``, ``$0.0123``, ``$0.000042``; ``missing`` for None."""
    if value is None:
        return missing
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.4f}" if value >= 0.01 else f"${value:.6f}"

