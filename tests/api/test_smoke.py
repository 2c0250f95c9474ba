"""First end-to-end check: an account triggers a flow and reads the finished execution."""

from __future__ import annotations

from typing import Any

from support.flows import two_step_flow

FLOW: dict[str, Any] = two_step_flow()


async def test_trigger_runs_flow_to_completion(api: Any) -> None:
    _, key = await api.account()
    status, created = await api.request("POST", "/v1/flows", key=key, json=FLOW)
    assert status == 201, created
    flow_id = created["flow_id"]
    status, body = await api.request(
        "POST",
        f"/v1/flows/{flow_id}/executions",
        key=key,
        json={"version": "test", "variables": {"$flow.key.name": "Asha"}},
    )
    assert status == 202, body
    execution = await api.wait_for(body["uuid"], key)
    assert execution["status"] == "COMPLETED"
    assert execution["variables"]["$flow.key.greeting"] == "hi Asha"
    assert [s["widget"] for s in execution["steps"]] == ["a", "b"]
