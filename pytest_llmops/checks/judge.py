"""The ``judge`` check: a judge target grades a reply against a rubric and answers a JSON verdict.

The judge is a named target (``[tool.llmops.judge] target = "NAME"``): it is sent the
conversation so far, the reply and the rubric (personal data masked unless
``mask_pii = false``) and must answer ``{"pass": true|false, "score": 0..1, "reason": "..."}``,
bare or in a fenced code block. An answer that does not parse is asked for again
(``retries``, default once) with the bad answer and a reminder; after that the check fails
with "judge gave no verdict", never passes. A judge fault (timeout, HTTP error) fails the
check with its cause. Verdicts are cached on disk by everything they depend on, so an
unchanged rerun sends nothing.

:func:`ask_judge` is the reusable part: any check that needs a rubric question answered
about a reply (a refusal check, say) can ask through it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import NoVerdict, TargetError
from ..text import excerpt
from ..transcript import CheckResult, Conversation, Usage, add_usage
from . import names
from .cache import DiskCache, cache_key

if TYPE_CHECKING:  # checks never import targets at run time (targets import the settings, which import checks)
    from ..cases import JudgeExpect
    from ..targets.base import Message, Target

#: raised whenever the prompt changes, so cached verdicts of the old prompt are not reused
JUDGE_PROMPT_VERSION = "1"
#: the first line of every judge request; the stub bot answers as a judge when it sees it
JUDGE_MARKER = "You are pytest-llmops' judge"
SYSTEM_PROMPT = f"""{JUDGE_MARKER} (prompt version {JUDGE_PROMPT_VERSION}).
You grade one reply of a chatbot against a rubric. Read the conversation so far, the reply
and the rubric, decide whether the reply satisfies the rubric, and answer with only a JSON object:
{{"pass": true or false, "score": a number from 0 (fails completely) to 1 (satisfies it fully), "reason": "one or two sentences"}}
Personal data may have been replaced by placeholders such as [EMAIL] or [PHONE]; treat them as the real values."""
RETRY_PROMPT = ('That was not a verdict I can read. Answer with only the JSON object '
                '{"pass": true or false, "score": 0 to 1, "reason": "..."} and nothing else.')
REASON_CHARS = 500
_FENCE_RE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.S)
_SECTION_RE = re.compile(r"<rubric>\n(?P<rubric>.*?)\n</rubric>.*<reply>\n(?P<reply>.*)\n</reply>\s*\Z", re.S)


@dataclass(frozen=True)
class Verdict:
    """What the judge said: pass or fail, a score from 0 to 1, why; and what asking cost."""

    passed: bool
    score: float
    reason: str
    usage: Usage | None = None  # tokens this verdict cost now (None: cached, or not reported)
    cached: bool = False

    def to_data(self) -> dict[str, Any]:
        return {"pass": self.passed, "score": self.score, "reason": self.reason}


def _transcript_lines(history: Sequence["Message"]) -> str:
    return "\n".join(f"{message['role'].upper()}: {message.get('content') or ''}" for message in history)


def judge_messages(rubric: str, history: Sequence["Message"], reply: str) -> list["Message"]:
    """The request a judge gets: the instructions, then the rubric, the conversation so far and the reply."""
    question = (f"<rubric>\n{rubric}\n</rubric>\n\n<conversation>\n{_transcript_lines(history)}\n</conversation>\n\n"
                f"<reply>\n{reply}\n</reply>")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]


def judge_question(messages: Sequence["Message"]) -> tuple[str, str] | None:
    """(rubric, reply) if ``messages`` are a judge request made by :func:`judge_messages`, else None."""
    if len(messages) < 2 or not str(messages[0].get("content") or "").startswith(JUDGE_MARKER):
        return None
    match = _SECTION_RE.search(str(messages[1].get("content") or ""))
    return (match.group("rubric"), match.group("reply")) if match else None


def parse_verdict(text: str) -> Verdict | None:
    """The verdict in a judge's answer (the whole answer, or a fenced code block in it); None if there is none."""
    for candidate in (text.strip(), *_FENCE_RE.findall(text)):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("pass"), bool):
            continue
        score, reason = data.get("score"), data.get("reason", "")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) \
                or not 0 <= score <= 1 or not isinstance(reason, str):
            continue
        return Verdict(passed=data["pass"], score=float(score), reason=reason.strip())
    return None


