"""Cassettes with judge, similar and tool_calls: record against real servers, replay with every server stopped."""

from __future__ import annotations

import yaml
from meaning_support import judge_toml, openai_target, serve_stub  # noqa: F401 (a fixture)

from pytest_llmops.targets.exchange_cassette import load_exchanges
from target_servers import RECORDER_CONFTEST, read_records

CASES = """
cases:
  - id: lookup
    tools:
      - {name: lookup_order, parameters: {type: object, properties: {order_id: {type: string}}}}
    tool_results: {lookup_order: {status: shipped}}
    turns:
      - user: "Hi, I'm ann.lee@example.org. Where is my order #48213?"
        expect:
          tool_calls: [{name: lookup_order, args: {order_id: "48213"}}]
          judge: "Says the order has shipped."
          similar: {to: "Order 48213 has shipped.", min: 0.5}
      - user: "Can I get store credit instead of a refund?"
        expect:
          judge: {rubric: "Offers store credit and gives a tracking number.", min_score: 0.9}
          max_tokens: 60
"""


def outcome(record: dict) -> list:
    """Everything that must replay identically: every check's verdict, score and reason, calls and tokens."""
    return [(turn["reply"], turn["tool_calls"], turn["tokens"],
             [(c["check"], c["passed"], c["score"], c["reason"]) for c in turn["checks"]]) for turn in record["turns"]]


def test_judge_similar_and_tool_calls_replay_offline_with_the_servers_stopped(make_project, serve_stub):
    bot, evaluator = serve_stub(model="acme-1"), serve_stub(model="judge-1")
    toml = openai_target("bot", bot) + judge_toml(evaluator, embeddings=True)
    project = make_project({"meaning.yaml": CASES}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    recorded = project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-record", "cas")
    recorded.assert_outcomes(failed=1)  # turn 2's rubric asks for a tracking number the reply lacks
    recorded.stdout.fnmatch_lines(["llmops: judge grader (openai), embeddings grader (openai); cache off "
                                   "(recording cassettes)"])
    live = read_records(project.path)["lookup"]
    assert evaluator.requests == 3 and bot.requests == 3  # 2 verdicts and 1 embedding call; 2 bot rounds and turn 2
    folder = project.path / "cas" / "meaning"
    judged = load_exchanges(folder / "lookup+judge.yaml")[1]
    assert len(judged) == 2 and "[EMAIL]" in judged[0]["request"]["messages"][1]["content"]
    embedded = (folder / "lookup+embeddings.yaml").read_text()
    assert "ann.lee@example.org" not in embedded + (folder / "lookup+judge.yaml").read_text()
    assert "      vectors:\n      - [" in embedded and embedded.count("\n") < 80  # 2 vectors of 256, in flow style
    bot_turns = yaml.safe_load((folder / "lookup.yaml").read_text())["runs"][0]["turns"]
    assert [(t["turn"], t.get("round", 1)) for t in bot_turns] == [(1, 1), (1, 2), (2, 1)]
    assert bot_turns[0]["response"]["tool_calls"][0]["name"] == "lookup_order"
    assert bot_turns[0]["response"]["usage"]["model"] == "acme-1"

    bot.stop()
    evaluator.stop()
    (project.path / "records.jsonl").unlink()
    replayed = project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-replay", "cas", "--llmops-no-cache")
    replayed.assert_outcomes(failed=1)
    again = read_records(project.path)["lookup"]
    assert outcome(again) == outcome(live)
    # a turn's latency is judged on what was recorded: the sum of its rounds' latencies
    recorded_ms = {1: 0.0, 2: 0.0}
    for turn in bot_turns:
        recorded_ms[turn["turn"]] += turn["response"]["latency_ms"]
    assert [turn["latency_ms"] for turn in again["turns"]] == [round(recorded_ms[1], 3), round(recorded_ms[2], 3)]
    assert all(turn["latency_recorded"] for turn in again["turns"])


def test_a_judge_question_never_recorded_fails_its_check_clearly(make_project, serve_stub):
    evaluator = serve_stub()
    project = make_project({"meaning.yaml": CASES}, judge_toml(evaluator, embeddings=True))
    project.runpytest("--llmops", "--llmops-record", "cas").assert_outcomes(failed=1)
    evaluator.stop()
    edited = CASES.replace("Says the order has shipped.", "Says the order is on its way.")
    (project.path / "eval_cases" / "meaning.yaml").write_text(edited)
    result = project.runpytest("--llmops", "--llmops-replay", "cas", "--llmops-no-cache")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED judge: expected judge: Says the order is on its way.; got judge error: "
                                 "no_recording: no recorded judge exchange in */cas/meaning/lookup+judge.yaml for run 1 "
                                 "asking *; record it with --llmops-record=DIR, or add what is missing with "
                                 "--llmops-replay=DIR --llmops-record-missing"])

    fresh = serve_stub()
    (project.path / "pyproject.toml").write_text("[tool.llmops]\n" + judge_toml(fresh, embeddings=True))
    project.runpytest("--llmops", "--llmops-replay", "cas", "--llmops-record-missing").assert_outcomes(failed=1)
    assert fresh.requests == 1  # only the new question was asked
    fresh.stop()
    project.runpytest("--llmops", "--llmops-replay", "cas", "--llmops-no-cache").assert_outcomes(failed=1)


def test_recording_never_reads_the_cache_so_the_cassette_is_complete(make_project, serve_stub):
    evaluator = serve_stub()
    project = make_project({"meaning.yaml": CASES}, judge_toml(evaluator, embeddings=True))
    project.runpytest("--llmops").assert_outcomes(failed=1)  # fills the cache
    asked = evaluator.requests
    project.runpytest("--llmops", "--llmops-record", "cas").assert_outcomes(failed=1)
    assert evaluator.requests == 2 * asked
    evaluator.stop()
    project.runpytest("--llmops", "--llmops-replay", "cas", "--llmops-no-cache").assert_outcomes(failed=1)


def test_a_recorded_judge_fault_replays_as_the_same_fault(make_project, serve_stub):
    evaluator = serve_stub(http_error_on="tracking number", http_error_status=502)
    project = make_project({"meaning.yaml": CASES}, judge_toml(evaluator, embeddings=True))
    live = project.runpytest("--llmops", "--llmops-record", "cas")
    live.assert_outcomes(failed=1)
    line = "*FAILED judge: expected judge: Offers store credit and gives a tracking number. (score >= 0.9); got judge " \
           "error: http_status: HTTP 502 Bad Gateway: *"
    live.stdout.fnmatch_lines([line])
    evaluator.stop()
    replayed = project.runpytest("--llmops", "--llmops-replay", "cas", "--llmops-no-cache")
    replayed.assert_outcomes(failed=1)
    replayed.stdout.fnmatch_lines([line])
