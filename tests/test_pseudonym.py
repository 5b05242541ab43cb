"""Pseudonymous user ids: keyed, stable, idempotent, and a clear error without the key."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmops.config import load_settings
from pytest_llmops.errors import ConfigError
from pytest_llmops.pseudonym import Pseudonymizer, is_pseudonym, pseudonymize

KEY = "k" * 32


def test_pseudonym_is_keyed_hmac_sha256_with_prefix():
    expected = "u_" + hmac.new(KEY.encode(), b"customer-42", hashlib.sha256).hexdigest()[:32]
    assert pseudonymize("customer-42", KEY) == expected
    assert is_pseudonym(expected)


def test_same_id_same_key_is_stable_and_keys_differ():
    assert pseudonymize("customer-42", KEY) == pseudonymize("customer-42", KEY.encode())
    assert pseudonymize("customer-42", KEY) != pseudonymize("customer-42", "x" * 32)
    assert pseudonymize("customer-42", KEY) != pseudonymize("customer-43", KEY)


def test_pseudonymizing_a_pseudonym_changes_nothing():
    once = pseudonymize("customer-42", KEY)
    assert pseudonymize(once, KEY) == once
    assert pseudonymize(once, "another key, long enough") == once


def test_short_key_and_empty_id_are_refused():
    with pytest.raises(ConfigError, match="too short"):
        pseudonymize("customer-42", "short")
    with pytest.raises(ValueError, match="non-empty"):
        pseudonymize("", KEY)


def _settings(tmp_path: Path, privacy_toml: str):
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n[tool.llmops.privacy]\n" + privacy_toml)
    return load_settings(tmp_path)


def test_missing_key_is_a_config_error_naming_the_variable(tmp_path):
    settings = _settings(tmp_path, 'pseudonymize = true\npseudonym_key_env = "MY_PSEUDO_KEY"\n')
    with pytest.raises(ConfigError, match="MY_PSEUDO_KEY.*not set"):
        Pseudonymizer.from_settings(settings, environ={})


def test_enabled_policy_hashes_for_storage_and_repr_hides_key(tmp_path):
    settings = _settings(tmp_path, 'pseudonymize = true\n')
    policy = Pseudonymizer.from_settings(settings, environ={"LLMOPS_PSEUDONYM_KEY": KEY})
    stored = policy.for_storage("customer-42")
    assert stored == pseudonymize("customer-42", KEY)
    assert policy.identities("customer-42") == {"customer-42", stored}
    assert KEY not in repr(policy)


def test_disabled_policy_keeps_raw_id_but_still_finds_hashed_records(tmp_path):
    settings = _settings(tmp_path, "")
    assert Pseudonymizer.from_settings(settings, environ={}).for_storage("c-1") == "c-1"
    assert Pseudonymizer.from_settings(settings, environ={}).identities("c-1") == {"c-1"}
    with_key = Pseudonymizer.from_settings(settings, environ={"LLMOPS_PSEUDONYM_KEY": KEY})
    assert with_key.for_storage("c-1") == "c-1"
    assert with_key.identities("c-1") == {"c-1", pseudonymize("c-1", KEY)}


def test_unknown_privacy_key_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"\[tool.llmops.privacy\]: unknown key 'retention_dayz'"):
        _settings(tmp_path, "retention_dayz = 30\n")  # the section is validated with the rest of the file


def test_bad_env_name_and_retention_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="pseudonym_key_env"):
        _settings(tmp_path, 'pseudonym_key_env = "not a name"\n')
    with pytest.raises(ConfigError, match="retention_days"):
        _settings(tmp_path, "retention_days = 0\n")


def test_key_is_never_printed_in_the_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.llmops.privacy]\npseudonymize = true\n")
    code = ("from pytest_llmops.config import load_settings\n"
            "from pytest_llmops.pseudonym import Pseudonymizer\n"
            "Pseudonymizer.from_settings(load_settings())\n")
    env = {**os.environ, "LLMOPS_PSEUDONYM_KEY": "tiny-secret"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert "too short" in proc.stderr
    assert "tiny-secret" not in proc.stderr + proc.stdout
