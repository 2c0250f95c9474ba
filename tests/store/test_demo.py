"""What `make run` starts with: a demo account whose key works, and published demo flows
that run to completion."""

from __future__ import annotations

import time
from typing import Any

from flowhook.store import accounts, demo


async def test_demo_account_key_works_and_its_flows_run(api_with: Any) -> None:
    async with api_with(time_scale=0.01) as api:
        rt = api.runtime
        account, key, created = rt.store.write_sync(
            lambda c: demo.ensure_demo(c, rt.cipher, time.time())
        )
        assert created
        status, listed = await api.request("GET", "/v1/flows", key=key)
        assert status == 200
        flows = {f["name"]: f for f in listed["flows"]}
        assert set(flows) == {d["name"] for d in demo.DEMO_FLOWS}
        assert all(f["published"] for f in flows.values())
        for flow in flows.values():
            status, body = await api.request(
                "POST",
                f"/v1/flows/{flow['flow_id']}/executions",
                key=key,
                json={"variables": {"$flow.key.name": "Asha", "$flow.key.score": "75"}},
            )
            assert status == 202, body
            execution = await api.wait_for(body["uuid"], key)
            assert execution["status"] == "COMPLETED", execution
        # a restart issues a new key (keys are stored hashed) and keeps the flows
        again, new_key, created = rt.store.write_sync(
            lambda c: demo.ensure_demo(c, rt.cipher, time.time())
        )
        assert not created and again.id == account.id and new_key != key
        assert rt.store.read_sync(lambda c: accounts.by_api_key(c, key)) is None
        status, listed = await api.request("GET", "/v1/flows", key=new_key)
        assert len(listed["flows"]) == len(demo.DEMO_FLOWS)
