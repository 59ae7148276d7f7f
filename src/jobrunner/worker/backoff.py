"""Moved to ``jobrunner/backoff.py`` (the database, the listener and the HTTP client use it
too, and none of them may import the worker). Kept only until ``worker/loop.py``,
``rescuer.py`` and ``writer.py`` import it from there; then delete this module."""

from jobrunner.backoff import backoff_seconds

__all__ = ["backoff_seconds"]
