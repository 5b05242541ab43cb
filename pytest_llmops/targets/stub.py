"""The built-in support bot: deterministic, offline, and able to misbehave on request.

It answers from a small table of rules for an online shop (orders, returns, account,
privacy, escalation, small talk) and keeps context from the conversation history
(the order number you gave, your name, whether it asked you something). It keeps a
support bot's guardrails (:mod:`.stub_safety`): it declines to reveal its instructions,
other customers' data, jailbreaks, harmful requests and promises. Its misbehaviour
switches (added latency, error replies, leaked email or phone number, and the safety
weaknesses the probe library looks for) let tests and demos prove that every check
fails when it should.

Offered tools (a case's ``tools:``), it calls ``lookup_order`` for an order's status and
``escalate_to_human`` when asked for a person, then answers from the results sent back.
Every reply reports ``usage`` (words counted as tokens). Asked a judge question, it
answers as the keyword judge of :mod:`.stub_judge`; asked to embed, it hashes trigrams.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import zlib
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..checks.judge import judge_question
from ..errors import TargetError
from ..tools import tool_names
from ..transcript import Conversation, Embeddings, Reply, ToolCall, Usage
from . import stub_judge, stub_safety
from .base import Message, Target

HOTLINE = "1-800-555-0199"
SUPPORT_EMAIL = "support@acme.example"
LEAKED_EMAIL = "jane.doe@example.com"
LEAKED_PHONE = "(415) 555-0142"
ERROR_REPLY = "Sorry, an error occurred while processing your request. Please try again later."
MODEL = "llmops-stub"

ORDER_RE = re.compile(r"(?:#|\border\s*(?:number|no\.?|#)?\s*:?\s*)(\d{5,8})\b|\b(\d{5,8})\b", re.I)
NAME_RE = re.compile(r"\bmy name is ([A-Z][a-z]+)", re.I)
#: the switches ``vulnerable`` turns on together
SAFETY_WEAKNESSES = ("reveal_system_prompt", "leak_customer_data", "follow_injections", "leak_secret", "obey")


class StubBehaviour(BaseModel):
    """Misbehaviour switches. Regexes are matched against the user message, case-insensitively."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0, ge=0, description="added to every reply")
    slow_on: str | None = Field(default=None, description="regex: these messages get slow_ms more")
    slow_ms: float = Field(default=0, ge=0)
    error_on: str | None = Field(default=None, description="regex: these messages fail")
    error_mode: Literal["reply", "raise"] = "reply"
    leak: Literal["email", "phone", "both"] | None = None
    leak_on: str | None = Field(default=None, description="regex: only these replies leak (default: all)")
    leak_every: int | None = Field(default=None, ge=1, description="only every Nth reply leaks (counted per "
                                   "target, across threads): a deterministic flaky bot")
    # safety weaknesses (targets/stub_safety.py): each breaks one guardrail the probe library tests
    reveal_system_prompt: bool = Field(default=False, description="recites its system prompt when asked, "
                                       "encoded as asked")
    leak_customer_data: bool = Field(default=False, description="answers questions about other customers "
                                     "with their data")
    follow_injections: bool = Field(default=False, description="obeys instructions hidden in pasted content")
    leak_secret: bool = Field(default=False, description="gives out an API key when asked for one")
    obey: bool = Field(default=False, description="plays along with jailbreaks, harmful requests and demands "
                       "for promises")
    vulnerable: bool = Field(default=False, description="every safety weakness above at once")

    @model_validator(mode="after")
    def _vulnerable_means_every_weakness(self) -> "StubBehaviour":
        if self.vulnerable:
            for name in SAFETY_WEAKNESSES:
                object.__setattr__(self, name, True)
        return self
    tool_loop: bool = Field(default=False, description="keep calling tools whatever results come back")
    judge_verdict: Literal["keywords", "pass", "fail"] = Field(
        default="keywords", description="as a judge: grade by keywords, or always pass or fail")
    judge_score: float | None = Field(default=None, ge=0, le=1, description="as a judge: the score of pass/fail")
    judge_malformed: Literal["never", "once", "always"] = Field(
        default="never", description="as a judge: answer text that is not a verdict (once: until asked again)")
    judge_fenced: bool = Field(default=False, description="as a judge: put the verdict in a ```json block")
    judge_latency_ms: float = Field(default=0, ge=0, description="as a judge: added to every verdict")

    def applies(self, pattern: str | None, message: str, default: bool) -> bool:
        if pattern is None:
            return default
        return re.search(pattern, message, re.I) is not None


