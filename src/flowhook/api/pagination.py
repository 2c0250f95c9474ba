"""Cursor pagination for the list endpoints: the application layer's
(``usecases/pages.py``), for the routers that still page by themselves."""

from __future__ import annotations

from flowhook.usecases.pages import page_of, parse_cursor

__all__ = ["page_of", "parse_cursor"]
