"""The Standard Webhooks signature as the standardwebhooks library computes and checks it,
and how an attempt's outcome is sorted."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from jobrunner.domain.webhooks import AttemptError, DeliveryState
from jobrunner.webhooks.outcomes import Attempt, next_state, outcome_label
from jobrunner.webhooks.signing import new_secret, signature, webhook_headers


def test_our_signature_is_the_librarys() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) == 6 + 44
    body = '{"type":"job.succeeded"}'
    when = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    ours = signature(secret, "msg-1", int(when.timestamp()), body.encode())
    assert ours == Webhook(secret).sign("msg-1", when, body)


def test_rotation_headers_verify_with_either_secret_and_nothing_else() -> None:
    old, new, other = new_secret(), new_secret(), new_secret()
    body = b'{"type":"job.failed","data":{}}'
    headers = webhook_headers([new, old], "0b4f", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "job.failed", "data": {}}
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", headers)


@pytest.mark.parametrize(
    ("status", "error", "made", "state", "label"),
    [
        (200, None, 1, DeliveryState.DELIVERED, "delivered"),
        (204, None, 12, DeliveryState.DELIVERED, "delivered"),
        (500, None, 1, DeliveryState.PENDING, "retried"),
        (503, None, 12, DeliveryState.FAILED, "failed"),
        (408, None, 1, DeliveryState.PENDING, "retried"),
        (429, None, 1, DeliveryState.PENDING, "retried"),
        (404, None, 1, DeliveryState.FAILED, "failed"),
        (301, None, 1, DeliveryState.FAILED, "failed"),
        (None, AttemptError.NO_ANSWER, 1, DeliveryState.PENDING, "retried"),
        (None, AttemptError.NO_ANSWER, 12, DeliveryState.FAILED, "failed"),
        (None, AttemptError.DESTINATION_NOT_ALLOWED, 1, DeliveryState.FAILED, "refused"),
        (None, AttemptError.INVALID_URL, 1, DeliveryState.FAILED, "failed"),
    ],
)
def test_outcomes(status, error, made, state, label) -> None:
    attempt = Attempt(status, error, 5)
    assert next_state(attempt, made, 12) is state
    assert outcome_label(attempt, state) == label
