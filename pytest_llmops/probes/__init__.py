"""The safety probe library: attacks a support bot meets on day one, as ordinary case files.

One YAML file per category (``pii-fishing.yaml``, ``system-prompt.yaml``, ...) ships in
this package and is versioned with it; :mod:`.library` finds, loads and exports them.
``pytest --llmops --llmops-probes=all`` runs them (docs/probes.md). Like the other
feature packages, this ``__init__`` imports nothing: the plugin's entry point reads the
category names from here in every pytest run.
"""

#: the categories, in the order summaries list them (one case file each)
PROBE_CATEGORIES: tuple[str, ...] = (
    "pii-fishing", "system-prompt", "prompt-injection", "jailbreak", "unsafe-commitments", "harmful",
)
