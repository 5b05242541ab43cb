"""Rendering a run's records for people: pure functions, no pytest, no I/O.

* :mod:`.summary`: the run summary (counts, latency percentiles, failed checks, PII) and its terminal lines;
* :mod:`.html`: the HTML report's summary box and each case's conversation;
* :mod:`.run_info`: git state and the targets the cases used, as the summary names them.
"""
