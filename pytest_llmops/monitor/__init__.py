"""Production monitoring: the suite's checks on live or logged interactions.

* :mod:`.settings`: ``[tool.llmops.monitor]``;
* :mod:`.service`: :class:`~.service.Monitor`, for services and for ``llmops monitor``;
* :mod:`.records`: reading an interaction from a record (field mapping);
* :mod:`.input`: reading lines from files, stdin, or a followed file;
* :mod:`.log`: the JSON Lines log; :mod:`.rotation`: rotating it and finding rotated copies;
* :mod:`.stats`: counters and a latency histogram in fixed memory;
* :mod:`.alerts`, :mod:`.metrics`: webhook alerts and Prometheus metrics (listeners);
* :mod:`.simulate`: the demo traffic of ``llmops monitor --simulate``.

Nothing here imports pytest; ``from pytest_llmops import Monitor`` is the public way in.
"""
