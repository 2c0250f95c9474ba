"""Our signatures, checked by the independent ``standardwebhooks`` package and by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from flowhook.domain.signing import MAX_PREVIOUS, Keyring, new_secret, sign, signature_headers
from flowhook.errors import ValidationFailed

BODY = json.dumps({"phonon-uuid": "u-1", "flowStatus": "COMPLETED", "keys": []}).encode()

# the example of the Standard Webhooks specification's reference libraries
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

header_ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1)


def test_new_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_sign_matches_the_specifications_example() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_signature_headers_names_and_values() -> None:
    headers = signature_headers(SPEC_SECRET, SPEC_ID, SPEC_BODY, now=SPEC_TIMESTAMP + 0.9)
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_standardwebhooks_package_accepts_our_signature() -> None:
    secret = new_secret()
    headers = signature_headers(secret, "msg_1", BODY, now=time.time())
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_standardwebhooks_package_rejects_a_tampered_body() -> None:
    secret = new_secret()
    headers = signature_headers(secret, "msg_1", BODY, now=time.time())
    tampered = BODY.replace(b"COMPLETED", b"FAILED")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)


def test_standardwebhooks_package_rejects_another_secret() -> None:
    headers = signature_headers(new_secret(), "msg_1", BODY, now=time.time())
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_standardwebhooks_package_rejects_a_changed_id() -> None:
    secret = new_secret()
    headers = signature_headers(secret, "msg_1", BODY, now=time.time())
    headers["webhook-id"] = "msg_2"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_same_message_id_gives_a_new_signature_per_attempt_time() -> None:
    secret = new_secret()
    first = signature_headers(secret, "msg_1", BODY, now=1_700_000_000)
    retry = signature_headers(secret, "msg_1", BODY, now=1_700_000_005)
    assert first["webhook-id"] == retry["webhook-id"]
    assert first["webhook-signature"] != retry["webhook-signature"]


def test_unpadded_secret_is_accepted_like_the_standard_libraries_do() -> None:
    secret = new_secret().rstrip("=")
    headers = signature_headers(secret, "msg_1", BODY, now=time.time())
    Webhook(secret).verify(BODY, headers)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!", ""])
def test_invalid_secret_is_a_validation_error(secret: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sign(secret, "msg_1", 1, BODY)
    assert caught.value.code == "INVALID_WEBHOOK_SECRET"


def verify_by_hand(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The hand-written receiver of docs/webhooks.md."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    if abs(time.time() - int(headers["webhook-timestamp"])) > 300:
        return False
    return any(
        hmac.compare_digest(sig.split(",", 1)[1], expected)
        for sig in headers["webhook-signature"].split()
        if sig.startswith("v1,")
    )


def test_hand_written_receiver_from_the_docs_accepts_ours_and_rejects_tampering() -> None:
    secret = new_secret()
    headers = signature_headers(secret, "msg_1", BODY, now=time.time())
    assert verify_by_hand(secret, headers, BODY)
    assert not verify_by_hand(secret, headers, BODY + b" ")


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(body=st.text(), msg_id=header_ids, key=st.binary(min_size=1, max_size=64))
def test_standardwebhooks_package_accepts_any_body_and_id(
    body: str, msg_id: str, key: bytes
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    raw = body.encode()
    headers = signature_headers(secret, msg_id, raw, now=time.time())
    Webhook(secret).verify(raw, headers, json_parse=False)
    assert verify_by_hand(secret, headers, raw)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(min_size=1), msg_id=header_ids, flip=st.integers(min_value=0))
def test_any_changed_byte_breaks_the_signature(body: bytes, msg_id: str, flip: int) -> None:
    secret = new_secret()
    headers = signature_headers(secret, msg_id, body, now=time.time())
    changed = bytearray(body)
    changed[flip % len(body)] ^= 0x01
    assert not verify_by_hand(secret, headers, bytes(changed))
    assert headers["webhook-signature"] != sign(
        secret, msg_id, int(headers["webhook-timestamp"]), bytes(changed)
    )


# the keyring: rotation with overlap ------------------------------------------------------

T0 = 1_700_000_000.0


def test_a_keyring_without_rotation_is_stored_as_the_bare_secret() -> None:
    secret = new_secret()
    assert Keyring(secret).encode() == secret
    assert Keyring.decode(secret) == Keyring(secret)


def test_a_rotated_keyring_keeps_the_old_secret_until_the_overlap_ends() -> None:
    old, new = new_secret(), new_secret()
    keyring = Keyring.decode(Keyring(old).rotated(new, T0, 3600).encode())
    assert keyring.valid_at(T0 + 3599) == [new, old]
    assert keyring.valid_at(T0 + 3600) == [new]
    assert keyring.pending(T0) == [T0 + 3600]


def test_a_rotation_without_overlap_leaves_only_the_new_secret() -> None:
    first, second, third = new_secret(), new_secret(), new_secret()
    keyring = Keyring(first).rotated(second, T0, 86400).rotated(third, T0 + 10, 0)
    assert keyring.valid_at(T0 + 10) == [third]


def test_no_older_secret_outlives_the_newest_rotations_overlap() -> None:
    first, second, third = new_secret(), new_secret(), new_secret()
    keyring = Keyring(first).rotated(second, T0, 86400).rotated(third, T0 + 10, 60)
    assert keyring.valid_at(T0 + 69) == [third, second, first]
    assert keyring.valid_at(T0 + 70) == [third]


def test_a_keyring_keeps_a_bounded_number_of_old_secrets() -> None:
    keyring = Keyring(new_secret())
    for n in range(MAX_PREVIOUS + 3):
        keyring = keyring.rotated(new_secret(), T0 + n, 86400)
    assert len(keyring.valid_at(T0 + 100)) == 1 + MAX_PREVIOUS


def test_standardwebhooks_verifies_a_message_signed_with_two_secrets_with_either() -> None:
    old, new = new_secret(), new_secret()
    headers = signature_headers([new, old], "msg_1", BODY, now=time.time())
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
