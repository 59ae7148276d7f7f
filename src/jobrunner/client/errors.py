"""What a client sees when the API says no: the problem details (RFC 9457) of the answer,
and the same thing in words a person understands."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer that was neither 2xx nor 304 (``status``), with its problem details."""

    def __init__(self, status: int, problem: dict[str, Any] | None) -> None:
        self.status = status
        self.problem = problem or {}
        self.errors: list[dict[str, Any]] = list(self.problem.get("errors") or [])
        super().__init__(self.problem.get("detail") or self.problem.get("title") or f"HTTP {status}")


def explain(error: ApiError, action: str = "do that", thing: str = "job") -> str:
    """The error in plain words, e.g. for a 403: "You don't have permission to cancel jobs".
    ``thing``: what the request was about (``job``, ``schedule``), for a 404."""
    detail = str(error)
    if error.status == 401:
        return (
            f"Not signed in: the token is missing, expired or not accepted ({detail}). Set --token or JOBRUNNER_TOKEN."
        )
    if error.status == 403:
        return f"You don't have permission to {action} ({detail})."
    if error.status == 404:
        if "template" in detail:
            return "No such template (it does not exist, or it belongs to another organization)."
        return f"No such {thing} (it does not exist, or it isn't yours)."
    if error.status == 409:
        return f"Can't {action} in the job's current state ({detail})."
    if error.status == 422:
        fields = "; ".join(f"{e.get('loc')}: {e.get('message')}" for e in error.errors)
        return f"Invalid input: {fields or detail}"
    if error.status >= 500:
        return f"The service failed ({error.status}): {detail}. Try again in a moment."
    return f"The request failed ({error.status}): {detail}"
