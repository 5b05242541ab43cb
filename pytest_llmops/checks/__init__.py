"""The checks: one exchange plus its expectations in, check results out.

* :mod:`.names`: every check's name and the category it falls in (pii, error, latency, content);
* :mod:`.checker`: :class:`Checker`, the project-wide defaults, the plain checks, and the
  order every check runs in;
* :mod:`.judge` (a judge model grades a rubric; ``ask_judge`` for any check that needs one),
  :mod:`.similarity` (embedding similarity), :mod:`.tools` (tool calls), :mod:`.structured`
  (JSON and JSON Schema), :mod:`.tokens` (``max_tokens`` and prices);
* :mod:`.cache`: verdicts and embeddings on disk; :mod:`.settings`: ``[tool.llmops.judge]``,
  ``[tool.llmops.embeddings]``, ``[tool.llmops.prices]``.

Add a check in ``checker.py`` or a module of its own (its name in ``names.py``) and
document it in docs/checks.md.
"""

from .checker import Checker

__all__ = ["Checker"]
