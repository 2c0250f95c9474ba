"""The web console: server-rendered pages (Jinja2 + htmx) at ``/``, beside the API on the
same port, over the same use cases as the API (``usecases/``; never ``store/``: see
tests/test_layering.py).

How the console is put together, and the conventions every page follows
-------------------------------------------------------------------------

**Where things are.** ``ui/app.py`` mounts ``/static`` and includes the ``router`` of
every module of ``ui/pages/`` (found by name: adding a page group is adding one module,
no registration line). ``ui/session.py`` is who is signed in and the CSRF/role checks,
``ui/render.py`` the Jinja2 environment, ``ui/sse.py`` live updates. Templates are in
``ui/templates/`` (a folder per page group: ``webhooks/list.html`` …; htmx fragments in
``fragments/`` or named ``_*.html`` beside their page), static files in ``ui/static/``
(vendored, no build step; ``static/README.md`` names versions and licences).

**A page module** (``ui/pages/things.py``)::

    from fastapi import Request
    from starlette.responses import Response

    from flowhook.ui.app import page_router
    from flowhook.ui.render import render, is_htmx
    from flowhook.ui.session import AdminDep, VisitorDep, runtime_of
    from flowhook.usecases import things

    router = page_router()

    @router.get("/things/{thing_id}")
    async def thing(request: Request, thing_id: str, visitor: VisitorDep) -> Response:
        found = await things.get(runtime_of(request), visitor.account, thing_id)
        return render(request, "things/detail.html", title=found.name, thing=found)

- ``page_router()`` gives routes of :class:`~flowhook.ui.app.ConsoleRoute`: no session
  → 303 to ``/sign-in?next=…`` (htmx: ``HX-Redirect``); any :class:`FlowhookError` a use
  case raises → an error page with its status and message (htmx: a fragment); security
  headers (CSP: scripts from ``/static`` only — no inline ``<script>``, no ``hx-on``/eval;
  inline ``style=""`` is allowed). So a handler just calls use cases and lets their
  errors go: another account's object is the use case's ``NotFound`` → 404 page.
- **The signed-in user**: a ``visitor: VisitorDep`` parameter — a
  :class:`~flowhook.usecases.users.Visitor` with ``.user`` (``email``, ``role``,
  ``is_admin``), ``.account`` (pass it to the use cases) and ``.csrf_token``. Every page
  takes it (or ``AdminDep``), even when it does not use it: that is what signs it in.
- **Roles, enforced in one place**: any request that is not GET/HEAD/OPTIONS through
  ``VisitorDep`` must be an admin's (viewers change nothing) and carry the CSRF token —
  so a POST handler needs nothing more. A GET that reveals secrets takes ``AdminDep``
  instead. Templates hide edit controls and secrets with ``{% if visitor.is_admin %}``
  (display only: the server refuses anyway); show a secret as "set"/"•••" to viewers.
- **CSRF**: every ``<form method="post">`` contains
  ``<input type="hidden" name="csrf_token" value="{{ csrf_token }}">``; htmx requests carry
  the ``X-CSRF-Token`` header from ``hx-headers`` on ``<body>`` (base.html) by themselves.
- **Rendering**: ``render(request, template, status_code=…, **context)``; templates
  ``{% extends "base.html" %}`` and fill ``{% block content %}``; ``visitor``,
  ``csrf_token``, ``nav``, ``path``, ``timezone`` are always there. Filters: ``when``
  (epoch → account-time text: ``{{ t | when(timezone) }}``), ``iso``, ``pretty_json``,
  ``attr_json``. Undefined names fail (StrictUndefined).
- **htmx and no JavaScript**: pages are plain links and forms that work without JS
  (``method="post"`` + ``action``, then a 303 redirect back: Post/Redirect/Get); htmx
  enhances them (``hx-post``/``hx-target``). ``is_htmx(request)`` tells a handler to
  return a fragment instead of the whole page. 4xx answers are swapped too (base.html's
  htmx-config), so a fragment may carry its own error message with a 4xx status.
- **Forms**: every field has a ``<label for>``; a field's error is shown beside it
  (``<p class="field-error" id="…-error">`` + ``aria-describedby``); parse posted fields
  into the use case's pydantic form and show its ``ValidationError`` at the fields.
- **Live updates**: ``ui.sse.live(request, render_now, done)`` (Server-Sent Events via
  ``StreamingResponse``; the page uses htmx's vendored SSE extension).
- **Style**: plain CSS in ``static/console.css`` (classes: ``card``, ``row``, ``grid``,
  ``actions``, ``muted``, ``error``, ``ok``, ``badge ok|bad|warn``, ``table-wrap``,
  ``button.primary|danger``, ``field-error``, ``hint``); pages work on a phone.

**Browser tests** (``tests/ui/``, Playwright's sync API in Debian's ``/usr/bin/chromium``;
fixtures in ``tests/ui/conftest.py``, server in ``tests/support/console.py``)::

    def test_things_list(admin_page, console, admin):   # signed in as an admin of "acme"
        console.call(things.create(console.runtime, admin.account, ...))  # arrange
        admin_page.goto(f"{console.base_url}/things")
        expect(admin_page.get_by_role("row", name="…")).to_be_visible()

``viewer_page``/``viewer`` are a viewer of the same account; ``console.account()`` and
``console.user(account, email, role)`` make others (account B's user, to check 404s);
``console.enter(receiver())`` keeps a local receiver up for the test; ``screenshot(page,
name)`` saves ``docs/img/name.png`` when ``FLOWHOOK_SCREENSHOTS=1``. Plain-HTTP checks
(cookies, CSRF, status codes) are cheaper with aiohttp against the ``api`` fixture (see
``tests/ui/test_sessions.py``); page rendering without a browser likewise.
"""
