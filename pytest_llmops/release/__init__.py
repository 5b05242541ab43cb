"""Releasing: the gate that decides whether a run may become ``stable``, promotion and rollback.

* :mod:`.settings`: ``[tool.llmops.gate]`` thresholds, with flags on top;
* :mod:`.gate`: the verdict over a results file (and a baseline), as text and Markdown;
* :mod:`.promote`: ``promote`` (fast-forward ``stable``, tag, stored results) and ``rollback``.
"""
