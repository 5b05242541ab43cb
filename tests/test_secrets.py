"""Secrets a chatbot says: found by format, masked as [SECRET] by the one masking function, checked by no_secrets."""

from __future__ import annotations

import base64
import json
import sys

import pytest

from pytest_llmops.checks.checker import Checker
from pytest_llmops.config import load_settings
from pytest_llmops.errors import ConfigError
from pytest_llmops.pii import PiiDetector, SecretDetector
from pytest_llmops.pii.secrets import shannon_entropy
from pytest_llmops.pii.storage import storage_detector
from pytest_llmops.transcript import Exchange
from tooling import missing_module, require

# Made-up keys in each format, assembled at run time so no scanner mistakes this file for a leak.
OPENAI = "sk-" + "proj-" + "Q7vLx2Nw9Rt4Ys6Bk1Hp3Jm8Cd5Fg0Zu"
ANTHROPIC = "sk-" + "ant-api03-" + "Vb8Nq2Lx5Rk9Tz4Wm7Hc1Jp6Dy3Gs0Fa"
AWS = "AKIA" + "Z7QW3ER9TY4UI2OP"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" + "x7Yq2Lm9Nw4Rt6Vb3Hc8Jd5Kf1Gs0Tu2Ze4Xa6Wq8Er1Ty3Ui5Op7As9Df"
SLACK = "xoxb-" + "2385719403-7741098312-Kq8Lm2Nx5Rt9Vw3Yz6Bc1D"
STRIPE = "sk_" + "live_" + "51Hq8Lm2Nx5Rt9Vw3Yz6Bc1D"
GOOGLE = "AIza" + "SyD4k9Lm2Nx5Rt9Vw3Yz6Bc1Dq8Hp7Jf0Gx"
JWT = ".".join([
    base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).decode().rstrip("="),
    base64.urlsafe_b64encode(json.dumps({"sub": "1234567890", "name": "Jo"}).encode()).decode().rstrip("="),
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
])
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2nGKfMz\n"
       "Lm9PxwIDAQABAoIBAQC7YvGZ1oOX6aV+7zG1mNq0\n-----END RSA PRIVATE KEY-----")
HEX_KEY = "8f3a9c2e7b1d4f6a0c5e9b2d7f1a3c8e"

