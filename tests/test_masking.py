"""Masking that holds: fragments of personal data said earlier in a conversation, values captured with
``save:``, personal data in a case's own ``not_contains`` and in the monitor's conversation ids never
reach an output unmasked."""

from __future__ import annotations

import json
from pathlib import Path

from feedback_support import llmops
from monitor_support import make_project as make_monitor_project, read_log
from pytest_llmops.config import load_settings
from pytest_llmops.monitor.service import Monitor
from pytest_llmops.pii import PiiDetector

CUT_OFF_BOT = '''
def reply(messages):
    said = messages[-1]["content"]
    if "call me back" in said.lower():
        return "Sure! I will call you back at 415-555-01"  # cut off by max_tokens
    if "email on file" in said:
        return "The email on file is jane.doe@example.com."
    return "Confirmed. Also writing to bob.smith@example.org."
'''
BOT_TOML = 'target = "bot"\n[tool.llmops.targets.bot]\ntype = "python"\ncallable = "cut_off_bot:reply"\n'
REPORTS = ("--llmops-results=results.json", "--junitxml=junit.xml", "--html=report.html", "--self-contained-html")


def outputs(project: Path, terminal: str) -> dict[str, str]:
    found = {"terminal": terminal}
    for name in ("results.json", "junit.xml", "report.html", "feedback.jsonl"):
        if (project / name).exists():
            found[name] = (project / name).read_text()
    for cassette in project.glob("cas/**/*.yaml"):
        found[cassette.name] = cassette.read_text()
    return found


def test_a_fragment_of_the_customers_phone_number_is_masked_everywhere(make_project):
    project = make_project({"callback.yaml": """
cases:
  - id: callback
    turns: [{user: "Call me back at 415-555-0142 about my refund."}]
"""}, BOT_TOML)
    project.makepyfile(cut_off_bot=CUT_OFF_BOT)
    result = project.runpytest("--llmops", "-vv", "-p", "no:cacheprovider", "--llmops-record=cas", *REPORTS)
    result.assert_outcomes(failed=1)  # eight digits of the customer's number are personal data too
    result.stdout.fnmatch_lines(["*FAILED no_pii: expected no personal data; got found PHONE in reply"])
    (project.path / "chat.txt").write_text("user: Call me back at 415-555-0142 about my refund.\n"
                                           "bot: Sure! I will call you back at 415-555-01\n")
    llmops(project.path, "feedback", "--user-id", "u-7", "--type", "pii_leak", "--message", "it read my number out",
           "--conversation", "chat.txt", check=True)

    found = outputs(project.path, result.stdout.str() + result.stderr.str())
    assert set(found) == {"terminal", "results.json", "junit.xml", "report.html", "feedback.jsonl", "callback.yaml"}
    assert {name for name, text in found.items() if "415-555-01" in text or "4155550" in text} == set()
    [case] = json.loads(found["results.json"])["cases"]
    assert case["turns"][0]["reply"] == "Sure! I will call you back at [PHONE]"
    assert json.loads(found["feedback.jsonl"])["conversation"][0]["reply"] == "Sure! I will call you back at [PHONE]"


def test_saved_values_and_the_case_authors_own_personal_data_are_masked_in_check_texts(make_project):
    project = make_project({"saved.yaml": r"""
cases:
  - id: saved-email
    turns:
      - user: "What is the email on file?"
        save: {email: '(\S+@\w+\.\w+)'}
        expect: {no_pii: false}
      - user: "Please confirm it"
        expect:
          contains: ["{email}"]
          matches: ["{email}"]
          not_contains: ["bob.smith@example.org"]
"""}, BOT_TOML)
    project.makepyfile(cut_off_bot=CUT_OFF_BOT)
    result = project.runpytest("--llmops", "-vv", "-p", "no:cacheprovider", *REPORTS)
    result.assert_outcomes(failed=1)
    for line in ('FAILED contains: expected reply contains "[EMAIL]"; got missing "[EMAIL]"',
                 'FAILED not_contains: expected reply does not contain "[EMAIL]"; got found "[EMAIL]"',
                 'FAILED matches: expected reply matches "[EMAIL]"; got no match for "[EMAIL]"'):
        assert line in result.stdout.str()
    found = outputs(project.path, result.stdout.str() + result.stderr.str())
    assert len(found) == 4
    for name, text in found.items():
        assert "jane.doe" not in text and "jane\\.doe" not in text and "bob.smith" not in text, name


def test_detector_masks_fragments_only_of_what_the_conversation_said():
    conversation = PiiDetector().conversation()
    assert conversation.mask("Call 415-555-01") == "Call 415-555-01"  # nothing said before: a number
    assert conversation.mask("My number is +1 415 555 0142, mail jane.doe@example.com") == \
        "My number is [PHONE], mail [EMAIL]"
    for said, masked in [("I will call 415-555-01", "I will call [PHONE]"),
                         ("I will call (415) 555-01", "I will call [PHONE]"),
                         ("ends in 550142.", "ends in [PHONE]."),
                         ("order 12345 then 415555", "order 12345 then [PHONE]"),
                         ("written as 4155550142", "written as [PHONE]"),
                         ("I will write to jane.d", "I will write to [EMAIL]"),
                         ("I will write to jane.doe@exa", "I will write to [EMAIL]"),
                         ("pattern jane\\.doe@example\\.com", "pattern [EMAIL]"),
                         ("order 12345 and 41555", "order 12345 and 41555"),  # five digits: too short
                         ("ask support, jane", "ask support, jane")]:
        assert conversation.mask(said) == masked, said
    words = PiiDetector().conversation()
    words.mask("write to support@help.example.org")
    assert words.mask("our support team") == "our support team"  # a word, not a fragment
    assert words.mask("write to support@hel") == "write to [EMAIL]"


