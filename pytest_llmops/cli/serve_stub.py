"""``llmops serve-stub``: the stub bot over HTTP on 127.0.0.1, misbehaving on request."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..targets.stub import StubBehaviour
from ..targets.stub_server import ServerFaults, StubServer

BEHAVIOUR_OPTIONS = {
    "latency_ms": (float, "MS", "added to every reply"),
    "slow_on": (str, "REGEX", "messages matching REGEX get --slow-ms more"),
    "slow_ms": (float, "MS", "extra delay for --slow-on messages"),
    "error_on": (str, "REGEX", "messages matching REGEX get an error reply (or HTTP 500 with --error-mode raise)"),
    "error_mode": (str, "reply|raise", "how --error-on fails (default reply)"),
    "leak": (str, "email|phone|both", "replies leak an email address, a phone number or both"),
    "leak_on": (str, "REGEX", "only replies to messages matching REGEX leak (default all)"),
    "leak_every": (int, "N", "only every Nth reply leaks (a deterministic flaky bot)"),
    "tool_loop": (bool, None, "keep calling tools whatever results come back (to test max_tool_rounds)"),
}
JUDGE_OPTIONS = {
    "judge_verdict": (str, "keywords|pass|fail", "grade by the rubric's keywords (default), or always pass or fail"),
    "judge_score": (float, "SCORE", "the score of --judge-verdict pass or fail (0 to 1)"),
    "judge_malformed": (str, "never|once|always", "answer text that is not a verdict (once: until asked again)"),
    "judge_fenced": (bool, None, "put the verdict in a ```json code block"),
    "judge_latency_ms": (float, "MS", "added to every verdict"),
}
#: the safety weaknesses (targets/stub_safety.py), as on/off flags
BEHAVIOUR_FLAGS = {
    "reveal_system_prompt": "recite the system prompt when asked (encoded as asked: base64, rot13, hex...)",
    "leak_customer_data": "answer questions about other customers with their data",
    "follow_injections": "obey instructions hidden in pasted content",
    "leak_secret": "give out an API key when asked for one",
    "obey": "play along with jailbreaks, harmful requests and demands for promises",
    "vulnerable": "every safety weakness above at once (the probe library fails against it)",
}
FAULT_OPTIONS = {
    "http_error_on": (str, "REGEX", "answer matching messages with --http-error-status"),
    "http_error_status": (int, "STATUS", "status for --http-error-on (default 500)"),
    "flaky_on": (str, "REGEX", "fail matching messages --flaky-times times with --flaky-status, then answer"),
    "flaky_times": (int, "N", "failures per message before it succeeds (default 1)"),
    "flaky_status": (int, "STATUS", "status for --flaky-on (default 503)"),
    "malformed_on": (str, "REGEX", "answer matching messages with a body that is not JSON"),
    "empty_on": (str, "REGEX", "answer matching messages with an empty reply"),
    "close_on": (str, "REGEX", "close the connection without answering"),
    "hang_on": (str, "REGEX", "start the response, then never finish it (until the client goes away)"),
    "token_ms": (float, "MS", "pause between streamed chunks (stream: true)"),
    "api_key_env": (str, "NAME", "require 'Authorization: Bearer KEY', KEY read from this environment variable"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve-stub", help="serve the stub bot over HTTP on 127.0.0.1",
        description="Serve the built-in stub bot on 127.0.0.1: an OpenAI-compatible API at "
                    "/v1/chat/completions (also streaming, with tool calls and usage) and /v1/embeddings, and a plain "
                    "JSON API at /chat. Asked a judge question (pytest-llmops' judge prompt), it answers a verdict.")
    parser.add_argument("--port", type=int, default=8800, help="port to listen on (0 picks a free one; default 8800)")
    parser.add_argument("--model", default="llmops-stub", help="model name the API reports")
    groups = [("the bot's misbehaviour (as the stub target's options)", BEHAVIOUR_OPTIONS),
              ("as a judge (docs/checks.md#the-stub-judge-and-embedder)", JUDGE_OPTIONS), ("HTTP faults", FAULT_OPTIONS)]
    for title, options in groups:
        group = parser.add_argument_group(title)
        for name, (kind, metavar, text) in options.items():
            flag = f"--{name.replace('_', '-')}"
            if kind is bool:
                group.add_argument(flag, dest=name, action="store_true", default=None, help=text)
            else:
                group.add_argument(flag, dest=name, type=kind, metavar=metavar, help=text)
        if options is BEHAVIOUR_OPTIONS:  # the safety weaknesses the probe library looks for (docs/probes.md)
            for name, text in BEHAVIOUR_FLAGS.items():
                group.add_argument(f"--{name.replace('_', '-')}", dest=name, action="store_const", const=True,
                                   help=text)
    parser.set_defaults(handler=run)


def _chosen(args: argparse.Namespace, names: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"--{'.'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}"
                     for e in exc.errors(include_url=False))


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a port number (0-65535)")
    try:
        behaviour = StubBehaviour.model_validate(_chosen(args, {**BEHAVIOUR_OPTIONS, **BEHAVIOUR_FLAGS,
                                                                **JUDGE_OPTIONS}))
        faults = ServerFaults.model_validate(_chosen(args, FAULT_OPTIONS))
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None
    if faults.api_key_env and not StubServer.api_key_from_env(faults.api_key_env):
        raise ConfigError(f"--api-key-env: environment variable {faults.api_key_env} is not set or empty")
    try:
        server = StubServer(behaviour, faults, port=args.port, model=args.model)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"llmops serve-stub: serving the stub bot on {server.url} "
          f"(OpenAI-compatible: {server.url}/v1, plain JSON: {server.url}/chat); Ctrl-C stops",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("llmops serve-stub: stopped", file=sys.stderr, flush=True)
    return 0
