"""The console's pages, one module per page group (``webhooks.py``, ``flows.py`` …), each
with a ``router = page_router()``: ``ui/app.py`` includes every module of this package
(a name starting with ``_`` is a helper, not a page)."""
