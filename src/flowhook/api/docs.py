"""The API reference (Swagger UI at ``/docs``, ReDoc at ``/redoc``) served with its own
files, so that it works on a network without internet access.

FastAPI's built-in pages load Swagger UI and ReDoc from a CDN: offline they are blank. The
files come from the ``fastapi-offline`` package (Swagger UI, Apache-2.0; ReDoc, MIT; the
FastAPI favicon, MIT), which ships them as package data; we serve its directory and build
the pages with FastAPI's own ``get_swagger_ui_html`` / ``get_redoc_html``.
"""

from __future__ import annotations

from importlib.resources import files
from typing import TypedDict

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
"""Where the reference's files are served (same origin as the pages)."""

# Swagger UI's defaults, with the online validator off: it would load a badge from
# validator.swagger.io for every page view
SWAGGER_UI_PARAMETERS = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
    "validatorUrl": None,
}


def assets_directory() -> str:
    return str(files("fastapi_offline") / "static")


class _PageArgs(TypedDict):
    openapi_url: str
    title: str


def install(app: FastAPI) -> None:
    """Add ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and their files to ``app``
    (created with ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=assets_directory()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def page(request: Request) -> tuple[str, _PageArgs]:
        """The prefix of this deployment's paths (its ``root_path``, behind a proxy) and
        what both pages are given alike: the schema's URL and the title."""
        root: str = request.scope.get("root_path", "")
        return root, {
            "openapi_url": f"{root}{openapi_url}",
            "title": f"{app.title} — API reference",
        }

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root, shared = page(request)
        return get_swagger_ui_html(
            **shared,
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root, shared = page(request)
        return get_redoc_html(
            **shared,
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
