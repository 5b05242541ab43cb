"""The line reader under the monitor: any chunking gives the same lines; long lines are dropped, counted."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmops.monitor.input import LineSplitter


def split_in_chunks(data: bytes, cuts: list[int], max_bytes: int) -> list[tuple[int, bytes | None, int]]:
    splitter = LineSplitter("test", max_bytes)
    lines = []
    start = 0
    for cut in sorted(set(c % (len(data) + 1) for c in cuts)) + [len(data)]:
        lines.extend(splitter.feed(data[start:cut]))
        start = cut
    lines.extend(splitter.finish())
    return [(line.number, line.raw, line.length) for line in lines]


def expected_lines(data: bytes, max_bytes: int) -> list[tuple[int, bytes | None, int]]:
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    result = []
    for number, part in enumerate(parts, start=1):
        raw = part if len(part) <= max_bytes else None
        if raw is not None and raw.endswith(b"\r"):
            raw = raw[:-1]
        result.append((number, raw, len(part)))
    return result


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400).map(lambda b: b.replace(b"x", b"\n")),
       cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
       max_bytes=st.integers(min_value=1, max_value=60))
def test_any_chunking_gives_the_lines_bytes_split_gives(data, cuts, max_bytes):
    assert split_in_chunks(data, cuts, max_bytes) == expected_lines(data, max_bytes)


def test_an_overlong_line_is_never_held_whole():
    splitter = LineSplitter("test", 100)
    for fed in range(1, 1001):
        assert list(splitter.feed(b"y" * 10_000)) == []
        # every byte of the unfinished line is counted, none of it kept
        assert splitter.pending_bytes == 10_000 * fed and len(splitter._partial) == 0
    [line] = list(splitter.feed(b"tail\nok\n"))[:1]
    assert (line.number, line.raw, line.length) == (1, None, 10_000_004)
