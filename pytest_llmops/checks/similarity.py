"""The ``similar`` check: cosine similarity between the reply's embedding and a reference text's.

The embedder is a named target (``[tool.llmops.embeddings] target = "NAME"``): an
OpenAI-compatible ``/v1/embeddings`` endpoint (``openai`` target), a ``python``
callable, or the stub's hashed character n-grams. Texts are masked before they are
sent (unless ``mask_pii = false``) and each text's vector is cached on disk, so the
reference text of a hundred cases is embedded once and an unchanged rerun sends nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import BadEmbeddings, TargetError
from ..text import excerpt
from ..transcript import CheckResult, Conversation, Usage
from . import names
from .cache import DiskCache, cache_key

if TYPE_CHECKING:
    from ..cases import SimilarExpect
    from ..targets.base import Target

Vector = list[float]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine similarity of two vectors of the same length; BadEmbeddings for zero or unequal ones."""
    if len(a) != len(b) or not a:
        raise BadEmbeddings(f"vectors of different lengths ({len(a)} and {len(b)})")
    norm_a = math.sqrt(sum(x * x for x in a))
    norm_b = math.sqrt(sum(x * x for x in b))
    if norm_a == 0 or norm_b == 0:
        raise BadEmbeddings("a vector of zeros (the embedder gave no direction for a text)")
    return sum(x * y for x, y in zip(a, b)) / (norm_a * norm_b)


def _checked_vectors(vectors: object, count: int) -> list[Vector]:
    if not isinstance(vectors, list) or len(vectors) != count:
        got = len(vectors) if isinstance(vectors, list) else type(vectors).__name__
        raise BadEmbeddings(f"{got} vector(s) for {count} text(s)")
    for vector in vectors:
        if not isinstance(vector, list) or not vector or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in vector):
            raise BadEmbeddings("a vector that is not a non-empty list of finite numbers")
    return [[float(x) for x in vector] for vector in vectors]


class Embedder:
    """An embedding target with its cache and its masking."""

    def __init__(self, target: "Target", *, mask: Callable[[str], str] | None = None,
                 cache: DiskCache | None = None):
        self.target = target
        self.mask = mask or (lambda text: text)
        self.cache = cache

    def embed(self, texts: Sequence[str], conversation: Conversation | None = None) -> tuple[list[Vector], Usage | None]:
        """One vector per text (masked before it is sent), and the tokens the texts not cached cost."""
        sent = [self.mask(text) for text in texts]
        identity = self.target.cache_identity()
        keys = [cache_key("embedding", identity, text) for text in sent]
        vectors: list[Vector | None] = [None] * len(sent)
        if self.cache is not None:
            for index, key in enumerate(keys):
                stored = self.cache.get("embeddings", key)
                if stored is not None:
                    vectors[index] = _checked_vectors([stored], 1)[0]
        missing = [index for index, vector in enumerate(vectors) if vector is None]
        usage = None
        if missing:
            answer = self.target.embed([sent[index] for index in missing], conversation or Conversation())
            fresh = _checked_vectors(answer.vectors, len(missing))
            usage = answer.usage
            for index, vector in zip(missing, fresh):
                vectors[index] = vector
                if self.cache is not None:
                    self.cache.put("embeddings", keys[index], vector)
        return [vector for vector in vectors if vector is not None], usage

    def similarity(self, text: str, reference: str, conversation: Conversation | None = None) -> tuple[float, Usage | None]:
        (a, b), usage = self.embed([text, reference], conversation)
        return cosine(a, b), usage

    def end(self, conversation: Conversation) -> None:
        self.target.end(conversation)


def similar_check(embedder: Embedder | None, expect: "SimilarExpect", reply: str, conversation: Conversation | None,
                  mask: Callable[[str], str]) -> CheckResult:
    """The ``similar`` check of one reply; the score is shown next to ``min``."""
    expected = f"similar to {excerpt(mask(expect.to), 200)!r} >= {expect.min:g}"
    if embedder is None:
        return CheckResult(names.SIMILAR, False, expected,
                           "no embedder configured (set [tool.llmops.embeddings] target)")
    try:
        score, usage = embedder.similarity(reply, expect.to, conversation)
    except TargetError as exc:
        return CheckResult(names.SIMILAR, False, expected, f"embedding error: {exc.kind}: {mask(str(exc))}")
    except BadEmbeddings as exc:
        return CheckResult(names.SIMILAR, False, expected, f"the embedder gave unusable vectors: {exc}")
    score = round(score, 4)
    passed = score >= expect.min
    return CheckResult(names.SIMILAR, passed, expected,
                       f"similarity {score:.3f}" + ("" if passed else f" < {expect.min:g}"), score=score, usage=usage)


__all__ = ["Embedder", "cosine", "similar_check"]
