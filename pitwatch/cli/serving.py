"""Serving an ASGI app in the foreground, for the commands that serve one."""

from __future__ import annotations


def serve_app(app: object, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")
