"""What counts as a credential, and how it is hidden and kept (``webhooks/credentials.py``):
pure functions, so they are checked directly, the round trips with Hypothesis."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowhook.domain.credentials import (
    REDACTED,
    UnknownSecret,
    is_secret_name,
    redact_url,
    restore_url,
    seal_request,
    unseal_request,
)
from flowhook.domain.message import OutgoingRequest
from flowhook.settings import Settings
from flowhook.store.deliveries import Delivery
from flowhook.store.secrets import Cipher
from flowhook.webhooks.targets import attempt_request, stored_form


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "X-Api-Key",
        "apikey",
        "X-Auth-Token",
        "token",
        "access_token",
        "client_secret",
        "X-Hub-Signature-256",
        "webhook-signature",
        "Cookie",
        "password",
        "X-Credentials",
    ],
)
def test_names_that_say_key_token_secret_auth_password_or_signature_are_secret(
    name: str,
) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["Content-Type", "X-Tenant", "webhook-id", "webhook-timestamp", "page", "q"]
)
def test_other_names_are_not(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h.example/x?page=2", "https://h.example/x?page=2"),
        ("https://u:p@h.example/x", "https://u:***@h.example/x"),
        ("https://tok@h.example/x", "https://***@h.example/x"),
        ("https://h/x?token=a&page=2&api_key=b#f", "https://h/x?token=***&page=2&api_key=***#f"),
        ("https://h/x?token=&flag", "https://h/x?token=&flag"),
        ("https://h/$flow.key.p?token=$flow.key.t", "https://h/$flow.key.p?token=***"),
    ],
)
def test_urls_are_shown_without_user_info_or_secret_query_values(url: str, shown: str) -> None:
    assert redact_url(url) == shown


_text = st.text(alphabet="abcXYZ019-_.~", min_size=1, max_size=12)


@given(user=_text, password=_text, token=_text, page=_text)
def test_a_url_sent_back_as_shown_is_restored(
    user: str, password: str, token: str, page: str
) -> None:
    real = f"https://{user}:{password}@h.example:8443/p?token={token}&page={page}"
    shown = redact_url(real)
    assert shown == f"https://{user}:***@h.example:8443/p?token=***&page={page}"
    assert restore_url(shown, real) == real
    moved = shown.replace("/p?", "/q?")  # an edit elsewhere keeps the secrets too
    assert restore_url(moved, real) == real.replace("/p?", "/q?")


def test_a_marker_with_nothing_stored_is_refused() -> None:
    with pytest.raises(UnknownSecret) as caught:
        restore_url("https://u:***@h/x", "https://h/x")
    assert caught.value.code == "UNKNOWN_SECRET"


@given(
    headers=st.dictionaries(st.sampled_from(["X-Api-Key", "X-Tenant", "X-Auth-Token"]), _text),
    query=st.dictionaries(st.sampled_from(["token", "page"]), _text),
    password=st.none() | _text,
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_sealing_a_request_and_unsealing_it_gives_it_back(
    headers: dict[str, str], query: dict[str, str], password: str | None
) -> None:
    request: dict[str, Any] = {
        "url": "https://u:pw@h.example/x?access_token=abc",
        "headers": headers,
        "query": query,
        "auth": {"type": "basic", "username": "u", "password": password},
    }
    public, values = seal_request(request)
    assert unseal_request(public, values) == request
    shown = json.dumps(public)
    for kind in ("headers", "query"):
        for name, value in request[kind].items():
            assert public[kind][name] == (REDACTED if is_secret_name(name) else value)
    assert "pw@" not in shown and "abc" not in shown
    again, kept = seal_request(public, values)  # sent back as shown: the same secrets
    assert (again, kept) == (public, values)


def test_a_delivery_stored_before_this_format_still_sends_its_secret_headers(
    tmp_path: object,
) -> None:
    cipher = Cipher(Settings(data_dir=str(tmp_path), secret_key=""))
    legacy = Delivery(
        id="d",
        account_id="a",
        execution_uuid=None,
        webhook_id=None,
        endpoint="h:443",
        request=OutgoingRequest("POST", "https://h/x", {"X-Tenant": "t"}, b"{}"),
        secret_headers=cipher.encrypt(json.dumps({"Authorization": "Basic eDp5"})),
        status="PENDING",
        attempts=0,
    )
    sent = attempt_request(legacy, cipher)
    assert sent is not None
    assert sent.headers == {"X-Tenant": "t", "Authorization": "Basic eDp5"}


def test_a_custom_delivery_is_stored_redacted_and_sent_whole(tmp_path: object) -> None:
    cipher = Cipher(Settings(data_dir=str(tmp_path), secret_key=""))
    real = OutgoingRequest(
        "POST", "https://u:pw@h/x?token=t1", {"X-Api-Key": "key.one!", "X-Tenant": "t"}, b"{}"
    )
    stored, hidden = stored_form(real, cipher)
    assert stored.url == "https://u:***@h/x?token=***"
    assert stored.headers == {"X-Api-Key": REDACTED, "X-Tenant": "t"}
    # "." and "!" are not in the (urlsafe base64) alphabet of a Fernet token: no false match
    assert hidden is not None and b"key.one!" not in hidden
    delivery = Delivery("d", "a", None, None, "h:443", stored, hidden, "PENDING", 0)
    assert attempt_request(delivery, cipher) == real
