"""``llmops feedback``: record one piece of feedback, by flags (scripts) or by prompts (people).

With every field given as a flag it never asks anything. Missing fields are asked for on
a terminal, with the choices shown and bad answers asked again; without a terminal it
fails at once, naming the missing flags, rather than waiting on input that never comes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..config import load_settings
from ..errors import FeedbackError
from ..feedback.conversation import (STDIN, FoundConversation, case_names, conversation_choices,
                                     load_conversation, parse_pasted)
from ..feedback.store import FEEDBACK_TYPES, TYPE_HELP, FeedbackStore, check_user_id, feedback_json_schema
from ..text import terminal_safe_lines

T = TypeVar("T")
REQUIRED = (("user_id", "--user-id"), ("type", "--type"), ("message", "--message"))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "feedback", help="record feedback about the chatbot (prompts for what is missing)",
        description="Record one piece of feedback in the feedback file (JSON Lines). Without flags it asks "
                    "for each field; with --user-id, --type and --message it runs without asking.")
    parser.add_argument("--user-id", help="non-identifying internal id of the reporter (not an email or phone)")
    parser.add_argument("--type", choices=FEEDBACK_TYPES, help="kind of feedback")
    parser.add_argument("--message", help="what went wrong (or right); personal data in it is masked")
    parser.add_argument("--conversation", type=Path, metavar="FILE",
                        help="the conversation ('-': standard input): pasted 'user:'/'bot:' text, a transcript "
                             "or results JSON, or a case file")
    parser.add_argument("--case", metavar="ID", help="which case's conversation, when FILE holds several")
    parser.add_argument("--turn", type=int, metavar="N", help="1-based turn the feedback is about (default: last)")
    parser.add_argument("--expected", metavar="TEXT", help="the right answer (wrong_answer feedback)")
    parser.add_argument("--bad-text", metavar="TEXT",
                        help="the wrong part of the reply (wrong_answer; default: the whole reply)")
    parser.add_argument("--system", metavar="TEXT",
                        help="the system prompt the conversation had (default: the case file's or results record's)")
    parser.add_argument("--target", metavar="NAME",
                        help="the [tool.llmops.targets] name the conversation ran against, to pin the regression "
                             "case to it (default: the case's own pin, if any)")
    parser.add_argument("--keep-pii", metavar="REASON",
                        help="store personal data in the text unmasked, for this reason (recorded in the record)")
    parser.add_argument("--file", type=Path, metavar="PATH",
                        help="feedback file (default: [tool.llmops.privacy] feedback, i.e. feedback.jsonl)")
    parser.add_argument("--schema", action="store_true", help="print the JSON Schema of a feedback record and exit")
    parser.set_defaults(handler=run)


class Prompter:
    """Asks on the terminal until an answer parses; the parser's message explains a refusal."""

    def __init__(self, read: Callable[[str], str] = input, write: Callable[[str], Any] = print):
        self.read = read
        self._write = write

    def write(self, text: str) -> None:
        """Show ``text`` (which may quote a file or an answer) with control characters escaped."""
        self._write(terminal_safe_lines(text))

    def ask(self, prompt: str, parse: Callable[[str], T]) -> T:
        while True:
            try:
                answer = self.read(prompt)
            except EOFError:
                raise FeedbackError("input ended before the feedback was complete; nothing recorded") from None
            try:
                return parse(answer.strip())
            except (ValueError, FeedbackError) as exc:
                self.write(f"  {exc}")

    def read_block(self, intro: str) -> str:
        """Lines until an empty line (pasted conversations)."""
        self.write(intro)
        lines = []
        while True:
            try:
                line = self.read("")
            except EOFError:
                if not lines:
                    raise FeedbackError("input ended before the feedback was complete; nothing recorded") from None
                break
            if not line.strip():
                break
            lines.append(line)
        return "\n".join(lines)


def _required(text: str) -> str:
    if not text:
        raise ValueError("please enter something")
    return text


def _user_id(text: str) -> str:
    check_user_id(_required(text))
    return text


def _feedback_type(text: str) -> str:
    if text.isdigit() and 1 <= int(text) <= len(FEEDBACK_TYPES):
        return FEEDBACK_TYPES[int(text) - 1]
    if text in FEEDBACK_TYPES:
        return text
    raise ValueError(f"{text!r} is not a feedback type; enter a number 1-{len(FEEDBACK_TYPES)} or a name")


def _optional(text: str) -> str | None:
    return text or None