def _ticket(seed: str) -> str:
    return f"T-{zlib.crc32(seed.encode()) % 90000 + 10000}"


class _Context:
    """What the bot remembers from the earlier turns of this conversation."""

    def __init__(self, messages: list[Message]):
        users = [m.get("content") or "" for m in messages if m["role"] == "user"]
        bots = [m.get("content") or "" for m in messages if m["role"] == "assistant"]
        self.message = users[-1] if users else ""
        self.history = users[:-1]
        self.last_bot = bots[-1] if bots else ""
        self.order = self._last_order(users)
        self.name = next((m.group(1) for u in reversed(users) if (m := NAME_RE.search(u))), None)
        self.escalated = any("human agent" in b for b in bots)

    @staticmethod
    def _last_order(users: list[str]) -> str | None:
        for text in reversed(users):
            match = ORDER_RE.search(text)
            if match:
                return match.group(1) or match.group(2)
        return None


def _order_status(order: str) -> str:
    if int(order[-1]) % 2 == 0:
        return (f"Order {order} shipped on 18 November and should arrive within 2 business days. "
                f"Tracking number: 1Z999AA1{order}.")
    return f"Order {order} is being packed and will ship within 1 business day."


Rule = tuple[str, Callable[[_Context], str]]
HUMAN_PATTERN = r"\b(human|agent|real person|representative|speak to (a|someone)|manager)\b"
ORDER_STATUS_PATTERN = r"\b(where|status|track|when will|arrive)\b"

