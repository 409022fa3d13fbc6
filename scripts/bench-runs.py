#!/usr/bin/env python3
"""Whole-run benchmarks: wall time, events per second and peak memory of dhtsim runs by size.

    python3 scripts/bench-runs.py                 # every benchmark, 3 repetitions each
    python3 scripts/bench-runs.py static-fingers  # only those whose name starts with this
    python3 scripts/bench-runs.py --reps 1
    python3 scripts/bench-runs.py --estimates     # only re-read dhtsim's estimates (no runs)

Builds the release binary, runs each (benchmark, size) REPS times with /usr/bin/time, and writes
docs/bench/runs.csv: the median wall time, the median peak RSS, the events the run processed
(from its summary.csv) and dhtsim's own memory estimate (`dhtsim check`). The README's
performance table quotes this file. Python standard library only; needs GNU time
(/usr/bin/time, Debian package `time`).
"""

import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "bench" / "runs.csv"
DHTSIM = ROOT / "target" / "release" / "dhtsim"

# (benchmark, scenario, {size label: overrides}); sizes run in this order.
BENCHMARKS = [
    ("static-fingers", "scenarios/bench-fingers.toml", {
        n: [f"population.peers={n}", "workload.lookups=100000"]
        for n in (1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000)
    }),
    ("successor-ring", "scenarios/bench-ring.toml", {10_000: []}),
    ("churn-maintenance", "scenarios/bench-churn.toml", {100_000: []}),
    ("simgrid-chord", "scenarios/bench-maintenance.toml", {
        n: [f"population.peers={n}"] for n in (10_000, 100_000, 1_000_000)
    }),
    # The same with uniform keys instead of SimGrid's own-finger lookups.
    ("chord-uniform-keys", "scenarios/bench-maintenance.toml", {
        n: [f"population.peers={n}", "workload.keys=uniform"] for n in (10_000, 100_000)
    }),
    ("kademlia-static", "scenarios/bench-kademlia.toml", {
        n: [f"population.peers={n}"] for n in (10_000, 100_000, 1_000_000)
    }),
    ("kademlia-churn", "scenarios/bench-kademlia-churn.toml", {100_000: []}),
]

# Columns of runs.csv.
FIELDS = ["benchmark", "peers", "lookups", "events", "wall_s", "wall_min_s", "wall_max_s",
          "events_per_s", "peak_rss_mb", "estimate_mb", "bytes_per_peer", "reps", "commit"]

# (benchmark, peers) too long to repeat: one run each.
ONCE = {
    ("churn-maintenance", 100_000),
    ("simgrid-chord", 1_000_000),
    ("chord-uniform-keys", 10_000),
    ("chord-uniform-keys", 100_000),
    ("kademlia-churn", 100_000),
}


def run_once(scenario, overrides):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cmd = ["/usr/bin/time", "-f", "%e %M", str(DHTSIM), "run", str(ROOT / scenario),
               "--out", str(out), "--quiet", "--set", "output.plots=false"]
        for o in overrides:
            cmd += ["--set", o]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
        wall, rss_kib = p.stderr.strip().splitlines()[-1].split()
        with open(out / "summary.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        events = sum(int(r["events"]) for r in rows)
        lookups = sum(int(r["lookups"]) for r in rows)
        return float(wall), int(rss_kib) * 1024, events, lookups


def estimate(scenario, overrides):
    # The same settings as run_once: plots off.
    cmd = [str(DHTSIM), "check", str(ROOT / scenario), "--set", "output.plots=false"]
    for o in overrides:
        cmd += ["--set", o]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    line = next(x for x in out if "estimated peak memory: " in x)
    value, unit = line.split("estimated peak memory: ")[1].split()[:2]
    return float(value) * (1e9 if unit == "GB" else 1e6)


def main():
    args = sys.argv[1:]
    reps = 3
    if "--reps" in args:
        i = args.index("--reps")
        reps = int(args[i + 1])
        del args[i:i + 2]
    estimates_only = "--estimates" in args
    if estimates_only:
        args.remove("--estimates")
    only = args[0] if args else ""
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    if estimates_only:
        refresh_estimates()
        return
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    rows = []
    if OUT.exists() and only:
        with open(OUT, newline="") as f:
            rows = [r for r in csv.DictReader(f) if not r["benchmark"].startswith(only)]
    for name, scenario, sizes in BENCHMARKS:
        if not name.startswith(only):
            continue
        for peers, overrides in sizes.items():
            n = 1 if (name, peers) in ONCE else reps
            samples = [run_once(scenario, overrides) for _ in range(n)]
            wall = statistics.median(s[0] for s in samples)
            rss = statistics.median(s[1] for s in samples)
            events, lookups = samples[0][2], samples[0][3]
            row = {
                "benchmark": name, "peers": peers, "lookups": lookups, "events": events,
                "wall_s": f"{wall:.2f}",
                "wall_min_s": f"{min(s[0] for s in samples):.2f}",
                "wall_max_s": f"{max(s[0] for s in samples):.2f}",
                "events_per_s": f"{events / wall:.0f}",
                "peak_rss_mb": f"{rss / 1e6:.0f}",
                "estimate_mb": f"{estimate(scenario, overrides) / 1e6:.0f}",
                "bytes_per_peer": f"{rss / peers:.0f}", "reps": n, "commit": commit,
            }
            print(row, flush=True)
            rows.append(row)
    order = [name for name, _, _ in BENCHMARKS]
    rows.sort(key=lambda r: (order.index(r["benchmark"]), int(r["peers"])))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", newline="") as f:
        # Rows measured before the spread was recorded leave it empty.
        w = csv.DictWriter(f, fieldnames=FIELDS, restval="")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {OUT}")


def refresh_estimates():
    """Re-reads dhtsim's estimate for every row of runs.csv, keeping what was measured."""
    sizes = {(name, str(peers)): (scenario, overrides)
             for name, scenario, by_size in BENCHMARKS for peers, overrides in by_size.items()}
    with open(OUT, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        scenario, overrides = sizes[(row["benchmark"], row["peers"])]
        row["estimate_mb"] = f"{estimate(scenario, overrides) / 1e6:.0f}"
    with open(OUT, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, restval="")
        w.writeheader()
        w.writerows(rows)
    print(f"refreshed the estimates in {OUT}")


if __name__ == "__main__":
    main()
