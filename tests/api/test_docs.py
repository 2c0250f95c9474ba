"""The API reference works offline: ``/docs`` (Swagger UI) and ``/redoc`` load only files
served by flowhook itself, never from a CDN."""

from __future__ import annotations

import re
from typing import Any

import pytest

URL_ATTRIBUTES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


def referenced_urls(html: str) -> list[str]:
    return [a or b for a, b in URL_ATTRIBUTES.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_reference_loads_only_same_origin_files(api: Any, page: str) -> None:
    status, html = await api.request("GET", page)
    assert status == 200
    urls = referenced_urls(html)
    assert any(url.endswith(".js") for url in urls), html
    # nothing from another origin: no scheme, no protocol-relative URL, anywhere in the page
    assert not re.search(r"https?:|//[a-z]", html.replace("</", "<")), html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        async with api.session.get(api.base_url + url) as resp:
            body = await resp.read()
            assert resp.status == 200, url
            assert body, url
        if url.endswith(".js"):
            assert "javascript" in resp.headers["Content-Type"], url
        if url.endswith(".css"):
            assert resp.headers["Content-Type"].startswith("text/css"), url


async def test_swagger_ui_reads_the_openapi_document_of_this_server(api: Any) -> None:
    _, html = await api.request("GET", "/docs")
    assert "/openapi.json" in referenced_urls(html)
    status, document = await api.request("GET", "/openapi.json")
    assert status == 200 and document["info"]["title"] == "flowhook"
    assert "/docs" not in document["paths"]
