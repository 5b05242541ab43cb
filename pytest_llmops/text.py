"""Small text helpers every output shares: cutting long text, escaping it for a terminal, writing milliseconds,
tokens and dollars."""

from __future__ import annotations

EXCERPT_CHARS = 300
#: the most of one text (a reply, a message, a fault) a stored output keeps: the case record (and so the
#: HTML report and results JSON), cassettes and the monitor log. Far above a chat reply; a longer one is cut.
STORED_TEXT_CHARS = 200_000


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def stored_excerpt(text: str) -> str:
    """``text`` as stored outputs keep it: whole up to STORED_TEXT_CHARS, else cut with a note saying so."""
    return excerpt(text, STORED_TEXT_CHARS)


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal would act on written as an escape (``\\x1b``, ``\\n``, ``\\u202e``).

    The same rule as ``repr``, which already shows replies in failure text, without the
    quotes: control characters (escape sequences that clear the screen, retitle the
    window or fake a green line), line breaks and invisible format characters such as
    bidirectional overrides. Printable text, in any script, is left as it is.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def terminal_safe_lines(text: str) -> str:
    """:func:`terminal_safe` line by line: our own multi-line messages keep their line breaks."""
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def terminal_safe_json(text: str) -> str:
    """JSON text (from ``json.dumps``) with every non-printable character written as a ``\\u`` escape.

    The same JSON, safe on a terminal: ``json.dumps`` escapes C0 controls but leaves C1
    controls and bidirectional overrides raw inside strings. Its own line breaks stay.
    """
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or char == "\n":
            out.append(char)
            continue
        code = ord(char)
        if code > 0xFFFF:  # outside the basic plane: a surrogate pair, as JSON spells it
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


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

