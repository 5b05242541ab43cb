"""The names of the checks, and the categories the monitor, alerts and reports group them in.

A check's name is what a case file's ``expect`` key, a failure line, a JUnit property,
the results JSON and the monitor log all call it, so it is written here once.
"""

from __future__ import annotations

#: the check a turn gets when the chatbot gave no reply at all (a fault)
REPLY = "reply"
NO_ERROR = "no_error"
NO_PII = "no_pii"
MAX_LATENCY_MS = "max_latency_ms"
MAX_TTFT_MS = "max_ttft_ms"
CONTAINS = "contains"
NOT_CONTAINS = "not_contains"
MATCHES = "matches"
NOT_MATCHES = "not_matches"
EQUALS = "equals"
SAVE = "save"
NO_SECRETS = "no_secrets"
NO_SYSTEM_PROMPT_LEAK = "no_system_prompt_leak"
REFUSAL = "refusal"
JUDGE = "judge"  # a rubric graded by the judge target (checks/judge.py)
SIMILAR = "similar"  # embedding similarity (checks/similarity.py)
TOOL_CALLS = "tool_calls"  # calls the bot made (checks/tools.py)
NO_TOOL_CALLS = "no_tool_calls"
JSON = "json"  # the reply is JSON, maybe of a schema (checks/structured.py)
MAX_TOKENS = "max_tokens"  # completion tokens of the reply (checks/tokens.py)

#: the checks that spend tokens of their own, and whose account they are counted in
TOKEN_ACCOUNT_OF_CHECK = {JUDGE: "judge", SIMILAR: "embeddings", REFUSAL: "judge"}  # refusal: when judged

#: every finding falls into one of these categories; ``--fail-on``, alerts and summaries speak in them.
#: A secret is its own category, not "pii": a leaked key is an incident of another kind (rotate the
#: key, not notify a person), and an alert on it must not be drowned in personal-data findings. A
#: reply that reproduces the system prompt or its canary is "prompt_leak": a security finding
#: about the bot's instructions, not about anyone's data. Whether a reply refused is "content".
CATEGORIES = ("pii", "error", "latency", "content", "secret", "prompt_leak")  # new ones last: outputs keep their order
_CATEGORY_OF_CHECK = {NO_PII: "pii", NO_SECRETS: "secret", NO_SYSTEM_PROMPT_LEAK: "prompt_leak",
                      NO_ERROR: "error", REPLY: "error", MAX_LATENCY_MS: "latency"}
#: categories the monitor logs at ERROR level (the others at WARNING)
SEVERE_CATEGORIES = frozenset({"pii", "secret", "prompt_leak", "error"})

#: reply text that counts as an error unless ``error_phrases`` in ``[tool.llmops]`` says otherwise
DEFAULT_ERROR_PHRASES = (
    "an error occurred",
    "an error has occurred",
    "internal server error",
    "something went wrong",
    "service unavailable",
    "traceback (most recent call last)",
)


def category_of(check: str) -> str:
    """The category of a failed check: pii, secret, prompt_leak, error, latency, or content (every other check)."""
    return _CATEGORY_OF_CHECK.get(check, "content")


def is_error_check(check: str) -> bool:
    """True for the checks that say the chatbot failed (no reply, or an error phrase in it)."""
    return check in (REPLY, NO_ERROR)
