"""Importing the modules that declare job types and processors.

jobrunner's own processors live in ``jobrunner.processors``; an application adds its own
job types by naming its modules in ``JOBRUNNER_IMPORTS`` (comma-separated), which the API
and the worker both import at start-up."""

from __future__ import annotations

import importlib
import pkgutil

import jobrunner.processors as builtin_processors
from jobrunner.settings import Settings


def load_imports(settings: Settings) -> None:
    for module in pkgutil.iter_modules(builtin_processors.__path__):
        importlib.import_module(f"{builtin_processors.__name__}.{module.name}")
    for name in settings.imports:
        importlib.import_module(name)
