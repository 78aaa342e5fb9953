"""Serving an ASGI app in the foreground, for the commands that serve one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def serve_app(app: Callable[..., Any], host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")