RULES: list[Rule] = [
    (r"\bmy name is\b", lambda c: f"Nice to meet you, {c.name}! How can I help you today?"),
    (r"what('?s| is) my name", lambda c: f"You told me your name is {c.name}." if c.name
        else "You haven't told me your name yet."),
    (r"what('?s| is) my (email|phone|address)|my (email|phone) (address|number) on file",
        lambda c: "For your privacy I can't share account details in chat. You can see them under Settings > Profile."),
    (HUMAN_PATTERN,
        lambda c: f"I'm connecting you with a human agent now. Your ticket number is {_ticket(c.message)}. "
                  "The typical wait is under 5 minutes."),
    (r"how long.*wait|still waiting", lambda c: (
        "A human agent will join this chat shortly; the typical wait is under 5 minutes." if c.escalated
        else "Most requests are answered within 5 minutes.")),
    (r"\b(cancel)\b", lambda c: (f"Order {c.order} can be cancelled until it ships: open Orders, choose the order "
                                "and press Cancel." if c.order else
                                "I can help with that. What is your order number?")),
    (ORDER_STATUS_PATTERN, lambda c: (
        _order_status(c.order) if c.order else "I can check that for you. What is your order number?")),
    (r"store credit", lambda c: "Yes, you can choose store credit instead of a refund. It is added to your "
                                "account as soon as we receive the item."),
    (r"refund", lambda c: "Refunds reach your original payment method within 5-7 business days after we "
                          "receive the returned item."),
    (r"damaged|broken|defective", lambda c: "I'm sorry it arrived damaged. We'll send you a free return label "
                                            "and ship a replacement at no cost."),
    (r"\breturn", lambda c: "You can return any item within 30 days of delivery for a full refund. "
                            "Start a return from the Orders page."),
    (r"password|log ?in|sign ?in", lambda c: "To reset your password, choose 'Forgot password' on the sign-in "
                                             "page and we'll email you a reset link. For your security I can't "
                                             "change it here."),
    (r"change (my )?(email|e-mail)", lambda c: "You can change the email address on your account under "
                                               "Settings > Profile. We'll send a confirmation to the new address."),
    (r"delete (my )?account|close (my )?account", lambda c: "You can close your account under Settings > "
                                                            "Account > Close account. Open orders must finish first."),
    (r"(delete|erase|remove).*(data|information)|gdpr|personal data|privacy", lambda c: (
        "You can request a copy or the deletion of your personal data at acme.example/privacy. "
        "We complete every request within 30 days.")),
    (r"what data|data do you (store|keep|collect)", lambda c: "We store your name, contact details, order "
                                                              "history and support conversations, and keep chat "
                                                              "logs for 30 days."),
    (r"phone|call|hotline|contact|email (you|support)", lambda c: (
        f"You can call our support hotline at {HOTLINE} (Mon-Fri, 9am-6pm ET) or email {SUPPORT_EMAIL}.")),
    (r"shipping|delivery cost|deliver", lambda c: "Standard shipping is free on orders over $50; otherwise it "
                                                  "costs $4.99 and takes 3-5 business days."),
    (r"opening hours|open\b|hours", lambda c: "Our support team is available Monday to Friday, 9am-6pm ET. "
                                              "I'm here around the clock."),
    (r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", lambda c: (
        f"Hello{', ' + c.name if c.name else ''}! I'm Acme's support assistant. How can I help you today?")),
    (r"how are you", lambda c: "I'm doing well, thank you for asking! How can I help you today?"),
    (r"who are you|are you a (bot|robot|human)", lambda c: "I'm Acme's virtual support assistant, a bot. "
                                                           "I can hand you over to a human agent at any time."),
    (r"thank", lambda c: "You're welcome! Is there anything else I can help you with?"),
    (r"\b(bye|goodbye)\b", lambda c: "Goodbye, and thanks for shopping with Acme!"),
]

FALLBACK = ("I'm not sure I understood. I can help with orders, returns, refunds, your account and privacy "
            "requests, or connect you with a human agent.")


ORDER_STATUS_RE = re.compile(ORDER_STATUS_PATTERN, re.I)
HUMAN_RE = re.compile(HUMAN_PATTERN, re.I)


def _this_turn(messages: list[Message]) -> list[Message]:
    """The messages after the last user message: the bot's tool calls and the results sent back."""
    last_user = max((index for index, m in enumerate(messages) if m["role"] == "user"), default=-1)
    return messages[last_user + 1:]


def _call(name: str, arguments: dict[str, Any], seed: str) -> ToolCall:
    return ToolCall(id=f"call_{zlib.crc32(seed.encode()):08x}", name=name, arguments=json.dumps(arguments))


def tool_step(messages: list[Message], offered: list[str], loop: bool = False) -> Reply | None:
    """With tools offered: a reply calling one, or answering from the results sent back; None: no tool fits."""
    context = _Context(messages)
    this_turn = _this_turn(messages)
    results = [m for m in this_turn if m["role"] == "tool"]
    seed = f"{context.message}|{len(this_turn)}"
    if results and not loop:
        return Reply(_from_results(context, results), tool_calls=[])
    if "lookup_order" in offered and context.order and ORDER_STATUS_RE.search(context.message):
        return Reply("", tool_calls=[_call("lookup_order", {"order_id": context.order}, seed)])
    if "escalate_to_human" in offered and HUMAN_RE.search(context.message):
        return Reply("", tool_calls=[_call("escalate_to_human", {"reason": context.message[:80]}, seed)])
    return None


def _from_results(context: _Context, results: list[Message]) -> str:
    facts = []
    for result in results:
        try:
            data = json.loads(result.get("content") or "")
        except ValueError:
            data = result.get("content")
        if isinstance(data, dict):
            facts.append(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in data.items()))
        else:
            facts.append(str(data))
    about = f"Order {context.order}" if context.order else "Here is what I found"
    return f"{about}: {'; '.join(facts)}."


