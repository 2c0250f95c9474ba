"""The console's sign-in rules over plain HTTP (no browser needed): cookies, CSRF on the
sign-in form and on sign-out, rate limiting of failed sign-ins, the IP whitelist.

Like every test in tests/ui these are plain (sync) functions: the server runs in a thread
of its own (tests/support/console.py) and the client is urllib with a cookie jar."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlencode

from flowhook.usecases import accounts
from support.console import Console


@dataclass
class Answer:
    status: int
    headers: Message
    text: str

    def cookies(self, name: str) -> list[str]:
        return [c for c in self.headers.get_all("Set-Cookie") or [] if c.startswith(f"{name}=")]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 303 is an answer to look at, not to follow


class Browser:
    """A cookie-keeping HTTP client that reads forms' CSRF tokens like a browser would."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url
        self.headers = dict(headers or {})
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def request(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        data = urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(
            self.base_url + path, data=data, headers={**self.headers, **(headers or {})}
        )
        try:
            with self.opener.open(req, timeout=30) as response:
                return Answer(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.headers, exc.read().decode())

    def csrf(self, path: str) -> str:
        answer = self.request(path)
        assert answer.status == 200, answer.text
        match = re.search(r'name="csrf_token" value="([^"]+)"', answer.text)
        assert match, answer.text
        return match[1]

    def sign_in(self, email: str, password: str) -> Answer:
        token = self.csrf("/sign-in")
        return self.request("/sign-in", {"csrf_token": token, "email": email, "password": password})


def user(console: Console, role: str = "admin", **settings: Any) -> tuple[Any, str, str]:
    account, _ = console.account("acme", **settings)
    who = console.user(account, f"{role}@acme.test", role)
    return account, who.email, who.password


def test_a_session_cookie_is_http_only_and_same_site_lax(console: Console) -> None:
    _, email, password = user(console)
    b = Browser(console.base_url)
    answer = b.sign_in(email, password)
    assert answer.status == 303 and answer.headers["Location"] == "/"
    [cookie] = answer.cookies("fh_session")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the next test
    home = b.request("/")
    assert home.status == 200 and email in home.text


def test_the_cookies_are_secure_when_the_console_is_served_over_https(
    console_with: Callable[..., Console],
) -> None:
    console = console_with(public_url="https://console.example.test")
    _, email, password = user(console)
    b = Browser(console.base_url)
    form = b.request("/sign-in")
    [form_cookie] = form.cookies("fh_sign_in")
    assert "Secure" in form_cookie and "HttpOnly" in form_cookie
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert match
    # a browser sends a Secure cookie over HTTPS only; here it is sent by hand
    answer = b.request(
        "/sign-in",
        {"csrf_token": match[1], "email": email, "password": password},
        headers={"Cookie": f"fh_sign_in={match[1]}"},
    )
    assert answer.status == 303
    [cookie] = answer.cookies("fh_session")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_a_wrong_password_is_refused_with_the_form_again(console: Console) -> None:
    _, email, password = user(console)
    b = Browser(console.base_url)
    answer = b.sign_in(email, password + "x")
    assert answer.status == 401 and "wrong e-mail or password" in answer.text
    assert b.request("/").status == 303  # still signed out: back to the sign-in page


def test_a_sign_in_without_its_form_token_is_refused(console: Console) -> None:
    _, email, password = user(console)
    b = Browser(console.base_url)
    b.csrf("/sign-in")  # the cookie is set, but the form's token is not sent back
    assert b.request("/sign-in", {"email": email, "password": password}).status == 403
    other = Browser(console.base_url)  # another visitor's form token does not fit this cookie
    token = other.csrf("/sign-in")
    form = {"csrf_token": token, "email": email, "password": password}
    assert b.request("/sign-in", form).status == 403
    assert b.request("/").status == 303


def test_sign_out_needs_the_session_token_and_ends_the_session(console: Console) -> None:
    _, email, password = user(console)
    b = Browser(console.base_url)
    b.sign_in(email, password)
    assert b.request("/sign-out", {"csrf_token": "forged"}).status == 403
    assert b.request("/").status == 200  # still signed in
    answer = b.request("/sign-out", {"csrf_token": b.csrf("/")})
    assert answer.status == 303 and answer.headers["Location"] == "/sign-in"
    assert b.request("/").status == 303


def test_a_session_ends_when_its_token_is_replayed_after_sign_out(console: Console) -> None:
    """Sessions are kept on the server: a cookie copied before signing out opens nothing."""
    _, email, password = user(console)
    b = Browser(console.base_url)
    [cookie] = b.sign_in(email, password).cookies("fh_session")
    token = cookie.split(";")[0].split("=", 1)[1]
    b.request("/sign-out", {"csrf_token": b.csrf("/")})
    thief = Browser(console.base_url, {"Cookie": f"fh_session={token}"})
    assert thief.request("/").status == 303


def test_failed_sign_ins_are_rate_limited_per_address_and_e_mail(
    console_with: Callable[..., Console],
) -> None:
    console = console_with(sign_in_max_failures=3)
    _, email, password = user(console)
    b = Browser(console.base_url)
    for _ in range(3):
        assert b.sign_in(email, "wrong password").status == 401
    # now even the right password is refused, with a clear message
    answer = b.sign_in(email, password)
    assert answer.status == 429 and "too many failed sign-ins" in answer.text
    # another e-mail from the same address is not locked out by these failures
    other_account, _ = console.account("b")
    other = console.user(other_account, "other@b.test")
    assert b.sign_in(other.email, other.password).status == 303


def test_the_ip_whitelist_applies_to_the_console(console_with: Callable[..., Console]) -> None:
    # the browser reaches us from 127.0.0.1; a proxy we trust says who it forwards for
    console = console_with(trusted_proxies=["127.0.0.1"])
    account, email, password = user(console)
    console.call(
        accounts.operator_update(
            console.runtime, account.id, accounts.OperatorPatch(ip_whitelist=["203.0.113.0/24"])
        )
    )
    outside = Browser(console.base_url, {"X-Forwarded-For": "198.51.100.7"})
    inside = Browser(console.base_url, {"X-Forwarded-For": "203.0.113.9"})
    refused = outside.sign_in(email, password)
    assert refused.status == 403 and "IP whitelist" in refused.text
    assert inside.sign_in(email, password).status == 303
    assert inside.request("/").status == 200
    # the session is judged on every page: taken elsewhere, it is refused
    inside.headers["X-Forwarded-For"] = "198.51.100.7"
    answer = inside.request("/")
    assert answer.status == 403 and "IP whitelist" in answer.text


def test_console_pages_carry_security_headers_and_leave_the_api_alone(
    console: Console,
) -> None:
    answer = Browser(console.base_url).request("/sign-in")
    assert answer.status == 200
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    api = Browser(console.base_url).request("/v1/flows")
    assert api.status == 401 and api.headers["Content-Type"] == "application/json"


def test_the_console_can_be_turned_off(console_with: Callable[..., Console]) -> None:
    console = console_with(console=False)
    answer = Browser(console.base_url).request("/sign-in", headers={"Accept": "text/html"})
    assert answer.status == 404  # the short-link redirect's "link not found"
    assert Browser(console.base_url).request("/static/htmx.min.js").status == 404
