"""The case model (the YAML contract of DESIGN.md) and loading files into it.

A case file is a mapping with optional ``defaults`` and a list of ``cases``. Unknown
keys are errors. Loading never lets a traceback escape for bad input: every problem
becomes a :class:`~pytest_llmops.errors.CaseFileError` line naming file, line and field.
Two limits (:class:`CaseLimits`, from ``[tool.llmops]``) keep one file from eating a
run: its size, and how many cases it expands to (cases times ``vars`` sets).

Which files are case files is decided here once for every front (pytest collection,
``llmops validate``, privacy, conversion): YAML files under the cases folder, reached
through symlinked folders and files too, except a symlink looping back above itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import validation
from .errors import CaseFileError
from .validation import dotted
from .pii.allowlist import check_allow_entries
from .tools import TOOL_NAME_RE, check_json_schema, merge_tools, tool_definitions
from .variables import NAME_RE, as_text, compile_capture, unknown_references, variant_labels
from .yaml_lines import LineDict, LineList, line_of, load_yaml_with_lines

if TYPE_CHECKING:
    from .config import Settings

#: the largest case file read, and the most cases one file may expand to (cases x vars sets)
DEFAULT_MAX_CASE_FILE_BYTES = 2_000_000
DEFAULT_MAX_CASES_PER_FILE = 10_000
RESERVED_TAGS = frozenset({"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"})
CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TAG_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _as_list(value: Any) -> Any:
    """Let a single string stand for a one-item list (``contains: "30 days"``)."""
    return [value] if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class JudgeExpect(_Strict):
    """``judge:``: a rubric the judge target grades the reply against (docs/checks.md)."""

    rubric: str = Field(min_length=1)
    min_score: float | None = Field(default=None, ge=0, le=1)


class SimilarExpect(_Strict):
    """``similar:``: the reply's embedding must be at least ``min`` cosine-similar to ``to``'s."""

    to: str = Field(min_length=1)
    min: float = Field(ge=-1, le=1)


class ToolCallExpect(_Strict):
    """One call the bot must make in the turn: this function, with at least these arguments."""

    name: str = Field(pattern=TOOL_NAME_RE.pattern)
    args: dict[str, Any] | None = None


class JsonExpect(_Strict):
    """``json: {schema: ...}``: the reply parses as JSON and validates against a JSON Schema."""

    model_config = ConfigDict(populate_by_name=True)

    json_schema: dict[str, Any] = Field(alias="schema")


def _json_key(value: Any) -> Any:
    """``json:`` is true, false or ``{schema: ...}``; one clear sentence for anything else."""
    if value is None or isinstance(value, (bool, JsonExpect)):
        return value
    if isinstance(value, dict) and set(value) == {"schema"}:
        check_json_schema(value["schema"], "schema")
        return JsonExpect(schema=value["schema"])
    raise ValueError("json must be true, false or {schema: {...a JSON Schema...}}")


class Expect(_Strict):
    """What one reply must satisfy. ``None`` means "not set here": a wider level decides."""

    model_config = ConfigDict(populate_by_name=True)

    contains: list[str] | None = None
    not_contains: list[str] | None = None
    matches: list[str] | None = None
    not_matches: list[str] | None = None
    equals: str | None = None
    max_latency_ms: float | None = Field(default=None, gt=0)
    max_ttft_ms: float | None = Field(default=None, gt=0)  # time to first token; needs a streaming target
    no_pii: bool | None = None
    no_error: bool | None = None
    no_secrets: bool | None = None  # no API key, token or private key in the reply (on by default)
    no_system_prompt_leak: bool | None = None  # no run of the system prompt, no canary (on by default)
    refusal: bool | None = None  # true: the reply declines; false: it does not (docs/probes.md)
    allow_pii: list[str | dict[str, str]] | None = None  # values the bot may say; levels add up (docs/pii.md)
    judge: JudgeExpect | None = None  # a rubric for the judge target ([tool.llmops.judge])
    similar: SimilarExpect | None = None  # embedding similarity ([tool.llmops.embeddings])
    tool_calls: list[ToolCallExpect] | None = None  # calls the bot must make this turn (arguments as a subset)
    no_tool_calls: bool | None = None
    json_reply: bool | JsonExpect | None = Field(default=None, alias="json")  # the reply is JSON (+ a schema)
    max_tokens: int | None = Field(default=None, gt=0)  # completion tokens of this reply

    @field_validator("judge", mode="before", json_schema_input_type=str | JudgeExpect | None)
    @classmethod
    def _rubric_alone(cls, value: Any) -> Any:
        return {"rubric": value} if isinstance(value, str) else value

    _json_valid = field_validator("json_reply", mode="before")(classmethod(lambda cls, v: _json_key(v)))

    # json_schema_input_type: the published schema (case_file_json_schema) accepts what the loader accepts
    @field_validator("allow_pii", mode="before",
                     json_schema_input_type=str | list[str | dict[str, str]] | None)
    @classmethod
    def _allow_pii_entries(cls, value: Any) -> Any:
        return check_allow_entries(_as_list(value))

    @field_validator("contains", "not_contains", "matches", "not_matches", mode="before",
                     json_schema_input_type=str | list[str] | None)
    @classmethod
    def _one_string_is_a_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("matches", "not_matches")
    @classmethod
    def _regexes_compile(cls, patterns: list[str] | None) -> list[str] | None:
        for pattern in patterns or ():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return patterns

    def merged(self, narrower: "Expect | None") -> "Expect":
        """This expectation with every key that ``narrower`` sets taken from ``narrower``."""
        if narrower is None:
            return self
        update = {name: getattr(narrower, name) for name in type(narrower).model_fields
                  if getattr(narrower, name) is not None}
        if self.allow_pii and narrower.allow_pii:  # allowlists add up from file to case to turn
            update["allow_pii"] = [*self.allow_pii, *narrower.allow_pii]
        return self.model_copy(update=update)


def _check_tags(tags: list[str]) -> list[str]:
    for tag in tags:
        if not TAG_PATTERN.match(tag):
            raise ValueError(f"tag {tag!r} is not a valid marker name (letters, digits, '_' and '-')")
        if tag in RESERVED_TAGS:
            raise ValueError(f"tag {tag!r} is a built-in pytest marker; choose another name")
    return tags


class Turn(_Strict):
    """One user message and what the reply to it must satisfy."""

    user: str = Field(min_length=1)
    expect: Expect | None = None
    save: dict[str, str] | None = None  # variable name -> regex; later turns use {name}

    @field_validator("save")
    @classmethod
    def _save_names_and_patterns(cls, save: dict[str, str] | None) -> dict[str, str] | None:
        for name, pattern in (save or {}).items():
            if not NAME_RE.match(name):
                raise ValueError(f"variable name {name!r} must be letters, digits and '_' (not starting with a digit)")
            compile_capture(pattern)
        return save


VarValue = str | int | float


def _check_var_names(values: dict[str, VarValue]) -> dict[str, VarValue]:
    for name in values:
        if not NAME_RE.match(name):
            raise ValueError(f"variable name {name!r} must be letters, digits and '_' (not starting with a digit)")
    return values


class _RepeatKeys(_Strict):
    """How often a case is replayed and how many runs must pass (case or file defaults)."""

    repeat: int | None = Field(default=None, ge=1, le=1000)
    min_pass: int | None = Field(default=None, ge=1)
    min_pass_rate: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one_threshold(self) -> "_RepeatKeys":
        if self.min_pass is not None and self.min_pass_rate is not None:
            raise ValueError("set min_pass or min_pass_rate, not both")
        return self


class Case(_RepeatKeys):
    """One conversation: a pytest item."""

    id: str = Field(pattern=CASE_ID_PATTERN)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    system: str | None = None
    target: str | None = None  # a [tool.llmops.targets.NAME] this case must run against
    expect: Expect | None = None
    turns: list[Turn] = Field(min_length=1)
    vars: dict[str, VarValue] | None = None  # fixed values for {name}, over the file's vars
    tools: list[dict[str, Any]] | None = None  # offered to the bot (docs/checks.md#tool_calls)
    tool_results: dict[str, Any] | None = None  # tool name -> canned result sent back when the bot calls it

    _tags_valid = field_validator("tags")(classmethod(lambda cls, v: _check_tags(v)))
    _vars_valid = field_validator("vars")(classmethod(lambda cls, v: v and _check_var_names(v)))
    _tools_valid = field_validator("tools")(classmethod(lambda cls, v: v and tool_definitions(v)))


class Defaults(_RepeatKeys):
    """Keys merged into every case of a file."""

    tags: list[str] = Field(default_factory=list)
    system: str | None = None
    target: str | None = None  # pins every case of the file to this target
    expect: Expect | None = None
    tools: list[dict[str, Any]] | None = None
    tool_results: dict[str, Any] | None = None

    _tags_valid = field_validator("tags")(classmethod(lambda cls, v: _check_tags(v)))
    _tools_valid = field_validator("tools")(classmethod(lambda cls, v: v and tool_definitions(v)))


class CaseFile(_Strict):
    defaults: Defaults = Field(default_factory=Defaults)
    # fixed values for {name}; a list of value sets runs every case once per set
    vars: dict[str, VarValue] | list[dict[str, VarValue]] | None = None
    cases: list[Case] = Field(min_length=1)

    @field_validator("vars")
    @classmethod
    def _var_sets_valid(cls, value: Any) -> Any:
        sets = value if isinstance(value, list) else [value] if value is not None else []
        if isinstance(value, list) and not value:
            raise ValueError("a list of vars needs at least one set of values")
        for values in sets:
            _check_var_names(values)
        return value

    def var_sets(self) -> list[dict[str, VarValue]]:
        """The file's value sets: one (maybe empty) unless ``vars`` is a list."""
        if isinstance(self.vars, list):
            return list(self.vars)
        return [dict(self.vars or {})]


