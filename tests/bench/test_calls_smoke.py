"""``make bench-calls`` end to end, tiny: 20 simulated calls through the IVR. Checks that
the scenario runs and loses no call (each completes with its key), never how fast: the
figures come from ``make bench-calls`` itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts a server in a subprocess

ROOT = Path(__file__).resolve().parents[2]


def test_calls_bench_completes_every_call_and_reports_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "calls.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.calls",
            "--calls",
            "20",
            "--in-flight",
            "5",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["statuses"] == {"COMPLETED": 20} and result["lost"] == 0
    assert result["keys"] == {"1": 10, "2": 10}
    assert result["calls_per_s"] > 0 and result["cpu_ms_per_call"] > 0
