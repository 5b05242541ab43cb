"""Turning production evidence into regression cases.

* :mod:`.core`: candidates, planning (deduplication), writing case files idempotently;
* :mod:`.from_feedback`: feedback records -> candidates;
* :mod:`.from_monitor`: flagged monitor log lines -> candidates.

A new source builds ``RegressionCandidate`` s and hands them to ``core.plan_cases`` and
``core.write_cases``; its command goes in ``cli/cases.py``'s ``SUBCOMMANDS``.
"""
