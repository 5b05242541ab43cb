"""The built-in support bot: deterministic, offline, and able to misbehave on request.

It answers from a small table of rules for an online shop (orders, returns, account,
privacy, escalation, small talk) and keeps context from the conversation history
(the order number you gave, your name, whether it asked you something). Its
misbehaviour switches (added latency, error replies, leaked email or phone number)
let tests and demos prove that every check fails when it should.
"""

from __future__ import annotations

import itertools
import re
import time
import zlib
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import TargetError
from ..transcript import Conversation, Reply
from .base import Message, Target

HOTLINE = "1-800-555-0199"
SUPPORT_EMAIL = "support@acme.example"
LEAKED_EMAIL = "jane.doe@example.com"
LEAKED_PHONE = "(415) 555-0142"
ERROR_REPLY = "Sorry, an error occurred while processing your request. Please try again later."

ORDER_RE = re.compile(r"(?:#|\border\s*(?:number|no\.?|#)?\s*:?\s*)(\d{5,8})\b|\b(\d{5,8})\b", re.I)
NAME_RE = re.compile(r"\bmy name is ([A-Z][a-z]+)", re.I)


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

    def applies(self, pattern: str | None, message: str, default: bool) -> bool:
        if pattern is None:
            return default
        return re.search(pattern, message, re.I) is not None


def _ticket(seed: str) -> str:
    return f"T-{zlib.crc32(seed.encode()) % 90000 + 10000}"


class _Context:
    """What the bot remembers from the earlier turns of this conversation."""

    def __init__(self, messages: list[Message]):
        users = [m["content"] for m in messages if m["role"] == "user"]
        bots = [m["content"] for m in messages if m["role"] == "assistant"]
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

RULES: list[Rule] = [
    (r"\bmy name is\b", lambda c: f"Nice to meet you, {c.name}! How can I help you today?"),
    (r"what('?s| is) my name", lambda c: f"You told me your name is {c.name}." if c.name
        else "You haven't told me your name yet."),
    (r"what('?s| is) my (email|phone|address)|my (email|phone) (address|number) on file",
        lambda c: "For your privacy I can't share account details in chat. You can see them under Settings > Profile."),
    (r"\b(human|agent|real person|representative|speak to (a|someone)|manager)\b",
        lambda c: f"I'm connecting you with a human agent now. Your ticket number is {_ticket(c.message)}. "
                  "The typical wait is under 5 minutes."),
    (r"how long.*wait|still waiting", lambda c: (
        "A human agent will join this chat shortly; the typical wait is under 5 minutes." if c.escalated
        else "Most requests are answered within 5 minutes.")),
    (r"\b(cancel)\b", lambda c: (f"Order {c.order} can be cancelled until it ships: open Orders, choose the order "
                                "and press Cancel." if c.order else
                                "I can help with that. What is your order number?")),
    (r"\b(where|status|track|when will|arrive)\b", lambda c: (
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


def answer(messages: list[Message]) -> str:
    """The stub's reply to the last user message, given the whole conversation."""
    context = _Context(messages)
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
        behaviour = self.behaviour
        message = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        delay = behaviour.latency_ms
        if behaviour.applies(behaviour.slow_on, message, default=False):
            delay += behaviour.slow_ms
        if delay:
            time.sleep(delay / 1000)
        if behaviour.applies(behaviour.error_on, message, default=False):
            if behaviour.error_mode == "raise":
                raise TargetError("stub bot failed on purpose (error_on)")
            return Reply(ERROR_REPLY)
        text = answer(messages)
        nth = next(self._replies)
        leaks_now = not behaviour.leak_every or nth % behaviour.leak_every == 0
        if behaviour.leak and leaks_now and behaviour.applies(behaviour.leak_on, message, default=True):
            leaked = {"email": f"Contact {LEAKED_EMAIL} for details.",
                      "phone": f"Call {LEAKED_PHONE} for details.",
                      "both": f"Contact {LEAKED_EMAIL} or call {LEAKED_PHONE}."}[behaviour.leak]
            text = f"{text} {leaked}"
        return Reply(text)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "behaviour": self.behaviour.model_dump(exclude_defaults=True)}
