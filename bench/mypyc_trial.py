"""Is a mypyc build of the hot modules worth it? Build them, then measure CPU per flow of
the bench scenario pure and compiled, alternating (pure, compiled, pure, compiled, …).

An experiment, not part of the install: the compiled ``.so`` files are written next to the
``.py`` files in ``src/`` (the import system prefers them), parked in a temporary
directory for the pure runs, and deleted at the end, so the tree is left pure. Each run is
``python -m bench.run --modes sqlite --concurrency 10 --flows N --no-profile --open-rate 0``
in its own process, so one process never mixes the two builds; what is compared is the
JSON's ``cpu_s_per_1000_flows`` and ``cpu_ratio_to_ceiling`` of the sqlite point. Other
work on a shared machine weighs on both sides alike only when they alternate: run several
pairs. The record of the run of 2026-11-30 is in docs/performance.md ("A compiled build
(mypyc)").

``python -m bench.mypyc_trial --pairs 3 --flows 3000``
``python -m bench.mypyc_trial --pairs 3 --modules src/flowhook/codec.py src/flowhook/ids.py``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

# The hot modules of the profile of 2026-11-30 (self time in our code) that mypyc accepts
# as they are (GroupCommitter._thread was renamed _writer: mypyc names the C field
# `__thread`, a C keyword). Left out:
# webhooks/guard.py (an OSError subclass: "Inheriting from most builtin types is
# unimplemented") and widgets/webhook.py (pydantic models: the C does not compile,
# ``CPyModule_pydantic___main`` undeclared). store/leased.py is in because the delivery
# engine and the runner subclass it (a compiled subclass of a pure class crashes mypyc).
MODULES = [
    "store/commit.py",
    "store/raw.py",
    "store/leased.py",
    "store/rollup.py",
    "store/deliveries.py",
    "webhooks/delivery.py",
    "webhooks/transport.py",
    "webhooks/payload.py",
    "webhooks/request.py",
    "webhooks/mapping.py",
    "webhooks/outcome.py",
    "webhooks/client.py",
    "webhooks/outbox.py",
    "engine/interpreter.py",
    "engine/context.py",
    "engine/templating.py",
    "engine/state.py",
    "engine/triggers.py",
    "worker/runner.py",
    "api/trigger.py",
    "domain/signing.py",
    "codec.py",
    "ids.py",
]


def _built() -> list[Path]:
    return sorted(SRC.rglob("*.so"))


def build(modules: list[str]) -> float:
    """Compile ``modules`` in place; the wall time it took."""
    started = time.monotonic()
    mypyc = Path(sys.executable).parent / "mypyc"
    subprocess.run([str(mypyc), *modules], cwd=ROOT, check=True)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    return time.monotonic() - started


def _move(files: list[Path], source: Path, target: Path) -> None:
    for f in files:
        dest = target / f.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        f.rename(dest)


def _bench(flows: int, results: Path) -> dict[str, float]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--modes",
            "sqlite",
            "--concurrency",
            "10",
            "--flows",
            str(flows),
            "--no-profile",
            "--open-rate",
            "0",
            "--results",
            str(results),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    data = json.loads((results / "latest.json").read_text())
    point = next(p for p in data["points"] if p["mode"] == "sqlite")
    return {
        "cpu": point["cpu_s_per_1000_flows"],
        "ratio": point["cpu_ratio_to_ceiling"],
        "busy": point["machine_busy_pct"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--flows", type=int, default=3000)
    parser.add_argument("--modules", nargs="*", default=None, help="paths under src/")
    args = parser.parse_args()
    if _built():
        sys.exit(f"compiled files already in {SRC}: remove them first")
    modules = args.modules or [f"src/flowhook/{m}" for m in MODULES]
    print(f"building {len(modules)} modules with mypyc …", flush=True)
    print(f"build: {build(modules):.0f} s wall", flush=True)
    rows: dict[str, list[dict[str, float]]] = {"pure": [], "compiled": []}
    with tempfile.TemporaryDirectory(prefix="mypyc-trial-") as tmp:
        parked = Path(tmp) / "so"
        try:
            for pair in range(1, args.pairs + 1):
                for kind in ("pure", "compiled"):
                    if kind == "pure":
                        _move(_built(), SRC, parked)
                    else:
                        _move(sorted(parked.rglob("*.so")), parked, SRC)
                    got = _bench(args.flows, Path(tmp) / f"{kind}-{pair}")
                    rows[kind].append(got)
                    print(
                        f"pair {pair} {kind:8} CPU s/1k flows {got['cpu']:.3f}  "
                        f"× ceiling {got['ratio']:.3f}  machine busy {got['busy']:.0f} %",
                        flush=True,
                    )
        finally:
            for f in [*_built(), *parked.rglob("*.so")]:
                f.unlink()
    for kind, got in rows.items():
        cpu = [g["cpu"] for g in got]
        ratio = [g["ratio"] for g in got]
        print(
            f"{kind:8} CPU s/1k mean {statistics.mean(cpu):.3f} median "
            f"{statistics.median(cpu):.3f}; × ceiling mean {statistics.mean(ratio):.3f}"
        )


if __name__ == "__main__":
    main()
