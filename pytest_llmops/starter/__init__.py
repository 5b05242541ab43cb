"""``llmops init``: what a new project needs, added without touching what is there.

* ``pyproject.toml``: a ``[tool.llmops]`` section (the file is created if needed; an
  existing section is left alone), with commented target tables for an OpenAI-compatible
  API, a JSON endpoint and a Python function, or one filled in from the options;
* the case folder: starter cases that pass against the stub bot and show every default
  check (only when it holds no case file yet), and the case files' JSON Schema beside them;
* ``.gitignore``: reports, stores of personal data and their lock files;
* with ``ci="github"``: a GitHub Actions workflow that replays the cases and keeps the report.

:func:`plan` decides every change first (nothing is written when anything is wrong);
:func:`apply` writes them. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import __version__
from ..cases import case_file_json_schema, case_files_in
from ..config import Settings, read_tool_table
from ..errors import ConfigError
from ..jsonl import write_file_atomic
from ..targets import option_names, target_class
from ..validation import table_problems

#: the name of the target table ``llmops init --target`` fills in
TARGET_NAME = "chatbot"
STARTER_FILE = "starter.yaml"
SCHEMA_FILE = "cases.schema.json"
WORKFLOW = Path(".github/workflows/llmops.yml")
KINDS = ("openai", "http", "python")

_EXAMPLES = {
    "openai": ("An OpenAI-compatible API (OpenAI, vLLM, Ollama, llama.cpp server, LiteLLM)",
               {"type": "openai", "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini",
                "api_key_env": "OPENAI_API_KEY", "system": "You are Acme's support assistant."}),
    "http": ("A JSON endpoint", {"type": "http", "url": "https://support.example/api/chat",
                                 "body": {"message": "{message}", "history": "{history}"}, "reply_path": "reply"}),
    "python": ("A Python function, def reply(messages) -> str", {"type": "python", "callable": "mybot:reply"}),
}
_COMMENTS = {"api_key_env": "the variable's name: the key itself never goes in this file",
             "system": "the chatbot's system prompt; a case or file may set its own"}


@dataclass
class TargetChoice:
    """The chatbot to describe in ``[tool.llmops.targets.chatbot]`` (``llmops init --target ...``)."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)  # given options only (base_url, model, ...)


@dataclass
class Change:
    """One file ``llmops init`` writes, or leaves as it is (``data`` None), and what it says about it."""

    path: Path
    note: str
    data: bytes | None = None
    mode: int = 0o644

    @property
    def writes(self) -> bool:
        return self.data is not None


