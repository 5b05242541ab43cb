"""Privacy tooling over every store: export, erasure, rectification and retention.

* :mod:`.settings`: ``[tool.llmops.privacy]`` (store paths, retention, pseudonymisation);
* :mod:`.stores`: where data about people is, and checking documents that must hold none;
* :mod:`.operations`: the data-subject requests and the retention purge, audited.
"""
