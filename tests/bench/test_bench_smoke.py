"""``make bench`` end to end, tiny: the ceiling and flowhook on SQLite, 50 flows at C=5.

Checks that the benchmark works and that no flow is lost on the way (every trigger's
flow-complete payload reaches the receiver), never how fast anything is: speed is measured
by ``make bench``, not by timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the benchmark end to end in subprocesses

ROOT = Path(__file__).resolve().parents[2]

POINT_FIELDS = {
    "mode",
    "loop",
    "concurrency",
    "triggered",
    "delivered",
    "lost",
    "flows_per_s",
    "latency_ms",
    "cpu_s_per_1000_flows",
    "peak_rss_mb",
    "ratio_to_ceiling",
    "ok",
}


def test_bench_delivers_every_triggered_flow_and_reports_every_field(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--modes",
            "sqlite",
            "--concurrency",
            "5",
            "--flows",
            "50",
            "--open-rate",
            "0",
            "--no-profile",
            "--results",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "latest.json").read_text())

    points = {p["mode"]: p for p in result["points"]}
    assert set(points) == {"ceiling", "sqlite"}
    for point in points.values():
        assert set(point) >= POINT_FIELDS
        assert point["triggered"] == point["delivered"] == 50
        assert point["lost"] == 0 and point["trigger_errors"] == 0
        assert {"p50", "p95", "p99"} <= set(point["latency_ms"])
    assert points["sqlite"]["ratio_to_ceiling"] is not None
    assert result["modes"]["sqlite"]["processes"]["api0"]["peak_rss_mb"] > 0
    assert result["ok"] is True
    assert "sqlite" in done.stdout  # the table

    # what the server said about itself over the window: every flow's writes went through
    # group commits, and the claim loops ran
    inside = points["sqlite"]["internals"]
    assert inside["writes"] >= inside["transactions"] > 0
    assert inside["writes_per_flow"] > 1  # accept, finish with the outbox row, the attempt (≈3)
    sizes = inside["rows_per_commit"]
    assert sizes["commits"] == inside["transactions"]
    assert 1 <= sizes["p50"] <= sizes["p99"] <= sizes["max"]
    for figure in ("commit_ms", "queue_wait_ms", "handback_ms"):
        assert inside[figure]["count"] > 0 and inside[figure]["p99_ms"] > 0
    assert inside["executions_started_here"] > 0 and inside["deliveries_started_here"] > 0
    assert "ceiling" not in {p["mode"] for p in result["points"] if "internals" in p}
    assert "rows/commit" in done.stdout
