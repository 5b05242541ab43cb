"""``no_secrets``: the reply holds no API key, token or private key (on by default).

The rules live beside personal data (:mod:`pytest_llmops.pii.secrets`) because masking
hides both; this check only reports which formats turned up, never a value.
"""

from __future__ import annotations

from ..pii.secrets import SecretDetector
from ..transcript import CheckResult
from . import names


def no_secrets_check(secrets: SecretDetector, reply: str) -> CheckResult:
    """Passed when ``reply`` holds no secret; ``actual`` names the formats found (``openai_key, jwt``)."""
    found = secrets.rules_found(reply)
    actual = f"found {', '.join(found)} in reply" if found else "none found"
    return CheckResult(names.NO_SECRETS, not found, "no secrets (API keys, tokens, private keys)", actual)