@dataclass(frozen=True)
class LoadedCase:
    """A case with the file's defaults merged in, ready to replay."""

    path: Path
    line: int
    case: Case
    tags: tuple[str, ...]
    system: str | None
    turn_expects: tuple[Expect, ...]
    extra: dict = field(default_factory=dict)
    target: str | None = None  # pinned by the case or its file; None means the run's target
    variables: dict[str, str] = field(default_factory=dict)  # fixed {name} values (file and case vars)
    variant: str | None = None  # which set of the file's vars list, e.g. "48212"; part of the id
    repeat: int = 1  # replays of this case (repeat:), before --llmops-repeat
    min_pass: int | None = None  # runs that must pass; None: see min_pass_rate
    min_pass_rate: float | None = None  # share of runs that must pass; both None: every run
    tools: tuple[dict[str, Any], ...] = ()  # the file's and the case's tool definitions (OpenAI shape)
    tool_results: dict[str, Any] = field(default_factory=dict)  # tool name -> canned result

    @property
    def id(self) -> str:
        return f"{self.case.id}[{self.variant}]" if self.variant is not None else self.case.id


def _describe(error: dict) -> tuple[tuple, tuple, str]:
    """Turn one pydantic error into (field shown, field whose line is quoted, sentence).

    Unlike config errors, a case file's rejected value is quoted: it is the author's own
    test text, and seeing it ("got bool True") is what explains a YAML surprise.
    """
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return loc[:-1], loc, f"unknown key {loc[-1]!r}"
    if kind == "missing":
        return loc[:-1], loc[:-1], f"missing required key {loc[-1]!r}"
    message = validation.message(error)
    value = error.get("input")
    if kind.endswith("_type") and not isinstance(value, (dict, list)):
        message += f" (got {type(value).__name__} {value!r})"[:200]
        if isinstance(value, bool) and kind == "string_type":
            message += "; YAML reads yes/no/on/off/true/false as booleans: put the text in quotes"
    return loc, loc, message


