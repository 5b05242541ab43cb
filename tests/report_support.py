"""Shared pieces of the report tests: a small suite that fails in known ways, and custom targets.

The stub (``leaky``) leaks an email address when asked about email and answers with an
error phrase when asked about refunds, so every summary number below is known in advance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

LEAKED_EMAIL = "jane.doe@example.com"  # what the stub leaks (targets/stub.py)

MIXED_SUITE = {
    "mixed.yaml": """\
        cases:
          - id: greets
            description: Says hello back
            tags: [smoke]
            turns:
              - user: "Hello"
                expect: {contains: ["help"]}
          - id: leaks-email
            description: Asked for the email on file
            turns:
              - user: "What is my email address on file?"
          - id: refund-error
            turns:
              - user: "How long does a refund take?"
              - user: "thanks"
        """,
}

LEAKY_TOML = """\
    target = "leaky"
    [tool.llmops.targets.leaky]
    type = "stub"
    leak = "email"
    leak_on = "email"
    error_on = "refund"
    """

# A conftest for throwaway projects: targets that say exactly what a test needs.
CUSTOM_TARGETS_CONFTEST = '''
import json
from pathlib import Path

from pytest_llmops.errors import TargetError
from pytest_llmops.targets import KINDS
from pytest_llmops.targets.base import Target
from pytest_llmops.transcript import Reply

REPLIES = json.loads((Path(__file__).parent / "replies.json").read_text(encoding="utf-8"))


class ScriptedTarget(Target):
    """Replies with REPLIES[user message]; FAULT:... raises a TargetError instead, CRASH:... a RuntimeError."""

    kind = "scripted"

    def send(self, messages, session):
        reply = REPLIES[messages[-1]["content"]]
        if reply.startswith("FAULT:"):
            raise TargetError(reply[len("FAULT:"):])
        if reply.startswith("CRASH:"):
            raise RuntimeError(reply[len("CRASH:"):])  # a bug in a target, not a fault of the chatbot
        return Reply(reply)

    def describe(self):
        # What a careless target might put in its description; reports must scrub it.
        return {"name": self.name, "kind": self.kind,
                "url": "http://bob:hunter2@127.0.0.1:9/v1/chat?api_key=sk-SECRET-123&model=m1",
                "api_key": "sk-SECRET-123", "headers": {"Authorization": "Bearer sk-SECRET-123"}}


KINDS["scripted"] = lambda name, options, settings: ScriptedTarget(name)
'''

SCRIPTED_TOML = """\
    target = "bot"
    [tool.llmops.targets.bot]
    type = "scripted"
    """


def scripted_project(make_project: Any, cases: dict[str, str], replies: dict[str, str]) -> pytest.Pytester:
    """A project whose target replies from ``replies`` (user message -> reply)."""
    pytester = make_project(cases, SCRIPTED_TOML)
    pytester.makeconftest(CUSTOM_TARGETS_CONFTEST)
    (pytester.path / "replies.json").write_text(json.dumps(replies), encoding="utf-8")
    return pytester


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def cases_by_id(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {case["case_id"]: case for case in results["cases"]}