def _template(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _toml_value(value: Any) -> str:
    """A TOML literal for a string, number, bool, list or table (TOML's basic strings escape like JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _table(options: dict[str, Any], commented: bool) -> str:
    prefix = "# " if commented else ""
    lines = [f"{prefix}[tool.llmops.targets.{TARGET_NAME}]"]
    for key, value in options.items():
        comment = f"   # {_COMMENTS[key]}" if key in _COMMENTS else ""
        lines.append(f"{prefix}{key} = {_toml_value(value)}{comment}")
    return "\n".join(lines)


def chosen_table(choice: TargetChoice) -> str:
    """``[tool.llmops.targets.chatbot]`` filled in from ``llmops init --target ...``."""
    return (f"# Your chatbot (llmops init --target {choice.kind}); every option: docs/targets.md.\n"
            f"# Replay against it with: pytest --llmops --llmops-target={TARGET_NAME}\n"
            + _table({"type": choice.kind, **choice.options}, commented=False) + "\n")


def target_tables(choice: TargetChoice | None) -> str:
    """The target tables: the chosen one filled in, every other kind as a commented example."""
    parts = [chosen_table(choice).rstrip("\n")] if choice is not None else []
    others = [kind for kind in KINDS if choice is None or kind != choice.kind]
    intro = ("# Your chatbot: uncomment one of these, then run pytest --llmops --llmops-target="
             f"{TARGET_NAME}\n# (or set target = \"{TARGET_NAME}\" above). Every option: docs/targets.md."
             if choice is None else "# Other kinds of target (give each its own name under targets.):")
    examples = [intro]
    for kind in others:
        title, options = _EXAMPLES[kind]
        examples.append(f"#\n# {title}:\n" + _table(options, commented=True))
    parts.append("\n".join(examples))
    return "\n\n".join(parts) + "\n"


def llmops_section(choice: TargetChoice | None) -> str:
    """A new ``[tool.llmops]`` section for pyproject.toml."""
    return ("[tool.llmops]\n"
            "# pytest-llmops (written by llmops init). Every key: the README's \"Options\" table.\n"
            'cases_dir = "eval_cases"\n'
            'target = "stub"          # the built-in bot, so the starter cases pass at once\n'
            "max_latency_ms = 5000    # the default limit for every reply\n"
            "\n"
            "[tool.llmops.pii]\n"
            "allowlist = []           # what your bot may say on purpose, e.g. your own hotline\n"
            "\n" + target_tables(choice))


def check_target(choice: TargetChoice, pyproject: Path) -> None:
    """ConfigError (before anything is written) for options the chosen kind would refuse."""
    model = target_class(choice.kind).options_model
    try:
        model.model_validate(choice.options)
    except ValidationError as exc:
        raise ConfigError(table_problems(pyproject, f"tool.llmops.targets.{TARGET_NAME}", exc,
                                         option_names(choice.kind), label=f"target {TARGET_NAME!r}")) from None


def _cases_dir(table: dict[str, Any], root: Path) -> str:
    """The case folder an existing ``[tool.llmops]`` names (its problems are ``llmops validate``'s to report)."""
    try:
        return Settings.model_validate({**table, "root": root}).cases_dir
    except ValidationError:
        value = table.get("cases_dir")
        return value if isinstance(value, str) else "eval_cases"


def _pyproject_change(root: Path, choice: TargetChoice | None) -> tuple[Change, str]:
    """The pyproject.toml change, and the case folder its [tool.llmops] names."""
    path = root / "pyproject.toml"
    if not path.exists():
        return Change(path, "created, with a [tool.llmops] section", llmops_section(choice).encode()), "eval_cases"
    table = read_tool_table(root)  # ConfigError for a file that is not TOML: nothing is written then
    if not table:
        addition, cases_dir = llmops_section(choice), "eval_cases"
        note = "added a [tool.llmops] section at the end; nothing else changed"
    else:
        cases_dir = _cases_dir(table, root)
        targets = table.get("targets", {})
        if choice is None or (isinstance(targets, dict) and TARGET_NAME in targets):
            kept = f" and [tool.llmops.targets.{TARGET_NAME}]" if choice is not None else ""
            return Change(path, f"kept: it already has a [tool.llmops] section{kept}"), cases_dir
        addition = chosen_table(choice)
        note = f"added [tool.llmops.targets.{TARGET_NAME}] at the end; nothing else changed"
    text = path.read_text(encoding="utf-8")
    new_text = text + ("" if not text or text.endswith("\n") else "\n") + "\n" + addition
    try:
        tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: adding to it would not be valid TOML ({exc}); nothing was written. "
                          f"Add this by hand:\n{addition}") from None
    return Change(path, note, new_text.encode()), cases_dir


def _cases_changes(root: Path, cases_dir: str) -> list[Change]:
    folder = root / cases_dir
    schema = (json.dumps(case_file_json_schema(), indent=2) + "\n").encode()
    schema_path = folder / SCHEMA_FILE
    changes = []
    existing = case_files_in(folder)
    if existing:
        changes.append(Change(folder, f"kept: it already holds {len(existing)} case file(s)"))
    else:
        changes.append(Change(folder / STARTER_FILE, "created: starter cases that pass against the stub bot",
                              _template(STARTER_FILE).encode()))
    if not schema_path.exists():
        changes.append(Change(schema_path, "created: the case files' JSON Schema, for editors", schema))
    elif schema_path.read_bytes() != schema:
        changes.append(Change(schema_path, f"updated to pytest-llmops {__version__}'s case format", schema))
    else:
        changes.append(Change(schema_path, "kept: already current"))
    return changes


def _gitignore_change(root: Path) -> Change:
    path = root / ".gitignore"
    wanted = _template("gitignore").splitlines()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in wanted if not line.startswith("#") and line not in present]
    if not missing:
        return Change(path, "kept: already ignores reports, personal-data stores and lock files")
    block = [wanted[0], *missing]
    new_text = text + ("" if not text or text.endswith("\n") else "\n") + ("\n" if text else "") + "\n".join(block) + "\n"
    note = "created" if not text else f"added {len(missing)} line(s)"
    return Change(path, f"{note}: reports, personal-data stores and their lock files stay out of git",
                  new_text.encode())


def workflow_text(choice: TargetChoice | None) -> str:
    """The GitHub Actions workflow: the version pinned, the API key's variable from a secret."""
    key = (choice.options.get("api_key_env") if choice is not None else None)
    env = f"\n        env:\n          {key}: ${{{{ secrets.{key} }}}}" if key else ""
    return _template("github-workflow.yml").replace("%VERSION%", __version__).replace("%ENV%", env)


def _workflow_change(root: Path, choice: TargetChoice | None) -> Change:
    path = root / WORKFLOW
    if path.exists():
        return Change(path, "kept: it exists")
    return Change(path, "created: replays the cases on every push and keeps the HTML report",
                  workflow_text(choice).encode())


def plan(root: Path, choice: TargetChoice | None = None, ci: str | None = None) -> list[Change]:
    """Every change ``llmops init`` would make in ``root``; ConfigError (nothing written) if one cannot be made."""
    root = root.resolve()
    if choice is not None:
        check_target(choice, root / "pyproject.toml")
    pyproject, cases_dir = _pyproject_change(root, choice)
    changes = [pyproject, *_cases_changes(root, cases_dir), _gitignore_change(root)]
    if ci == "github":
        changes.append(_workflow_change(root, choice))
    return changes


def apply(changes: list[Change]) -> list[Change]:
    """Write every change that writes; returns them."""
    for change in changes:
        if change.data is not None:
            write_file_atomic(change.path, change.data, mode=change.mode)
    return changes


__all__ = ["TargetChoice", "Change", "plan", "apply", "llmops_section", "target_tables", "chosen_table", "workflow_text",
           "TARGET_NAME", "KINDS"]
