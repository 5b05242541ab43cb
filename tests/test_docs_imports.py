"""Every import the docs show works, and names only the public API.

README.md and docs/*.md tell people what to import; a restructure must not leave them
pointing at modules that moved. A private module in a doc would be a promise we did not
mean to make, so the docs import from ``pytest_llmops`` and what ``__all__`` lists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pytest_llmops

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
IMPORT_RE = re.compile(r"^\s*(from pytest_llmops[\w.]* import [^#`\n]+|import pytest_llmops[\w.]*)", re.M)


def _imports(path: Path) -> list[str]:
    found = []
    for match in IMPORT_RE.finditer(path.read_text(encoding="utf-8")):
        statement = match.group(1).strip().rstrip(".,;")
        found.append(statement)
    # inline mentions in prose: `from pytest_llmops import record_feedback`
    found += re.findall(r"`(from pytest_llmops[\w.]* import [^`]+)`", path.read_text(encoding="utf-8"))
    return found


ALL_IMPORTS = [(path.name, statement) for path in DOCS for statement in _imports(path)]


def test_the_docs_show_imports_at_all():
    assert len(ALL_IMPORTS) >= 5, ALL_IMPORTS


@pytest.mark.parametrize("doc, statement", ALL_IMPORTS)
def test_each_import_in_the_docs_works_and_is_public(doc, statement):
    exec(statement, {})  # noqa: S102 - the docs' own import lines
    module = statement.split()[1]
    if statement.startswith("from pytest_llmops import "):
        names = [name.strip().split(" as ")[0] for name in statement.split(" import ", 1)[1].split(",")]
        assert set(names) <= set(pytest_llmops.__all__), f"{doc}: {statement} imports names not in __all__"
    else:
        assert module == "pytest_llmops", f"{doc}: {statement}: docs import from pytest_llmops itself"
