"""The stub as a judge and as an embedder: deterministic, offline, steerable.

Not a language model. As a **judge** it grades by keywords: the rubric is cut into
clauses (at commas, ``and``, ``but``, full stops); the content words of a clause must
appear in the reply, unless the clause is negated (``does not promise a delivery date``),
and then they must not. The score is the share of words that came out right, and the
verdict passes from 0.5. :class:`~pytest_llmops.targets.stub.StubBehaviour` can steer it
instead: always pass or fail (with a chosen score), answer malformed text once or every
time, or answer slowly. As an **embedder** it hashes character trigrams into a
fixed-size vector, so texts sharing words (a paraphrase) score higher than unrelated ones.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stub import StubBehaviour

DIMENSIONS = 256
PASS_FROM = 0.5
STEM_CHARS = 5
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CLAUSE_RE = re.compile(r"[,;.:!?]|\b(?:and|but|or|while|then)\b", re.I)
_NEGATION = frozenset({"not", "never", "no", "without", "don't", "doesn't", "isn't", "won't", "nor", "avoid",
                       "avoids", "refuses"})
_STOPWORDS = frozenset("""a an the and or but of to in on for with from by as at is are be it its it's this that
these those there their they them you your yours we our us i me my he she his her reply replies answer answers
answered user customer customers bot assistant chatbot message says say said tells tell mentions mention
mentioned gives give given asks ask asked should must may can could would will does do did has have had
about into over under more most some any all each other than very also just only politely polite clearly clear
correct correctly response responds respond""".split())
MALFORMED = "I think the reply is fine, mostly. (This is not JSON.)"


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _stem(word: str) -> str:
    return word[:STEM_CHARS]


def keyword_verdict(rubric: str, reply: str) -> dict[str, object]:
    """The keyword judge's verdict on ``reply`` against ``rubric`` (see the module docstring)."""
    said = {_stem(word) for word in _words(reply)}
    right: list[str] = []
    wrong: list[str] = []
    for clause in _CLAUSE_RE.split(rubric):
        words = _words(clause)
        negated = False
        for word in words:
            if word in _NEGATION:
                negated = True
                continue
            if word in _STOPWORDS or len(word) < 3:
                continue
            present = _stem(word) in said
            (right if present != negated else wrong).append(("no " if negated else "") + word)
    total = len(right) + len(wrong)
    if not total:
        return {"pass": False, "score": 0.0, "reason": "stub judge: the rubric has no words to look for"}
    score = round(len(right) / total, 3)
    reason = f"stub judge (keywords): {len(right)} of {total} right"
    if wrong:
        reason += f"; wrong: {', '.join(wrong[:8])}"
    return {"pass": score >= PASS_FROM, "score": score, "reason": reason}


def judge_answer(rubric: str, reply: str, behaviour: "StubBehaviour", retried: bool) -> str:
    """The stub judge's whole answer: a JSON verdict, or malformed text when steered to give one."""
    if behaviour.judge_malformed == "always" or (behaviour.judge_malformed == "once" and not retried):
        return MALFORMED
    if behaviour.judge_verdict == "keywords":
        verdict = keyword_verdict(rubric, reply)
    else:
        passed = behaviour.judge_verdict == "pass"
        score = behaviour.judge_score if behaviour.judge_score is not None else (0.9 if passed else 0.1)
        verdict = {"pass": passed, "score": score, "reason": f"stub judge: steered to {behaviour.judge_verdict}"}
    text = json.dumps(verdict)
    return f"```json\n{text}\n```" if behaviour.judge_fenced else text


def embedding(text: str) -> list[float]:
    """A unit vector from the hashed character trigrams of ``text`` (lower-cased, spaces collapsed)."""
    padded = f" {' '.join(_words(text))} "
    vector = [0.0] * DIMENSIONS
    for index in range(len(padded) - 2):
        hashed = zlib.crc32(padded[index:index + 3].encode("utf-8"))
        vector[hashed % DIMENSIONS] += 1.0 if hashed & 0x10000 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [round(x / norm, 6) for x in vector]


__all__ = ["keyword_verdict", "judge_answer", "embedding", "DIMENSIONS"]
