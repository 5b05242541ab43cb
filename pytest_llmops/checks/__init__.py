"""The checks: one exchange plus its expectations in, check results out.

* :mod:`.names`: every check's name and the category it falls in (pii, error, latency, content);
* :mod:`.checker`: :class:`Checker`, the project-wide defaults and the checks themselves.

Add a check in ``checker.py`` (its name in ``names.py``) and document it in docs/cases.md.
"""

from .checker import Checker

__all__ = ["Checker"]
