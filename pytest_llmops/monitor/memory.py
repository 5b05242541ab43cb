"""What each recent conversation said that is personal data, so fragments of it in a later record are masked.

The monitor sees a conversation as separate records: the customer gives an email in
one, and a reply cut short two records later says ``ann.lee@exam``. No detector finds
that fragment alone; a :class:`~pytest_llmops.pii.conversation.ConversationMasker` that
remembers the email does (and ``no_pii`` then fails, as it would in the suite). The
values are kept in memory only, never written, for the :data:`MAX_CONVERSATIONS` most
recently seen conversations and their :data:`MAX_VALUES` latest values, so memory stays
flat however long the monitor runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..pii.conversation import ConversationMasker

MAX_CONVERSATIONS = 10_000
MAX_VALUES = 50


class ConversationMemory:
    """Personal data found per conversation id, most recently seen conversations only. Thread-safe."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_values: int = MAX_VALUES):
        self.max_conversations = max_conversations
        self.max_values = max_values
        self._values: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, conversation_id: str, *maskers: ConversationMasker) -> None:
        """Make ``maskers`` remember what the conversation said before (nothing for a new one)."""
        with self._lock:
            values = self._values.get(conversation_id)
            if values is None:
                return
            self._values.move_to_end(conversation_id)
            values = dict(values)
        for masker in maskers:
            masker.recall(values)

    def keep(self, conversation_id: str, *maskers: ConversationMasker) -> None:
        """Remember what ``maskers`` found in this record of the conversation, for its next records."""
        found: dict[str, str] = {}
        for masker in maskers:
            found.update(masker.remembered())
        if not found:
            return
        with self._lock:
            values = self._values.pop(conversation_id, {})
            values.update(found)
            self._values[conversation_id] = dict(list(values.items())[-self.max_values:])
            while len(self._values) > self.max_conversations:
                self._values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)
