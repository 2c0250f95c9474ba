"""The benchmark's command line: which modes, loads and durations to measure."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from bench.peers import PEERS

RESULTS = Path(__file__).resolve().parent / "results"
ALL_MODES = ["sqlite", "sqlite2", "pg1", "pg2", "pg4"]


# configuration -------------------------------------------------------------------------
@dataclass
class Config:
    duration_s: float
    warmup_s: float
    drain_s: float
    concurrency: list[int]
    modes: list[str]
    open_rate: float | None
    """Flows/s of the open-loop point of each mode; None: half the ceiling's C=10."""
    backlog: int
    profile: bool
    profile_concurrency: int
    results: Path
    quick: bool
    keep: bool
    flows: int | None = None
    """Bound each closed-loop point by this many flows instead of by time (smoke tests)."""
    poll_interval_s: float | None = None
    """``FLOWHOOK_POLL_INTERVAL_S`` of the flowhook processes; None: flowhook's default."""
    profile_mode: str = "sqlite"
    peers: list[str] = field(default_factory=list)
    """Other systems measured on the same job after flowhook (``bench.peers``)."""


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="flowhook's reference-scenario benchmark"
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run (2 s points)")
    parser.add_argument("--duration", type=float, help="seconds per measured point (10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per point (2)")
    parser.add_argument(
        "--drain", type=float, default=15.0, help="give up on stragglers after this long quiet"
    )
    parser.add_argument("--concurrency", default="1,10,100", help="closed-loop concurrencies")
    parser.add_argument(
        "--modes", default=",".join(ALL_MODES), help=f"some of {ALL_MODES}, M+backlog"
    )
    parser.add_argument(
        "--open-rate",
        default="auto",
        help="flows/s of an open-loop point per mode; 'auto' = half the ceiling at C=10; 0 = none",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=0,
        help="N pending deliveries to a dead receiver before measuring (adds sqlite+backlog)",
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="profile one mode at C=10 (default: on, off with --quick)",
    )
    parser.add_argument(
        "--profile-mode",
        default="sqlite",
        choices=ALL_MODES,
        help="the mode to profile; in pgN modes the first worker is profiled",
    )
    parser.add_argument(
        "--flows", type=int, help="bound each closed-loop point by a flow count, not by time"
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        help="FLOWHOOK_POLL_INTERVAL_S for flowhook (how often idle workers look for work)",
    )
    parser.add_argument(
        "--peers",
        default="",
        help=f"also run the same job through some of {PEERS} (installed from npm into "
        "~/.cache/flowhook-bench; skipped with a line where npm is missing)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    quick = bool(args.quick)
    duration = args.duration if args.duration is not None else (2.0 if quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (0.5 if quick else 2.0)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        base = mode.split("+")[0]
        if base not in ALL_MODES:
            parser.error(f"unknown mode {mode!r}: use {ALL_MODES}, optionally with +backlog")
    if args.backlog and not any(m.endswith("+backlog") for m in modes):
        at = modes.index("sqlite") + 1 if "sqlite" in modes else 0
        modes.insert(at, "sqlite+backlog")
        if "sqlite" not in modes:
            modes.insert(0, "sqlite")
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for peer in peers:
        if peer not in PEERS:
            parser.error(f"unknown peer {peer!r}: use {PEERS}")
    profile = (not quick) if args.profile is None else bool(args.profile)
    if profile:
        base = args.profile_mode
        modes.insert(modes.index(base) + 1 if base in modes else len(modes), f"{base}+profile")
    rate: float | None = None if args.open_rate == "auto" else float(args.open_rate)
    return Config(
        duration_s=duration,
        warmup_s=warmup,
        drain_s=args.drain,
        concurrency=[int(c) for c in args.concurrency.split(",") if c.strip()],
        modes=modes,
        open_rate=rate,
        backlog=args.backlog or 100_000,
        profile=profile,
        profile_concurrency=10,
        profile_mode=args.profile_mode,
        results=args.results,
        quick=quick,
        keep=args.keep,
        flows=args.flows,
        poll_interval_s=args.poll_interval,
        peers=peers,
    )
