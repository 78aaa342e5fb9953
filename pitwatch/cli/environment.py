"""The environment a command runs in, when the command decides it."""

from __future__ import annotations

import os

from pitwatch.settings import get_settings


def development_by_default() -> None:
    """The demo, the native stack and simulations run the simulators with their placeholder
    secrets: they are development unless PITWATCH_ENVIRONMENT says otherwise (the stack's
    processes inherit it). Production commands (platform serve, reconcile, ...) get no such
    default: without PITWATCH_ENVIRONMENT they run as production and refuse placeholders."""
    if "PITWATCH_ENVIRONMENT" not in os.environ:
        os.environ["PITWATCH_ENVIRONMENT"] = "development"
        get_settings.cache_clear()