FORMATS = [
    (f"Sure, the key is {OPENAI}.", "openai_key", OPENAI),
    (f"Use {ANTHROPIC} for the API.", "openai_key", ANTHROPIC),
    (f"Access key id {AWS} in us-east-1", "aws_access_key_id", AWS),
    (f"token {GITHUB} works", "github_token", GITHUB),
    (f"Use {GITHUB_PAT}", "github_token", GITHUB_PAT),
    (f"Post with {SLACK} please", "slack_token", SLACK),
    (f"Stripe: {STRIPE}", "stripe_key", STRIPE),
    (f"maps key {GOOGLE}", "google_api_key", GOOGLE),
    (f"Your session is {JWT} ok", "jwt", JWT),
    (f"here it is:\n{PEM}\nkeep it safe", "private_key", PEM),
    (f"the api key is {HEX_KEY}", "keyword_secret", HEX_KEY),
    ("aws secret access key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "keyword_secret",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("Authorization: Bearer Zq8Lm2Nx5Rt9Vw3Yz6Bc1DkP", "keyword_secret", "Zq8Lm2Nx5Rt9Vw3Yz6Bc1DkP"),
]


@pytest.mark.parametrize("text, rule, value", FORMATS, ids=[f"{rule}-{i}" for i, (_, rule, _) in enumerate(FORMATS)])
def test_each_format_is_found_and_masked_whole(text: str, rule: str, value: str) -> None:
    detector = SecretDetector()
    assert detector.rules_found(text) == [rule]
    masked = PiiDetector().mask(text)
    assert value not in masked and "[SECRET]" in masked
    for part in value.split("\n"):  # a PEM block goes entirely, not only its first line
        if len(part) > 8:
            assert part not in masked


@pytest.mark.parametrize("text", [
    "Your order 12345 shipped on 18 November. Tracking number: 1Z999AA10123456784.",
    "Use a placeholder like sk-xxxxxxxxxxxxxxxxxxxxxxxx in your config.",
    "Set AKIAXXXXXXXXXXXXXXXX as the access key id in the example.",
    "Your reset token was emailed to you; the password must be 12 characters.",
    "You can return any item within 30 days of delivery for a full refund. Start a return from the Orders page.",
    "The secret to a good espresso is a fine grind: about 18 grams for a double shot.",
    "Refunds reach your original payment method within 5-7 business days after we receive the returned item.",
    "Your ticket number is T-48213. The typical wait is under 5 minutes.",
    "token: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
])
def test_prose_placeholders_and_ids_are_not_secrets(text: str) -> None:
    assert SecretDetector().find(text) == []
    assert PiiDetector(kinds=[]).mask(text) == text


def test_entropy_tells_random_keys_from_words() -> None:
    assert shannon_entropy(HEX_KEY) > 3.0
    assert shannon_entropy("aaaaaaaaaaaaaaaa") == 0.0
    assert shannon_entropy("password") < 3.0


def test_masking_hides_secrets_even_when_pii_kinds_are_narrowed_and_a_pii_allowlist_matches() -> None:
    detector = PiiDetector(kinds=["email"], allowlist=[OPENAI])
    assert detector.find(f"key {OPENAI}") == []  # not personal data: no_pii has nothing to say
    assert detector.mask(f"key {OPENAI} and again {OPENAI}") == "key [SECRET] and again [SECRET]"


def test_overlapping_pii_and_secret_hide_both() -> None:
    text = f"mail jane.doe@example.com or use {OPENAI}"
    assert PiiDetector().mask(text) == "mail [EMAIL] or use [SECRET]"


def test_the_no_secrets_check_names_formats_never_values() -> None:
    checker = Checker()
    results = checker.check_exchange(Exchange(turn=1, user="key?", reply=f"It is {OPENAI} and {AWS}.", latency_ms=1))
    check = next(result for result in results if result.check == "no_secrets")
    assert not check.passed and check.actual == "found aws_access_key_id, openai_key in reply"
    assert OPENAI not in repr(results) and AWS not in repr(results)
    clean = checker.check_exchange(Exchange(turn=1, user="hi", reply="Hello!", latency_ms=1))
    assert next(result for result in clean if result.check == "no_secrets").passed


def test_no_secrets_can_be_turned_off_per_case() -> None:
    from pytest_llmops.cases import Expect

    results = Checker().check_exchange(Exchange(turn=1, user="k", reply=OPENAI, latency_ms=1), Expect(no_secrets=False))
    assert "no_secrets" not in [result.check for result in results]


def test_settings_allowlist_lets_a_documented_example_key_through(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.llmops.secrets]\nallowlist = ["{AWS}", {{pattern = "sk-proj-Q7.*"}}]\n')
    settings = load_settings(tmp_path)
    checker = Checker.from_settings(settings)
    assert checker.detector.find_secrets(f"{AWS} {OPENAI}") == []
    assert storage_detector(settings).mask(f"example {AWS}") == f"example {AWS}"
    assert storage_detector(settings).mask(f"real {GITHUB}") == "real [SECRET]"


@pytest.mark.parametrize("table, message", [
    ('[tool.llmops.secrets]\nbackend = "trufflehog"\n', "[tool.llmops.secrets]: backend: Input should be 'builtin' or"),
    ('[tool.llmops.secrets]\nallowlist = [{pattern = "("}]\n', "invalid allowlist pattern"),
    ('[tool.llmops.secrets]\nallowlst = []\n', "[tool.llmops.secrets]: unknown key 'allowlst'"),
])
def test_bad_secret_settings_are_config_errors(tmp_path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(table)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert message in str(caught.value)


def test_storage_masking_hides_secrets_by_default() -> None:
    assert storage_detector(None).mask(f"the token is {GITHUB}") == "the token is [SECRET]"


def test_detect_secrets_backend_adds_its_formats(tmp_path) -> None:
    require(missing_module("detect_secrets", "pip install 'pytest-llmops[secrets]'"))
    (tmp_path / "pyproject.toml").write_text('[tool.llmops.secrets]\nbackend = "detect-secrets"\n')
    checker = Checker.from_settings(load_settings(tmp_path))
    twilio = "SK" + "0123456789abcdef0123456789abcdef"
    mailchimp = "0123456789abcdef0123456789abcdef" + "-us12"
    assert SecretDetector().find(f"twilio {twilio}") == []  # beyond the built-in rules
    assert checker.detector.secrets.rules_found(f"twilio {twilio}, mailchimp {mailchimp}") == [
        "mailchimp_access_key", "twilio_api_key"]
    assert checker.detector.mask(f"twilio {twilio}") == "twilio [SECRET]"
    # its prose-hostile plugins (high entropy, keywords) stay out
    assert checker.detector.secrets.find("Your order 12345 shipped on 18 November. Thanks for shopping!") == []
    assert checker.detector.secrets.rules_found(f"key {OPENAI}") == ["openai_key"]  # built-ins stay on


def test_detect_secrets_backend_missing_is_a_clear_error(tmp_path, monkeypatch) -> None:
    for module in ("detect_secrets", "detect_secrets.core.plugins.util", "detect_secrets.plugins.base"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it raises ImportError
    (tmp_path / "pyproject.toml").write_text('[tool.llmops.secrets]\nbackend = "detect-secrets"\n')
    with pytest.raises(ConfigError, match=r"pip install 'pytest-llmops\[secrets\]'"):
        Checker.from_settings(load_settings(tmp_path))
