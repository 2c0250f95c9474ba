"""A change made through the API is seen by the very next run, however long the caches of
the hot paths may keep a copy (``FLOWHOOK_CACHE_TTL_S``): the use case that makes the
change forgets the cached copies (issue 14)."""

from __future__ import annotations

from typing import Any

from test_webhook_widget_flow import run_flow, webhook_flow

from support.receiver import receiver

AN_HOUR = 3600.0  # longer than any test: only an invalidation can make a change seen


async def test_renaming_a_webhook_takes_effect_on_the_next_run(api_with: Any) -> None:
    async with api_with(cache_ttl_s=AN_HOUR) as api, receiver() as rec:
        _, key = await api.account(http_enabled=True)
        status, saved = await api.request(
            "POST", "/v1/webhooks", key=key, json={"name": "crm", "url": rec.url}
        )
        assert status == 201, saved
        before = await run_flow(api, key, webhook_flow({"webhook": "crm-v2"}))
        assert before["variables"]["$flow.key.error_reason"] == "WEBHOOK_NOT_FOUND"

        status, renamed = await api.request(
            "PUT", f"/v1/webhooks/{saved['id']}", key=key, json={"name": "crm-v2", "url": rec.url}
        )
        assert status == 200, renamed
        after = await run_flow(api, key, webhook_flow({"webhook": "crm-v2"}, name="again"))
    assert after["variables"]["$flow.key.path"] == "success"
    assert len(rec.received) == 1


async def test_a_new_default_webhook_gets_the_next_flow_complete(api_with: Any) -> None:
    done: dict[str, Any] = {"name": "done", "type": "outbound", "webhook_enabled": True}
    done |= {"entry": {"start": "end"}, "widgets": {"end": {"type": "end"}}}
    async with api_with(cache_ttl_s=AN_HOUR) as api, receiver() as rec:
        _, key = await api.account(http_enabled=True)
        await run_flow(api, key, done)  # no default webhook yet: that is remembered

        hook = {"name": "default", "url": rec.url, "is_default": True}
        status, saved = await api.request("POST", "/v1/webhooks", key=key, json=hook)
        assert status == 201, saved
        execution = await run_flow(api, key, {**done, "name": "again"})
        (got,) = await rec.wait_for(1)
    assert got.json()["phonon-uuid"] == execution["uuid"]
