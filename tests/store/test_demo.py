"""What `make run` starts with: a demo account whose key works, and published demo flows
that run to completion."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flowhook.store import accounts, demo


async def test_demo_account_key_works_and_its_flows_run(api_with: Any, tmp_path: Path) -> None:
    key_file = demo.key_file(tmp_path)
    async with api_with(time_scale=0.01) as api:
        rt = api.runtime
        account, key, created = rt.store.write_sync(
            lambda c: demo.ensure_demo(c, rt.cipher, time.time(), key_file)
        )
        assert created
        status, listed = await api.request("GET", "/v1/flows", key=key)
        assert status == 200
        flows = {f["name"]: f for f in listed["flows"]}
        assert set(flows) == {d["name"] for d in demo.DEMO_FLOWS}
        assert all(f["published"] for f in flows.values())
        documents = {d["name"]: d for d in demo.DEMO_FLOWS}
        for name, flow in flows.items():
            if documents[name].get("dids"):  # an IVR: called on the simulator, 2 pressed
                did = documents[name]["dids"][0]
                call = {"cli": "+919812345678", "dnis": did, "script": {"digits": "2"}}
                status, body = await api.request("POST", "/v1/sim/calls", key=key, json=call)
            else:
                status, body = await api.request(
                    "POST",
                    f"/v1/flows/{flow['flow_id']}/executions",
                    key=key,
                    json={"variables": {"$flow.key.name": "Asha", "$flow.key.score": "75"}},
                )
            assert status == 202, body
            execution = await api.wait_for(body["uuid"], key)
            assert execution["status"] == "COMPLETED", execution
        # a restart keeps the account, its key and its flows
        again, same_key, created = rt.store.write_sync(
            lambda c: demo.ensure_demo(c, rt.cipher, time.time(), key_file)
        )
        assert not created and again.id == account.id and same_key == key
        status, listed = await api.request("GET", "/v1/flows", key=key)
        assert len(listed["flows"]) == len(demo.DEMO_FLOWS)
        # without its kept key (data/demo.json deleted) a new key replaces the old one
        key_file.unlink()
        again, new_key, created = rt.store.write_sync(
            lambda c: demo.ensure_demo(c, rt.cipher, time.time(), key_file)
        )
        assert not created and again.id == account.id and new_key != key
        assert rt.store.read_sync(lambda c: accounts.by_api_key(c, key)) is None
        status, _ = await api.request("GET", "/v1/flows", key=new_key)
        assert status == 200
