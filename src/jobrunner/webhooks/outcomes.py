"""One delivery attempt, sorted the way the outbox needs it, in our words:

- a 2xx answer: ``delivered``;
- a 5xx, 408 or 429 answer, or none (``no_answer``: no connection, no complete answer in
  time, a broken answer): tried again later, while attempts are left;
- any other answer (3xx: redirects are not followed; 4xx): ``failed``, not retried;
- a destination the outbound policy refuses (``destination_not_allowed``) or a URL that
  cannot be sent (``invalid_url``): ``failed`` at once, nothing was sent.

What is recorded is the status code or one of those words and how long it took, never the
receiver's body nor which network error it was (the log has the details)."""

from __future__ import annotations

from dataclasses import dataclass
from jobrunner.domain.webhooks import AttemptError, DeliveryState


RETRIED_CLIENT_ERRORS = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None
    error: AttemptError | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        if self.error is not None:
            return self.error is AttemptError.NO_ANSWER
        assert self.status_code is not None
        return self.status_code >= 500 or self.status_code in RETRIED_CLIENT_ERRORS


def next_state(attempt: Attempt, attempts_made: int, max_attempts: int) -> DeliveryState:
    """The delivery's state after ``attempt``, the ``attempts_made``-th (1 = the first)."""
    if attempt.delivered:
        return DeliveryState.DELIVERED
    if attempt.retryable and attempts_made < max_attempts:
        return DeliveryState.PENDING
    return DeliveryState.FAILED


def outcome_label(attempt: Attempt, state: DeliveryState) -> str:
    """The metric's label of an attempt: delivered, retried, refused or failed."""
    if state is DeliveryState.DELIVERED:
        return "delivered"
    if attempt.error is AttemptError.DESTINATION_NOT_ALLOWED:
        return "refused"
    return "retried" if state is DeliveryState.PENDING else "failed"
