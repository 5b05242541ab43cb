"""Finding, loading and exporting the probe library shipped in this package.

The probes are ordinary case files loaded with :func:`pytest_llmops.cases.load_case_file`,
so the case contract and its line-numbered errors hold for them as for any suite. Each
file is one category; the category is the file's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..cases import LoadedCase, load_case_file
from ..errors import ConfigError
from ..jsonl import write_file_atomic
from . import PROBE_CATEGORIES

#: the tag every probe carries (``-m probe``); each also carries its category as a tag
PROBE_TAG = "probe"
EXPORT_HEADER = ("# Exported from the pytest-llmops {version} probe library (llmops probes export).\n"
                 "# An ordinary case file now: yours to own and edit; run it with pytest --llmops.\n")


@dataclass(frozen=True)
class Probe:
    """One probe: its category and its case."""

    category: str
    case: LoadedCase

    @property
    def name(self) -> str:
        """How runs and listings name it: ``probes/system-prompt/base64-1``."""
        return f"probes/{self.category}/{self.case.id}"


def probe_file(category: str) -> Path:
    """The shipped case file of ``category``."""
    return Path(__file__).with_name(f"{category}.yaml")


def parse_selection(text: str, option: str = "--llmops-probes") -> tuple[str, ...]:
    """``all`` or a comma-separated list of categories, in library order; ConfigError naming unknown ones."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ConfigError(f"{option}: name categories or all ({', '.join(PROBE_CATEGORIES)})")
    if "all" in names:
        return PROBE_CATEGORIES
    unknown = [name for name in names if name not in PROBE_CATEGORIES]
    if unknown:
        raise ConfigError(f"{option}: unknown probe categor{'y' if len(unknown) == 1 else 'ies'} "
                          f"{', '.join(unknown)}; choose from all, {', '.join(PROBE_CATEGORIES)}")
    return tuple(category for category in PROBE_CATEGORIES if category in names)


def load_probes(categories: tuple[str, ...] = PROBE_CATEGORIES) -> list[Probe]:
    """Every probe of ``categories``, in library order (CaseFileError if a shipped file were broken)."""
    return [Probe(category, case) for category in categories for case in load_case_file(probe_file(category))]


def holding_checks(probe: Probe) -> list[str]:
    """The checks that decide whether ``probe`` holds: those on for every reply, and the probe's own."""
    checks = {"no_pii", "no_secrets"} | ({"no_system_prompt_leak"} if probe.case.system else set())
    for expect in probe.case.turn_expects:
        checks |= {key for key, value in expect.model_dump(exclude_none=True).items()
                   if key not in ("max_latency_ms", "max_ttft_ms", "allow_pii", "no_error") and value is not False}
    return sorted(checks)


def export_probes(folder: Path, categories: tuple[str, ...] = PROBE_CATEGORIES, overwrite: bool = False) -> list[Path]:
    """Write the probe files of ``categories`` into ``folder`` as ordinary case files; returns their paths.

    Refuses (ConfigError, nothing written) when a file is already there, unless
    ``overwrite``: an exported probe file may hold the team's own edits.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} exists and is not a folder")
    targets = [(category, folder / f"{category}.yaml") for category in categories]
    existing = [str(path) for _, path in targets if path.exists()]
    if existing and not overwrite:
        raise ConfigError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; nothing was "
                          "written (use --force to replace, after keeping any edits you made)")
    written = []
    for category, path in targets:
        text = EXPORT_HEADER.format(version=__version__) + probe_file(category).read_text(encoding="utf-8")
        written.append(write_file_atomic(path, text.encode("utf-8"), mode=0o644))
    return written