def _turn_parser(count: int) -> Callable[[str], int | None]:
    def parse(text: str) -> int | None:
        if not text:
            return None
        if not text.isdigit() or not 1 <= int(text) <= count:
            raise ValueError(f"enter a turn number from 1 to {count}, or press Enter for the last")
        return int(text)
    return parse


def _ask_conversation(prompter: Prompter) -> tuple[FoundConversation | None, str | None]:
    choice = prompter.ask("Attach the conversation? [p]aste turns, [f]ile, Enter to skip: ",
                          lambda t: _choice(t, ("p", "f", "")))
    if choice == "p":
        while True:
            text = prompter.read_block("Paste the conversation, one 'user: ...' or 'bot: ...' line each; "
                                       "an empty line ends it:")
            try:
                return FoundConversation(set(), parse_pasted(text)), "pasted"
            except FeedbackError as exc:
                prompter.write(f"  {exc}")
    if choice == "f":
        path = prompter.ask("Path to a transcript, results JSON, case file or text file: ", _existing_file)
        found = conversation_choices(path)
        if len(found) == 1:
            return found[0], str(path)
        names = case_names(found)
        prompter.write(f"  {path} holds {len(found)} conversations: {', '.join(names[:20])}")
        case = prompter.ask("Which case? ", lambda t: (load_conversation(path, _required(t)), t))
        return case[0], f"{path}::{case[1]}"
    return None, None


def _choice(text: str, allowed: tuple[str, ...]) -> str:
    text = text.lower()[:1]
    if text not in allowed:
        raise ValueError(f"answer one of: {', '.join(a or 'Enter' for a in allowed)}")
    return text


def _existing_file(text: str) -> Path:
    path = Path(_required(text)).expanduser()
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    return path


def _interactive(args: argparse.Namespace) -> None:
    """Fill every missing field of ``args`` by asking on the terminal."""
    prompter = Prompter()
    if args.user_id is None:
        args.user_id = prompter.ask("User id (a non-identifying internal id, not an email or phone): ", _user_id)
    if args.type is None:
        prompter.write("Feedback type:")
        for number, name in enumerate(FEEDBACK_TYPES, start=1):
            prompter.write(f"  {number}. {name:<13} {TYPE_HELP[name]}")
        args.type = prompter.ask(f"Type [1-{len(FEEDBACK_TYPES)} or name]: ", _feedback_type)
    if args.message is None:
        args.message = prompter.ask("Description: ", _required)
    if args.conversation is None and args.turns is None:
        found, args.source = _ask_conversation(prompter)
        if found is not None:
            _take(args, found)
    if args.turns and args.turn is None and len(args.turns) > 1:
        args.turn = prompter.ask(f"Which turn is it about? [1-{len(args.turns)}, Enter for the last]: ",
                                 _turn_parser(len(args.turns)))
    if args.type == "wrong_answer" and args.expected is None and args.turns:
        args.expected = prompter.ask("The right answer (optional, Enter to skip): ", _optional)


def _take(args: argparse.Namespace, found: FoundConversation) -> None:
    """Use a found conversation: its turns, and its system prompt and target unless the flags give them."""
    args.turns = found.turns
    args.system = args.system if args.system is not None else found.system
    args.target = args.target if args.target is not None else found.target


def run(args: argparse.Namespace) -> int:
    if args.schema:
        print(json.dumps(feedback_json_schema(), indent=2))
        return 0
    settings = load_settings()
    store = FeedbackStore.from_settings(settings, args.file)
    args.turns, args.source = None, None
    if args.conversation is not None:
        _take(args, load_conversation(args.conversation, args.case))
        name = "stdin" if str(args.conversation) == STDIN else str(args.conversation)
        args.source = f"{name}::{args.case}" if args.case else name
    missing = [flag for field, flag in REQUIRED if getattr(args, field) is None]
    if missing:
        if not sys.stdin.isatty() or str(args.conversation) == STDIN:
            raise FeedbackError(f"missing {', '.join(missing)} and no terminal to ask on; "
                                "pass them as flags to record feedback from a script")
        _interactive(args)
    record = store.record(args.type, args.message, user_id=args.user_id, conversation=args.turns,
                          turn=args.turn, expected=args.expected, bad_text=args.bad_text, source=args.source,
                          keep_pii_reason=args.keep_pii, system=args.system, target=args.target)
    masked = not record.pii_kept_reason and record.message != args.message
    print(f"recorded feedback {record.id} ({record.type}) in {store.path}"
          + ("; personal data in the description was masked" if masked else ""))
    return 0
