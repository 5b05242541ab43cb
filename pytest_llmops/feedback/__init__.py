"""Feedback: what users and reviewers report about a conversation, stored minimised.

* :mod:`.store`: the record (``docs/feedback.schema.json``), validation, masking and the JSON Lines store;
* :mod:`.conversation`: finding the conversation a report is about in pasted text, transcripts,
  results files or case files.

Turning feedback into regression cases is :mod:`pytest_llmops.convert`'s job.
"""
