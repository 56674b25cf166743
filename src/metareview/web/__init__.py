"""``metareview serve``: a local web app over the project store.

:func:`create_app` builds one ASGI application (FastAPI) for one project folder; its pages
(overview, screening, duplicates and studies, extraction, analysis and report) are thin views
over the same Python API the command line calls. Templates (Jinja2, autoescaped) and static files
(the vendored ``htmx.min.js`` and a few lines of keyboard JavaScript) ship in the package, so the
app works offline. See :mod:`metareview.web.security` for the token, CSRF and header rules.
"""

from __future__ import annotations

from metareview.web.app import WebApp, create_app

__all__ = ["WebApp", "create_app"]