def _validation_problems(path: Path, data: Any, exc: ValidationError, prefix: tuple = ()) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        shown, located, message = _describe(error)
        line = line_of(data, prefix + located) or 1
        where = dotted(prefix + shown)
        problems.append(f"{path}:{line}: {where + ': ' if where else ''}{message}")
    return problems


@dataclass(frozen=True)
class CaseLimits:
    """How big one case file may be: ``max_case_file_bytes`` on disk, ``max_cases_per_file`` once expanded."""

    max_bytes: int = DEFAULT_MAX_CASE_FILE_BYTES
    max_cases: int = DEFAULT_MAX_CASES_PER_FILE

    @classmethod
    def from_settings(cls, settings: "Settings") -> "CaseLimits":
        return cls(max_bytes=settings.max_case_file_bytes, max_cases=settings.max_cases_per_file)


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)  # never more than the limit in memory, whatever the file claims
    except OSError as exc:
        raise CaseFileError(path, [f"{path}: cannot read file: {exc.strerror or exc}"]) from None
    if len(raw) > max_bytes:
        size = _size_of(path)
        raise CaseFileError(path, [f"{path}: file is {size} bytes, more than the limit of {max_bytes:,} "
                                   "(max_case_file_bytes in [tool.llmops]); split it into smaller files"])
    if b"\x00" in raw:
        raise CaseFileError(path, [f"{path}:1: not a text file (binary data); a case file is UTF-8 YAML"])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CaseFileError(path, [f"{path}:{line}: not valid UTF-8 text; a case file is UTF-8 YAML"]) from None