def test_the_monitor_masks_personal_data_in_conversation_ids_and_keeps_them_apart(tmp_path):
    project = make_monitor_project(tmp_path / "project")
    with Monitor(load_settings(project), console=False) as monitor:
        for conversation in ("jane.doe@example.com", "bob.smith@example.org", "jane.doe@example.com", "c-17"):
            monitor.record("Hi", "Hello!", 10.0, conversation_id=conversation)
        monitor.record("Call me back at 415-555-0142", "Calling 415-555-01", 10.0, conversation_id="c-18")
    log = read_log(project / "chatbot_monitoring.log")
    ids = [line["conversation_id"] for line in log]
    assert "jane.doe" not in (project / "chatbot_monitoring.log").read_text()
    assert "bob.smith" not in (project / "chatbot_monitoring.log").read_text()
    assert ids[0].startswith("[EMAIL]~") and ids[0] == ids[2] and ids[0] != ids[1] and ids[3:] == ["c-17", "c-18"]
    assert log[4]["reply"] == "Calling [PHONE]" and log[4]["findings"][0]["check"] == "no_pii"


def test_converting_a_log_with_raw_conversation_ids_prints_them_masked(tmp_path):
    project = make_monitor_project(tmp_path / "project")
    line = {"timestamp": "2026-11-25T10:00:00Z", "level": "ERROR", "conversation_id": "jane.doe@example.com",
            "user_id": None, "user": "Where is my order?", "reply": "[EMAIL]", "latency_ms": 10.0,
            "findings": [{"check": "no_pii", "category": "pii", "expected": "no personal data",
                          "actual": "found EMAIL in reply", "pii_kinds": ["email"]}]}
    (project / "chatbot_monitoring.log").write_text(json.dumps(line) + "\n")  # written before ids were masked
    converted = llmops(project, "cases", "from-monitor-log", check=True)
    assert "1 case file(s) written" in converted.stdout and "[EMAIL] (chatbot_monitoring.log:1)" in converted.stdout
    [case_file] = (project / "eval_cases" / "regressions").glob("*.yaml")
    for text in (converted.stdout, converted.stderr, case_file.read_text()):
        assert "jane.doe" not in text


EARLIER_RECORD_LEAKS = [
    {"conversation_id": "c-41", "user": "My email is ann.lee@example.com and my phone 415-555-0142",
     "reply": "Thanks, noted.", "latency_ms": 10.0},
    {"conversation_id": "c-77", "user": "Hi", "reply": "Hello!", "latency_ms": 10.0},
    {"conversation_id": "c-41", "user": "Did you write to me?",
     "reply": "We wrote to ann.lee@exam and will call 415-555-01", "latency_ms": 10.0},
]


def _assert_earlier_fragments_masked(log: list[dict], text: str) -> None:
    assert "ann.lee" not in text and "415-555-01" not in text
    assert log[2]["reply"] == "We wrote to [EMAIL] and will call [PHONE]"
    assert log[2]["findings"][0]["check"] == "no_pii"  # a fragment of what the customer gave is a leak too
    assert log[1]["findings"] == []


def test_the_monitor_masks_fragments_of_what_an_earlier_record_of_the_conversation_said(tmp_path):
    project = make_monitor_project(tmp_path / "project")
    with Monitor(load_settings(project), console=False) as monitor:
        for record in EARLIER_RECORD_LEAKS:
            monitor.record(record["user"], record["reply"], record["latency_ms"],
                           conversation_id=record["conversation_id"])
    log_path = project / "chatbot_monitoring.log"
    _assert_earlier_fragments_masked(read_log(log_path), log_path.read_text())


def test_the_monitor_command_masks_them_too(tmp_path):
    project = make_monitor_project(tmp_path / "project")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in EARLIER_RECORD_LEAKS))
    llmops(project, "monitor", "-q", str(source))
    log_path = project / "chatbot_monitoring.log"
    _assert_earlier_fragments_masked(read_log(log_path), log_path.read_text())


def test_the_conversation_memory_stays_bounded():
    from pytest_llmops.monitor.memory import ConversationMemory

    memory = ConversationMemory(max_conversations=3, max_values=2)
    detector = PiiDetector()
    for n in range(5):
        masker = detector.conversation()
        masker.mask(f"call 415-555-01{n:02d}, mail customer{n}@example.com, or 212-555-01{n:02d}")
        memory.keep(f"c-{n}", masker)
    assert len(memory) == 3  # the two conversations seen longest ago were forgotten
    forgotten, kept = detector.conversation(), detector.conversation()
    memory.recall("c-0", forgotten)
    memory.recall("c-4", kept)
    assert forgotten.mask("we called 415-555-01") == "we called 415-555-01"
    assert kept.mask("we called 212-555-01 and wrote to customer4@exa") == "we called [PHONE] and wrote to [EMAIL]"
    assert list(kept.remembered().values()).count("phone") == 1  # two values a conversation: the latest


def test_a_restored_recollection_masks_what_recalling_each_value_masks():
    detector = PiiDetector()
    earlier = detector.conversation()
    earlier.mask("I am ann.lee@example.com, call +1 415-555-0142 or write to jane\\.doe@example\\.org")
    restored, recalled = detector.conversation(), detector.conversation()
    restored.restore(earlier.recollection())
    recalled.recall(earlier.remembered())
    for text in ("we wrote to ann.lee@exam", "calling 415-555-01", "dial 4155550142 now", "jane\\.doe@exa",
                 "nothing personal here", "order 12345 415555"):
        assert restored.mask(text) == recalled.mask(text), text
    assert restored.recollection() == recalled.recollection()
