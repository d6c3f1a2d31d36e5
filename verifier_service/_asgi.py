"""The ASGI app uvicorn imports in each worker (settings from the environment)."""

from __future__ import annotations

from ._app import create_app

app = create_app()
