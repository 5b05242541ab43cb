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

from ..pii.conversation import ConversationMasker, Recollection

MAX_CONVERSATIONS = 10_000
MAX_VALUES = 50


class ConversationMemory:
    """Personal data found per conversation id, most recently seen conversations only. Thread-safe.

    Each conversation's :class:`Recollection` is kept with the pieces its maskers worked out,
    so the next record's masker takes them over as they are (recalling value by value took
    about 18 µs a record for an email and a phone number).
    """

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_values: int = MAX_VALUES):
        self.max_conversations = max_conversations
        self.max_values = max_values
        self._kept: OrderedDict[str, Recollection] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, conversation_id: str, *maskers: ConversationMasker) -> None:
        """Make ``maskers`` remember what the conversation said before (nothing for a new one)."""
        with self._lock:
            kept = self._kept.get(conversation_id)
            if kept is None:
                return
            self._kept.move_to_end(conversation_id)
        for masker in maskers:
            masker.restore(kept)

    def keep(self, conversation_id: str, *maskers: ConversationMasker) -> None:
        """Remember what ``maskers`` found in this record of the conversation (and before), for its next records."""
        found = [masker for masker in maskers if masker.remembers]
        if not found:
            return
        with self._lock:
            kept = self._kept.get(conversation_id)
        if len(found) == 1 and kept is not None and len(found[0].remembered()) == len(kept.values):
            return  # nothing new: values only grow, so the same count is the same values
        whole = found[0]
        if len(found) > 1 or len(whole.remembered()) > self.max_values:  # merged, or cut to the latest values
            values: dict[str, str] = {}
            for masker in found:
                values.update(masker.remembered())
            whole = found[0].detector.conversation()
            whole.recall(dict(list(values.items())[-self.max_values:]))
        recollection = whole.recollection()
        with self._lock:
            self._kept[conversation_id] = recollection
            self._kept.move_to_end(conversation_id)
            while len(self._kept) > self.max_conversations:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)