class Judge:
    """A judge target with its cache and its masking: ask it a rubric question about a reply.

    ``mask`` is applied to what is sent (None: sent as said, ``mask_pii = false``);
    ``mask_stored`` to the reason kept in the cache, always (the judge may quote what it saw).
    """

    def __init__(self, target: "Target", *, mask: Callable[[str], str] | None = None,
                 cache: DiskCache | None = None, retries: int = 1,
                 mask_stored: Callable[[str], str] | None = None):
        self.target = target
        self.mask = mask or (lambda text: text)
        self.mask_stored = mask_stored or self.mask
        self.cache = cache
        self.retries = retries

    def ask(self, rubric: str, history: Sequence["Message"], reply: str,
            conversation: Conversation | None = None) -> Verdict:
        """The judge's verdict; TargetError for a judge fault, NoVerdict when no answer parses."""
        history = [{"role": m["role"], "content": self.mask(str(m.get("content") or ""))} for m in history]
        messages = judge_messages(rubric, history, self.mask(reply))
        key = cache_key("judge", self.target.cache_identity(), JUDGE_PROMPT_VERSION, messages)
        if self.cache is not None:
            stored = self.cache.get("verdicts", key)
            verdict = parse_verdict(json.dumps(stored)) if stored is not None else None
            if verdict is not None:
                return Verdict(verdict.passed, verdict.score, verdict.reason, cached=True)
        conversation = conversation or Conversation()
        usage: Usage | None = None
        for _ in range(self.retries + 1):
            answer = self.target.send(messages, conversation)
            usage = add_usage(usage, answer.usage)
            verdict = parse_verdict(answer.text)
            if verdict is not None:
                if self.cache is not None:
                    self.cache.put("verdicts", key, {**verdict.to_data(), "reason": self.mask_stored(verdict.reason)})
                return Verdict(verdict.passed, verdict.score, verdict.reason, usage=usage)
            messages = [*messages, {"role": "assistant", "content": answer.text},
                        {"role": "user", "content": RETRY_PROMPT}]
        raise NoVerdict(answer.text, usage)

    def end(self, conversation: Conversation) -> None:
        """The run ``conversation`` is checked: a recording cassette around the judge saves its exchanges."""
        self.target.end(conversation)


def ask_judge(judge: Judge, rubric: str, reply: str, history: Sequence["Message"] = (),
              conversation: Conversation | None = None) -> Verdict:
    """Ask ``judge`` whether ``reply`` (after ``history``) satisfies ``rubric``.

    For any check backed by the judge. Raises TargetError (the judge's fault) or
    NoVerdict (no parseable answer); the verdict's ``reason`` is the judge's own text,
    to be masked before it is shown.
    """
    return judge.ask(rubric, history, reply, conversation)


def judge_check(judge: Judge | None, expect: "JudgeExpect", history: Sequence["Message"], reply: str,
                conversation: Conversation | None, mask: Callable[[str], str]) -> CheckResult:
    """The ``judge`` check of one reply; every text in the result masked with ``mask``."""
    expected = f"judge: {excerpt(mask(expect.rubric), 200)}"
    if expect.min_score is not None:
        expected += f" (score >= {expect.min_score:g})"
    if judge is None:
        return CheckResult(names.JUDGE, False, expected, "no judge configured (set [tool.llmops.judge] target)")
    try:
        verdict = ask_judge(judge, expect.rubric, reply, history, conversation)
    except TargetError as exc:
        return CheckResult(names.JUDGE, False, expected, f"judge error: {exc.kind}: {mask(str(exc))}")
    except NoVerdict as exc:
        return CheckResult(names.JUDGE, False, expected,
                           f"judge gave no verdict: {excerpt(mask(exc.answer), 300)!r}", usage=exc.usage)
    reason = excerpt(mask(verdict.reason), REASON_CHARS)
    below = expect.min_score is not None and verdict.score < expect.min_score
    passed = verdict.passed and not below
    said = f"{'pass' if verdict.passed else 'fail'}, score {verdict.score:.2f}"
    if below:
        said += f" (below {expect.min_score:g})"
    if verdict.cached:
        said += " (cached)"
    return CheckResult(names.JUDGE, passed, expected, f"{said}: {reason}" if reason else said,
                       score=verdict.score, reason=reason, usage=verdict.usage)


__all__ = ["Judge", "Verdict", "ask_judge", "judge_check", "judge_messages", "judge_question", "parse_verdict",
           "JUDGE_PROMPT_VERSION", "JUDGE_MARKER"]