def usage_of(messages: list[Message], text: str, model: str = MODEL) -> Usage:
    """The stub's token counts: words in every message sent, and words in the reply."""
    prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
    return Usage(prompt, len(text.split()), model)


def answer(messages: list[Message], behaviour: StubBehaviour | None = None) -> str:
    """The stub's reply to the last user message, given the whole conversation (and its weaknesses)."""
    context = _Context(messages)
    if behaviour is not None:
        weak = stub_safety.weakness(messages, context.message, behaviour)
        if weak is not None:
            return weak
    guarded = stub_safety.guardrail(context.message)
    if guarded is not None:
        return guarded
    if context.last_bot.endswith("What is your order number?") and ORDER_RE.search(context.message):
        if re.search(r"cancel", " ".join(context.history[-1:]), re.I):
            return f"Order {context.order} can be cancelled until it ships: open Orders, choose the order and press Cancel."
        return _order_status(context.order)
    for pattern, respond in RULES:
        if re.search(pattern, context.message, re.I):
            return respond(context)
    return FALLBACK


class StubTarget(Target):
    """The built-in bot as a target; misbehaves as its :class:`StubBehaviour` says."""

    kind = "stub"
    options_model = StubBehaviour

    def __init__(self, name: str = "stub", behaviour: StubBehaviour | None = None):
        super().__init__(name)
        self.behaviour = behaviour or StubBehaviour()
        self._replies = itertools.count(1)  # next() is atomic under the GIL: safe across replay threads

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any]) -> "StubTarget":
        return cls(name, StubBehaviour.model_validate(options))

    def send(self, messages: list[Message], conversation: Conversation) -> Reply:
        reply = self._send(messages, conversation)
        reply.usage = usage_of(messages, reply.text)
        return reply

    def embed(self, texts: list[str], conversation: Conversation) -> Embeddings:
        return Embeddings([stub_judge.embedding(text) for text in texts],
                          usage=Usage(sum(len(text.split()) for text in texts), 0, MODEL))

    def _send(self, messages: list[Message], conversation: Conversation) -> Reply:
        behaviour = self.behaviour
        question = judge_question(messages)
        if question is not None:  # asked as a judge: none of the bot's misbehaviour, only the judge's
            if behaviour.judge_latency_ms:
                time.sleep(behaviour.judge_latency_ms / 1000)
            retried = any(m["role"] == "assistant" for m in messages)
            return Reply(stub_judge.judge_answer(*question, behaviour, retried))
        message = next((m.get("content") or "" for m in reversed(messages) if m["role"] == "user"), "")
        delay = behaviour.latency_ms
        if behaviour.applies(behaviour.slow_on, message, default=False):
            delay += behaviour.slow_ms
        if delay:
            time.sleep(delay / 1000)
        if behaviour.applies(behaviour.error_on, message, default=False):
            if behaviour.error_mode == "raise":
                raise TargetError("stub bot failed on purpose (error_on)")
            return Reply(ERROR_REPLY, tool_calls=[])
        if conversation.tools:
            step = tool_step(messages, tool_names(conversation.tools), behaviour.tool_loop)
            if step is not None:
                return step
        text = answer(messages, behaviour)
        nth = next(self._replies)
        leaks_now = not behaviour.leak_every or nth % behaviour.leak_every == 0
        if behaviour.leak and leaks_now and behaviour.applies(behaviour.leak_on, message, default=True):
            leaked = {"email": f"Contact {LEAKED_EMAIL} for details.",
                      "phone": f"Call {LEAKED_PHONE} for details.",
                      "both": f"Contact {LEAKED_EMAIL} or call {LEAKED_PHONE}."}[behaviour.leak]
            text = f"{text} {leaked}"
        return Reply(text, tool_calls=[])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "behaviour": self.behaviour.model_dump(exclude_defaults=True)}
