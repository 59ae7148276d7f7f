"""Completion webhooks' vocabulary (docs/webhooks.md): the states of a delivery and the
words an attempt's failure is recorded in (never the receiver's own)."""

from __future__ import annotations

from enum import StrEnum

FINAL_EVENTS = ("job.succeeded", "job.failed", "job.cancelled")
"""The ``type`` of a webhook: ``job.`` and the final state that caused it."""


class DeliveryState(StrEnum):
    PENDING = "pending"
    """Not delivered yet: an attempt is due, under way, or waiting for its backoff."""
    DELIVERED = "delivered"
    """A receiver answered 2xx."""
    FAILED = "failed"
    """Given up: an answer that retrying will not change, a refused destination, or no
    attempts left."""


class AttemptError(StrEnum):
    """Why an attempt got no answer, in our words."""

    NO_ANSWER = "no_answer"
    """No connection, no complete answer within JOBRUNNER_CALLBACK_TIMEOUT_SECONDS, or a
    broken answer: one word for all, so that a member cannot tell closed ports from silent
    ones (docs/security.md); retried."""
    DESTINATION_NOT_ALLOWED = "destination_not_allowed"
    """The URL's host resolves to an address the outbound policy refuses; nothing sent (not retried)."""
    INVALID_URL = "invalid_url"
    """The URL cannot be sent; nothing sent (not retried)."""
