"""Turning production evidence into regression cases.

* :mod:`.core`: candidates, planning (deduplication), writing case files idempotently (with
  realistic stand-ins for masked personal data, so a regression case can fail);
* :mod:`.claims`: the wrong claim of a wrong answer, as a check that catches it reworded;
* :mod:`.from_feedback`: feedback records -> candidates;
* :mod:`.from_monitor`: flagged monitor log lines -> candidates.

A new source builds ``RegressionCandidate`` s and hands them to ``core.plan_cases`` and
``core.write_cases``; its command goes in ``cli/cases.py``'s ``SUBCOMMANDS``.
"""
