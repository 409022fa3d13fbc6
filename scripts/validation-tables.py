#!/usr/bin/env python3
"""The measured tables of docs/validation.md, computed from the committed results/ directories.

    python3 scripts/validation-tables.py            # print every table
    python3 scripts/validation-tables.py --write    # rewrite the tables in docs/validation.md
    python3 scripts/validation-tables.py --check    # exit 1 if docs/validation.md is stale (CI)

Each table sits in docs/validation.md between `<!-- table: NAME -->` and `<!-- end -->`. Only the
Python standard library is used, so CI can run it without the notebook environment.
"""

import csv
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
DOC = ROOT / "docs" / "validation.md"


def rows(scenario, name="summary_by_point.csv"):
    with open(RESULTS / scenario / name, newline="") as f:
        return list(csv.DictReader(f))


def f(x, digits=2):
    return f"{float(x):.{digits}f}"


def pm(row, key, digits=2, scale=1.0):
    """`mean ± ci` of a summary_by_point metric."""
    mean = float(row[key]) * scale
    ci = row.get(key + "_ci95", "")
    if ci == "":
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {float(ci) * scale:.{digits}f}"


def table(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in body]
    return "\n".join(lines)


def path_length():
    body = []
    for r in rows("chord-path-length"):
        n = int(r["population.peers"])
        k = int(math.log2(n))
        body.append([
            n, k, pm(r, "hops_mean"), f(float(r["hops_mean"]) - 1.0), f(k / 2),
            f(r["hops_p1"], 1), f(r["hops_p99"], 1), f"{k / 2 + 1:.1f}",
        ])
    return table(["N", "k", "dhtsim hops (mean ± CI)", "= path length (hops − 1)", "½·log2 N",
                  "hops p1", "hops p99", "½·log2 N + 1"], body)


def path_pdf():
    summary = rows("chord-path-length", "summary.csv")
    runs = {r["run"] for r in summary if r["population.peers"] == "4096"}
    hist = defaultdict(int)
    for r in rows("chord-path-length", "hops.csv"):
        if r["run"] in runs:
            hist[int(r["hops"])] += int(r["lookups"])
    total = sum(hist.values())
    body = [[h - 1 if h > 0 else "0 (querier owns the key)", h, f(100 * c / total, 2)]
            for h, c in sorted(hist.items())]
    return table(["path length", "dhtsim hops", "share of lookups (%)"], body)


def load_balance():
    body = []
    for r in rows("chord-load-balance"):
        m = float(r["keys_mean"])
        body.append([
            f"{int(r['workload.files']):,}", f(m, 0), f(float(r["keys_p1"]) / m),
            f(float(r["keys_p99"]) / m), pm(r, "keys_max", 1), f(float(r["keys_max"]) / m),
        ])
    return table(["keys", "mean per peer", "p1 / mean", "p99 / mean", "max (mean ± CI)",
                  "max / mean"], body)


def virtual_nodes():
    body = []
    for r in rows("chord-virtual-nodes"):
        m = float(r["keys_mean"])
        body.append([
            r["overlay.virtual_nodes"], f(float(r["keys_p1"]) / m), f(float(r["keys_p99"]) / m),
            f(float(r["keys_max"]) / m), pm(r, "keys_p1", 1), pm(r, "keys_p99", 1),
        ])
    return table(["virtual nodes v", "p1 / mean", "p99 / mean", "max / mean", "p1 (keys)",
                  "p99 (keys)"], body)


def failures():
    # Timeouts of the first 100 lookups after the failure: the first timeseries interval.
    first = defaultdict(list)
    by_run = {r["run"]: r["churn.fail_fraction"] for r in rows("chord-failures", "summary.csv")}
    for r in rows("chord-failures", "timeseries.csv"):
        if r["t_ms"] == "100000" and int(r["lookups"]) > 0:
            first[by_run[r["run"]]].append(int(r["timeouts"]) / int(r["lookups"]))
    body = []
    for r in rows("chord-failures"):
        p = r["churn.fail_fraction"]
        early = first[p]
        body.append([
            p, pm(r, "hops_mean"), f(float(r["hops_mean"]) - 1.0),
            f"{f(r['hops_p1'], 1)}, {f(r['hops_p99'], 1)}", pm(r, "timeouts_per_lookup"),
            f(sum(early) / len(early)), f(r["timeouts_p99"], 1), pm(r, "not_found_rate", 3),
        ])
    return table(["p", "hops (mean ± CI)", "path length (hops − 1)", "hops p1, p99",
                  "timeouts / lookup", "… in the first 100 lookups", "timeouts p99",
                  "lost keys (not_found rate)"], body)


def stabilization():
    body = []
    for r in rows("chord-stabilization"):
        rate = float(r["churn.rate_per_s"])
        routing = float(r["failed_rate"]) + float(r["wrong_owner_rate"])
        body.append([
            f"{rate:.2f}", f"{rate * 30:.1f}", pm(r, "failed_rate", 2, 1e4),
            pm(r, "wrong_owner_rate", 2, 1e4), f(routing * 1e4), pm(r, "not_found_rate", 2, 1e4),
            pm(r, "hops_mean"), pm(r, "timeouts_per_lookup", 3),
        ])
    return table(["R (per s)", "per 30 s round", "failed / 10⁴", "wrong owner / 10⁴",
                  "routing failures / 10⁴", "lost keys / 10⁴", "hops", "timeouts / lookup"],
                 body)


def shortcuts():
    body = []
    for r in rows("shortcuts-churn"):
        variant = ("fingers" if r["overlay.fingers"] == "true" else "ring") + (
            " + cache" if r["overlay.cache_size"] != "0" else "")
        routing = float(r["failed_rate"]) + float(r["wrong_owner_rate"])
        body.append([
            variant, r["churn.rate_per_s"], pm(r, "hops_mean", 1), f(routing * 100, 2),
            pm(r, "not_found_rate", 2, 100), pm(r, "timeouts_per_lookup", 3),
            f(float(r["latency_ms_mean"]) / 1000, 2),
        ])
    return table(["variant", "R (per s)", "hops (mean ± CI)", "routing failures (%)",
                  "lost keys (%)", "timeouts / lookup", "latency (s)"], body)


TABLES = {
    "path-length": path_length,
    "path-pdf": path_pdf,
    "load-balance": load_balance,
    "virtual-nodes": virtual_nodes,
    "failures": failures,
    "stabilization": stabilization,
    "shortcuts": shortcuts,
}

MARK = re.compile(r"(<!-- table: ([a-z-]+) -->\n)(.*?)(<!-- end -->)", re.S)


def render(text):
    return MARK.sub(lambda m: m.group(1) + TABLES[m.group(2)]() + "\n" + m.group(4), text)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "":
        for name, make in TABLES.items():
            print(f"## {name}\n\n{make()}\n")
        return 0
    text = DOC.read_text()
    found = {m.group(2) for m in MARK.finditer(text)}
    missing = set(TABLES) - found
    if missing:
        print(f"{DOC}: no markers for {sorted(missing)}", file=sys.stderr)
        return 1
    new = render(text)
    if mode == "--write":
        DOC.write_text(new)
        return 0
    if mode == "--check":
        if new != text:
            print(f"{DOC} is stale: run python3 scripts/validation-tables.py --write",
                  file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
