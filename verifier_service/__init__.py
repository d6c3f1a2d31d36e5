"""The cardlib verification service: agencies verify cards over HTTP (FastAPI).

``create_app(settings)`` builds the app; :class:`Settings` are read from the environment
(``VERIFIER_`` prefix). ``python -m verifier_service serve`` runs it.
"""

from __future__ import annotations

from ._app import create_app
from ._settings import Settings

__all__ = ["Settings", "create_app"]