def _size_of(path: Path) -> str:
    try:
        return f"{path.stat().st_size:,}"
    except OSError:
        return "more"


def _parse(path: Path, text: str) -> Any:
    try:
        return load_yaml_with_lines(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise CaseFileError(path, [f"{path}:{line}: YAML syntax error: {reason}"]) from None
    except yaml.YAMLError as exc:
        raise CaseFileError(path, [f"{path}:1: YAML error: {exc}"]) from None


def _duplicate_id_problems(path: Path, data: Any, cases: list[Case]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for index, case in enumerate(cases):
        line = line_of(data, ("cases", index, "id")) or 1
        if case.id in seen:
            problems.append(f"{path}:{line}: cases[{index}].id: duplicate id {case.id!r} (first used on line {seen[case.id]})")
        else:
            seen[case.id] = line
    return problems


def _expansion_problem(path: Path, data: Any, max_cases: int) -> str | None:
    """Too many cases once ``vars`` sets multiply them, counted before anything is validated or expanded."""
    if not isinstance(data, dict):
        return None
    cases, sets = data.get("cases"), data.get("vars")
    count = (len(cases) if isinstance(cases, list) else 0) * (len(sets) if isinstance(sets, list) and sets else 1)
    if count <= max_cases:
        return None
    how = f"{len(sets):,} vars sets x {len(cases):,} cases = " if isinstance(sets, list) and len(sets) > 1 else ""
    return (f"{path}:{line_of(data, ('cases',)) or 1}: the file expands to {how}{count:,} cases, more than the "
            f"limit of {max_cases:,} per file (max_cases_per_file in [tool.llmops]); split it into smaller files")


def parse_case_file(path: Path, data: Any, limits: CaseLimits | None = None) -> CaseFile:
    """Validate parsed YAML ``data`` as a case file, or raise CaseFileError listing every problem."""
    problem = _expansion_problem(path, data, (limits or CaseLimits()).max_cases)
    if problem:
        raise CaseFileError(path, [problem])
    if data is None:
        raise CaseFileError(path, [f"{path}:1: file is empty; expected a mapping with a 'cases' list"])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        line = getattr(data, "line", 1)
        raise CaseFileError(path, [f"{path}:{line}: top level is {kind}; expected a mapping with a 'cases' list"])
    try:
        model = CaseFile.model_validate(data)
    except ValidationError as exc:
        raise CaseFileError(path, _validation_problems(path, data, exc)) from None
    problems = _duplicate_id_problems(path, data, model.cases)
    problems += _variable_problems(path, data, model) + _repeat_problems(path, data, model)
    if problems:
        raise CaseFileError(path, problems)
    return model


def _variable_problems(path: Path, data: Any, model: CaseFile) -> list[str]:
    """Every ``{name}`` used before it is defined (by the file's or case's vars, or an earlier save)."""
    problems: list[str] = []
    for index, case in enumerate(model.cases):
        system = case.system if case.system is not None else model.defaults.system
        for values in model.var_sets():
            fixed = set(values) | set(case.vars or {})
            for loc, message in unknown_references(case, system, fixed):
                full = ("cases", index, *loc) if loc[0] != "system" or case.system is not None else ("defaults", "system")
                problem = f"{path}:{line_of(data, full) or 1}: {dotted(full)}: {message}"
                if problem not in problems:
                    problems.append(problem)
    return problems


def _repeat_settings(model: CaseFile, case: Case) -> tuple[int, int | None, float | None, tuple]:
    """(repeat, min_pass, min_pass_rate, where the threshold was set) for a case, over its file's defaults."""
    defaults = model.defaults
    repeat = case.repeat or defaults.repeat or 1
    if case.min_pass is not None or case.min_pass_rate is not None:
        return repeat, case.min_pass, case.min_pass_rate, ("case",)
    return repeat, defaults.min_pass, defaults.min_pass_rate, ("defaults", "min_pass")


def _repeat_problems(path: Path, data: Any, model: CaseFile) -> list[str]:
    problems = []
    for index, case in enumerate(model.cases):
        repeat, min_pass, _, where = _repeat_settings(model, case)
        if min_pass is not None and min_pass > repeat:
            loc = ("cases", index, "min_pass") if where == ("case",) else where
            problems.append(f"{path}:{line_of(data, loc) or 1}: {dotted(loc)}: min_pass {min_pass} is more "
                            f"than the {repeat} run(s) of repeat; set repeat: {min_pass} or more")
    return problems


def resolve_cases(path: Path, data: Any, model: CaseFile) -> list[LoadedCase]:
    """Merge the file's defaults into each case."""
    loaded = []
    defaults = model.defaults
    base_expect = defaults.expect or Expect()
    var_sets = model.var_sets()
    labels = variant_labels(var_sets) if isinstance(model.vars, list) else [None]
    for index, case in enumerate(model.cases):
        case_expect = base_expect.merged(case.expect)
        tags = tuple(dict.fromkeys([*defaults.tags, *case.tags]))
        repeat, min_pass, min_pass_rate, _ = _repeat_settings(model, case)
        for values, label in zip(var_sets, labels):
            loaded.append(LoadedCase(
                path=path,
                line=line_of(data, ("cases", index)) or 1,
                case=case,
                tags=tags,
                system=case.system if case.system is not None else defaults.system,
                turn_expects=tuple(case_expect.merged(turn.expect) for turn in case.turns),
                target=case.target if case.target is not None else defaults.target,
                variables=as_text({**values, **(case.vars or {})}),
                variant=label,
                repeat=repeat,
                min_pass=min_pass,
                min_pass_rate=min_pass_rate,
                tools=tuple(merge_tools(defaults.tools or (), case.tools or ())),
                tool_results={**(defaults.tool_results or {}), **(case.tool_results or {})},
            ))
    return loaded


#: the case file schema's identifier (docs/cases.schema.json is the schema, written out)
CASES_SCHEMA_ID = "https://pytest-llmops.invalid/schemas/cases.schema.json"


def case_file_json_schema() -> dict[str, Any]:
    """The JSON Schema of a case file, generated from :class:`CaseFile` (what editors complete and check).

    docs/cases.schema.json is this, written out; ``llmops schema cases`` prints it. Checks
    that need more than one field (duplicate ids, ``{name}`` defined before use, min_pass
    within repeat) are the loader's: ``llmops validate`` runs them all.
    """
    schema = CaseFile.model_json_schema()
    schema["title"] = "pytest-llmops case file"
    schema["description"] = ("Conversation cases replayed against a chatbot, with what every reply must satisfy "
                             "(docs/cases.md). Validate completely with: llmops validate")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": CASES_SCHEMA_ID, **schema}


#: what a case file's name ends with
CASE_SUFFIXES = (".yaml", ".yml")


def is_case_file_name(path: Path | str) -> bool:
    """True when ``path`` is named like a case file (``.yaml`` or ``.yml``)."""
    return str(path).endswith(CASE_SUFFIXES)


def is_symlink_loop(folder: Path) -> bool:
    """True when ``folder`` is a symlink to a folder it lies in (as walked): walking into it would never end."""
    if not folder.is_symlink():
        return False
    try:
        target = folder.resolve(strict=True)
        return any(above.resolve() == target for above in Path(os.path.abspath(folder)).parents)
    except (OSError, RuntimeError):  # a link to nowhere, or a chain of links that never ends
        return True


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder`` as written (through a symlink inside it) or once resolved."""
    given = Path(os.path.abspath(path))
    return given.is_relative_to(folder) or given.resolve().is_relative_to(folder)


def case_files_in(folder: Path) -> list[Path]:
    """Every case file under ``folder``, sorted (none when it is not a folder).

    Symlinked folders and files are followed, as pytest follows them when it collects,
    so ``llmops validate`` and a run see the same files; a symlink looping back above
    itself is not entered.
    """
    if not folder.is_dir():
        return []
    found = []
    for current, folders, files in os.walk(folder, followlinks=True):
        here = Path(current)
        folders[:] = [name for name in folders if not is_symlink_loop(here / name)]
        found.extend(here / name for name in files if is_case_file_name(name) and (here / name).is_file())
    return sorted(found)


#: what a front says when there is nothing to run yet
START_HINT = "run `llmops init` to write a [tool.llmops] section and starter cases here"


def no_cases_reason(folder: Path) -> str | None:
    """Why ``folder`` holds no cases to run (it does not exist, or holds no case file), or None."""
    if not folder.is_dir():
        return f"no case folder: {folder} does not exist"
    if not case_files_in(folder):
        return f"no case files (*.yaml, *.yml) in {folder}"
    return None


def load_case_file(path: Path | str, limits: CaseLimits | None = None) -> list[LoadedCase]:
    """Read, parse and validate one case file. Raises CaseFileError naming file, line and field.

    ``limits`` (default :class:`CaseLimits`) refuses a file too big to read or to expand.
    """
    path = Path(path)
    limits = limits or CaseLimits()
    data = _parse(path, _read_text(path, limits.max_bytes))
    model = parse_case_file(path, data, limits)
    return resolve_cases(path, data, model)


__all__ = ["Expect", "JudgeExpect", "SimilarExpect", "ToolCallExpect", "JsonExpect", "Turn", "Case", "Defaults",
           "CaseFile", "LoadedCase", "CaseLimits", "load_case_file", "parse_case_file", "resolve_cases", "LineDict",
           "LineList", "CASE_SUFFIXES", "is_case_file_name", "case_files_in", "is_within", "is_symlink_loop",
           "no_cases_reason", "START_HINT", "case_file_json_schema", "CASES_SCHEMA_ID"]
