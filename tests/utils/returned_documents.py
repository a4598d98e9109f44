"""A pymongo command listener that counts the documents the server sends back: what a read cost."""

from __future__ import annotations

from pymongo import monitoring


class ReturnedDocuments(monitoring.CommandListener):
    """Counts the documents the server returns to find and getMore commands."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor", {})
        self.count += len(cursor.get("firstBatch", cursor.get("nextBatch", [])))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
