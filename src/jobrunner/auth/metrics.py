"""Who may read metrics: whoever sends ``Authorization: Bearer <JOBRUNNER_METRICS_TOKEN>``
(compared in constant time). Without a configured token nobody may, and the endpoint does
not exist. Any process that serves metrics (the API, later a worker's metrics port) asks
``check_metrics_access``."""

from __future__ import annotations

import hmac

from jobrunner.domain.errors import AuthenticationError, NotFound


def check_metrics_access(metrics_token: str | None, authorization: str | None) -> None:
    """NotFound when metrics are off (no token configured); AuthenticationError unless
    ``authorization`` is ``Bearer <metrics_token>``."""
    if not metrics_token:
        raise NotFound("no such endpoint")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), metrics_token.encode()):
        raise AuthenticationError("metrics need 'Authorization: Bearer <JOBRUNNER_METRICS_TOKEN>'")
