"""Reading a reply body under a size limit, counted on the wire and unpacked, while it streams.

httpx unpacks a compressed body one network read at a time and without a bound on
what one read unpacks to: 64 KiB of a gzip bomb become 64 MB at once, and a bomb
gzipped twice (``Content-Encoding: gzip, gzip``) becomes the whole gigabyte in one
call. So the HTTP targets read the raw bytes and unpack them here, in pieces of at
most :data:`PIECE_BYTES`, counting both sides and stopping as soon as either passes
the limit: memory stays bounded whatever the server sends. Only the encodings we ask
for (``Accept-Encoding: gzip, deflate``) are unpacked; any other is a bad response.
"""

from __future__ import annotations

import zlib
from typing import Iterable, Iterator

from ..errors import TargetResponseError
from .base import reply_too_large

PIECE_BYTES = 64 * 1024
#: what every HTTP target asks for: the encodings :class:`BodyReader` can unpack with a bound
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class _Inflater:
    """One content encoding undone, never producing more than PIECE_BYTES per step."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.wbits = _WBITS[encoding]
        self.inflater = zlib.decompressobj(self.wbits)
        self.started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                piece = self.inflater.decompress(data, PIECE_BYTES)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self.started and self.wbits > 0:
                    # "deflate" is zlib-wrapped by the standard and raw in practice: accept both, as httpx does
                    self.wbits = -zlib.MAX_WBITS
                    self.inflater = zlib.decompressobj(self.wbits)
                    continue
                raise TargetResponseError(f"reply body is not valid {self.encoding} data ({exc})") from None
            self.started = True
            if piece:
                yield piece
            data = self.inflater.unconsumed_tail
            if self.inflater.eof or (not data and len(piece) < PIECE_BYTES):
                return  # after the end of the stream, trailing bytes are ignored (as httpx does)

    def finish(self) -> Iterator[bytes]:
        rest = self.inflater.flush()
        if rest:
            yield rest


def _decoders(content_encoding: str) -> list[_Inflater]:
    """The decoders for a Content-Encoding header, in the order they must run (the last applied first)."""
    names = [name.strip().lower() for name in content_encoding.split(",") if name.strip()]
    unknown = [name for name in names if name != "identity" and name not in _WBITS]
    if unknown:
        raise TargetResponseError(f"reply uses content-encoding {unknown[0]!r}, which was not asked for "
                                  f"(Accept-Encoding: {ACCEPT_ENCODING})")
    return [_Inflater(name) for name in reversed(names) if name != "identity"]


class BodyReader:
    """Turns raw body chunks into unpacked pieces, failing with ``reply_too_large`` past ``limit`` bytes on either side."""

    def __init__(self, content_encoding: str, limit: int):
        self.limit = limit
        self.decoders = _decoders(content_encoding)
        self.wire_bytes = 0
        self.body_bytes = 0

    def check_length(self, content_length: str | None) -> None:
        """Refuse at once a body that announces more bytes than the limit."""
        if content_length is not None and content_length.strip().isdigit() and int(content_length) > self.limit:
            raise reply_too_large(self.limit)

    def feed(self, raw: bytes) -> Iterator[bytes]:
        self.wire_bytes += len(raw)
        if self.wire_bytes > self.limit:
            raise reply_too_large(self.limit)
        yield from self._counted(self._through([raw], 0))

    def finish(self) -> Iterator[bytes]:
        """What the decoders still hold once the raw body has ended."""
        for index, decoder in enumerate(self.decoders):
            yield from self._counted(self._through(decoder.finish(), index + 1))

    def _through(self, pieces: Iterable[bytes], start: int) -> Iterator[bytes]:
        """``pieces`` passed through decoders ``start`` onwards, lazily: one bounded piece at a time."""
        if start == len(self.decoders):
            yield from pieces
            return
        decoder = self.decoders[start]
        for piece in pieces:
            yield from self._through(decoder.feed(piece), start + 1)

    def _counted(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self.body_bytes += len(piece)
            if self.body_bytes > self.limit:
                raise reply_too_large(self.limit)
            yield piece
