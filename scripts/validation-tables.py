#!/usr/bin/env python3
"""The measured tables of docs/validation.md, computed from the committed results/ directories.

    python3 scripts/validation-tables.py            # print every table
    python3 scripts/validation-tables.py --write    # rewrite the tables in docs/validation.md
    python3 scripts/validation-tables.py --check    # exit 1 if docs/validation.md is stale (CI)

Each table sits in docs/validation.md between `<!-- table: NAME -->` and `<!-- end -->`. Only the
Python standard library is used, so CI can run it without the notebook environment.
"""

import bisect
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


# SIGCOMM 2001, Fig. 10(a), digitised (docs/validation.md §1): mean, 1st and 99th percentile
# of the path length for N = 2^3 .. 2^14.
SIGCOMM_FIG10A = {
    8: (1.72, 1, 3), 16: (2.10, 1, 4), 32: (2.50, 1, 5), 64: (2.96, 1, 5), 128: (3.39, 1, 6),
    256: (3.88, 1, 7), 512: (4.38, 1, 7), 1024: (4.89, 2, 8), 2048: (5.37, 2, 9),
    4096: (5.85, 2, 10), 8192: (6.35, 2, 10), 16384: (6.87, 3, 11),
}


def find_predecessor_steps(ring, bits, origin, key):
    """SIGCOMM 2001 Fig. 4's find_predecessor, iterative, on exact finger tables (finger i of n
    is the successor of n + 2^i) of the sorted peer IDs `ring`: the steps from `origin` until
    `key` lies in (n', n'.successor]. A querier that owns the key routes to its own predecessor."""
    size = 1 << bits

    def succ(x):
        return ring[bisect.bisect_left(ring, x % size) % len(ring)]

    n, steps = origin, 0
    while True:
        d = (key - n) % size
        if 0 < d <= (succ(n + 1) - n) % size:
            return steps
        # closest_preceding_finger: the largest i with finger i in (n, key).
        top = (d - 1).bit_length() - 1 if d > 0 else bits - 1
        for i in range(min(top, bits - 1), -1, -1):
            fd = (succ(n + (1 << i)) - n) % size
            if 0 < fd and (d == 0 or fd < d):
                n = (n + fd) % size
                break
        steps += 1


def percentile(values, q):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def mean_ci(values):
    """Mean and the half-width of its 95 % CI (Student t)."""
    n = len(values)
    m = sum(values) / n
    if n < 2:
        return m, 0.0
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    t = {2: 12.71, 3: 4.30, 5: 2.78, 10: 2.26, 20: 2.09}.get(n, 2.0)
    return m, t * sd / math.sqrt(n)


def papers_way():
    """The papers' path length (find_predecessor steps) for the runs of chord-path-length-small,
    replayed on exact finger tables from each run's peer IDs; cross-checked against dhtsim's
    hops - 1 on every lookup whose querier does not own the key."""
    scen = "chord-path-length-small"
    bits = 32
    summary = rows(scen, "summary.csv")
    n_of = {r["run"]: int(r["population.peers"]) for r in summary}
    ring = defaultdict(list)
    for r in rows(scen, "peers.csv"):
        ring[r["run"]].append(int(r["peer"]))
    for v in ring.values():
        v.sort()
    per_run = defaultdict(lambda: [[], []])  # run -> (papers' steps, hops - 1)
    checked = mismatched = 0
    for r in rows(scen, "lookups.csv"):
        steps = find_predecessor_steps(ring[r["run"]], bits, int(r["origin"]), int(r["key"]))
        hops = int(r["hops"])
        if hops > 0:
            checked += 1
            mismatched += steps != hops - 1
        per_run[r["run"]][0].append(steps)
        per_run[r["run"]][1].append(hops - 1)
    by_n = defaultdict(lambda: {"papers": [], "hops": [], "all": [], "owner": 0, "lookups": 0})
    for run, (steps, hm1) in per_run.items():
        b = by_n[n_of[run]]
        b["papers"].append(sum(steps) / len(steps))
        b["hops"].append(sum(hm1) / len(hm1))
        b["all"] += steps
        b["owner"] += sum(1 for h in hm1 if h < 0)
        b["lookups"] += len(hm1)
    return by_n, checked, mismatched


def path_papers():
    by_n, checked, mismatched = papers_way()
    body = []
    for n in sorted(by_n):
        b = by_n[n]
        paper, p1, p99 = SIGCOMM_FIG10A[n]
        m, ci = mean_ci(b["papers"])
        hm, hci = mean_ci(b["hops"])
        body.append([
            n, f"{paper:.2f} ({p1}, {p99})", f"{hm:.2f} ± {hci:.2f}",
            f(100 * b["owner"] / b["lookups"], 1),
            f"{m:.2f} ± {ci:.2f} ({percentile(b['all'], 1)}, {percentile(b['all'], 99)})",
            f"{m - paper:+.2f}",
        ])
    # Larger rings: chord-path-length, where the querier owns the key in under 0.2 % of lookups.
    hist = defaultdict(lambda: defaultdict(int))
    n_of = {r["run"]: int(r["population.peers"]) for r in rows("chord-path-length", "summary.csv")}
    for r in rows("chord-path-length", "hops.csv"):
        hist[n_of[r["run"]]][int(r["hops"])] += int(r["lookups"])
    for n in sorted(hist):
        if n in by_n:
            continue
        h = hist[n]
        total = sum(h.values())
        routed = {k - 1: c for k, c in h.items() if k > 0}
        m = sum(k * c for k, c in routed.items()) / sum(routed.values())
        flat = sorted(routed.items())

        def pct(q):
            need, acc = q / 100 * sum(routed.values()), 0
            for k, c in flat:
                acc += c
                if acc >= need:
                    return k
        paper, p1, p99 = SIGCOMM_FIG10A[n]
        hm = sum((k - 1) * c for k, c in h.items()) / total
        body.append([
            n, f"{paper:.2f} ({p1}, {p99})", f"{hm:.2f}", f(100 * h.get(0, 0) / total, 2),
            f"{m:.2f}* ({pct(1)}, {pct(99)})", f"{m - paper:+.2f}",
        ])
    note = (f"\n\nThe replay agreed with dhtsim's hops − 1 on all {checked:,} lookups whose "
            f"querier does not own the key ({mismatched} mismatches).")
    return table(["N", "SIGCOMM Fig. 10(a): mean (p1, p99)", "dhtsim hops − 1 (mean ± CI)",
                  "querier owns the key (%)", "papers' way: mean ± CI (p1, p99)",
                  "papers' way − SIGCOMM"], body) + note


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


# ToN 2003, Table II: p -> (path length mean, p1, p99), (timeouts mean, p1, p99).
TON_TABLE2 = {
    "0": ((3.84, 2, 5), (0.0, 0, 0)), "0.1": ((4.03, 2, 6), (0.60, 0, 2)),
    "0.2": ((4.22, 2, 6), (1.17, 0, 3)), "0.3": ((4.44, 2, 6), (2.02, 0, 5)),
    "0.4": ((4.69, 2, 7), (3.23, 0, 8)), "0.5": ((5.09, 3, 8), (5.10, 0, 11)),
}


def first_timeouts(scenario, key, t_ms):
    """Timeouts per lookup in the first `t_ms` of each run, by (lookup style, `key`)."""
    by_run = {r["run"]: (r["overlay.lookup"], r[key]) for r in rows(scenario, "summary.csv")}
    acc = defaultdict(lambda: [0, 0])
    for r in rows(scenario, "timeseries.csv"):
        if int(r["t_ms"]) <= t_ms:
            a = acc[by_run[r["run"]]]
            a[0] += int(r["timeouts"])
            a[1] += int(r["lookups"])
    return {k: t / n for k, (t, n) in acc.items() if n > 0}


def failures():
    first = first_timeouts("chord-failures", "churn.fail_fraction", 100_000)
    body = []
    for r in rows("chord-failures"):
        if r["overlay.lookup"] != "iterative":
            continue
        p = r["churn.fail_fraction"]
        (tl, tl1, tl99), (tt, tt1, tt99) = TON_TABLE2[p]
        body.append([
            p, f"{tl:.2f} ({tl1}, {tl99})",
            f"{float(r['hops_mean']) - 1:.2f} ± {float(r['hops_mean_ci95']):.2f} "
            f"({float(r['hops_p1']) - 1:.1f}, {float(r['hops_p99']) - 1:.1f})",
            f"{tt:.2f} ({tt1}, {tt99})",
            f"{pm(r, 'timeouts_per_lookup')} ({f(r['timeouts_p1'], 1)}, {f(r['timeouts_p99'], 1)})",
            f(first[("iterative", p)]), pm(r, "not_found_rate", 3),
        ])
    return table(["p", "ToN Table II path length (p1, p99)",
                  "dhtsim iterative: hops − 1 (p1, p99)", "ToN Table II timeouts (p1, p99)",
                  "dhtsim iterative: timeouts / lookup (p1, p99)", "… in the first 100 lookups",
                  "lost keys (not_found rate)"], body)


def failures_recursive():
    first = first_timeouts("chord-failures", "churn.fail_fraction", 100_000)
    it = {r["churn.fail_fraction"]: r for r in rows("chord-failures")
          if r["overlay.lookup"] == "iterative"}
    body = []
    for r in rows("chord-failures"):
        if r["overlay.lookup"] != "recursive":
            continue
        p = r["churn.fail_fraction"]
        body.append([
            p, f"{float(r['hops_mean']) - 1:.2f} ({float(r['hops_p1']) - 1:.1f}, "
               f"{float(r['hops_p99']) - 1:.1f})",
            pm(r, "timeouts_per_lookup"), f(first[("recursive", p)]),
            pm(it[p], "timeouts_per_lookup"), f(first[("iterative", p)]),
        ])
    return table(["p", "recursive: hops − 1 (p1, p99)", "recursive: timeouts / lookup",
                  "… first 100 lookups", "iterative: timeouts / lookup", "… first 100 lookups"],
                 body)


def failures_frozen():
    learning = {r["churn.fail_fraction"]: r for r in rows("chord-failures")
                if r["overlay.lookup"] == "iterative"}
    body = []
    for r in rows("chord-failures-frozen"):
        p = r["churn.fail_fraction"]
        (tl, tl1, tl99), (tt, tt1, tt99) = TON_TABLE2[p]
        body.append([
            p, f"{tt:.2f} ({tt1}, {tt99})",
            f"{pm(r, 'timeouts_per_lookup')} ({f(r['timeouts_p1'], 1)}, {f(r['timeouts_p99'], 1)})",
            pm(learning[p], "timeouts_per_lookup"),
            f"{tl:.2f} ({tl1}, {tl99})",
            f"{float(r['hops_mean']) - 1:.2f} ({float(r['hops_p1']) - 1:.1f}, "
            f"{float(r['hops_p99']) - 1:.1f})",
        ])
    return table(["p", "ToN Table II timeouts (p1, p99)",
                  "dhtsim, tables frozen: timeouts / lookup (p1, p99)",
                  "… querier learning (table above)", "ToN Table II path length (p1, p99)",
                  "dhtsim, tables frozen: hops − 1 (p1, p99)"], body)


# ToN 2003, Table III: R -> (path length mean, p1, p99), (timeouts mean, p1, p99), failures
# per 10,000 lookups.
TON_TABLE3 = {
    0.05: ((3.90, 1, 9), (0.05, 0, 2), 0), 0.10: ((3.83, 1, 9), (0.11, 0, 2), 0),
    0.15: ((3.84, 1, 9), (0.16, 0, 2), 2), 0.20: ((3.81, 1, 9), (0.23, 0, 3), 5),
    0.25: ((3.83, 1, 9), (0.30, 0, 3), 6), 0.30: ((3.91, 1, 9), (0.34, 0, 4), 8),
    0.35: ((3.94, 1, 10), (0.42, 0, 4), 16), 0.40: ((4.06, 1, 10), (0.46, 0, 5), 15),
}


def stabilization():
    body = []
    for r in rows("chord-stabilization"):
        rate = float(r["churn.rate_per_s"])
        (tl, tl1, tl99), (tt, tt1, tt99), tf = TON_TABLE3[round(rate, 2)]
        routing = float(r["failed_rate"]) + float(r["wrong_owner_rate"])
        body.append([
            f"{rate:.2f}", f"{tl:.2f} ({tl1}, {tl99})",
            f"{float(r['hops_mean']) - 1:.2f} ± {float(r['hops_mean_ci95']):.2f} "
            f"({float(r['hops_p1']) - 1:.1f}, {float(r['hops_p99']) - 1:.1f})",
            f"{tt:.2f} ({tt1}, {tt99})",
            f"{pm(r, 'timeouts_per_lookup')} ({f(r['timeouts_p1'], 1)}, {f(r['timeouts_p99'], 1)})",
            tf, f(routing * 1e4, 1), pm(r, "failed_rate", 1, 1e4), pm(r, "wrong_owner_rate", 1, 1e4),
            pm(r, "not_found_rate", 1, 1e4),
        ])
    return table(["R (per s)", "ToN path length (p1, p99)", "dhtsim hops − 1 (p1, p99)",
                  "ToN timeouts (p1, p99)", "dhtsim timeouts / lookup (p1, p99)",
                  "ToN failures / 10⁴", "dhtsim routing failures / 10⁴", "… failed",
                  "… wrong owner", "lost keys / 10⁴"], body)


# SIGCOMM 2001, Fig. 12, digitised: R -> failed-lookup fraction and its 95 % CI.
SIGCOMM_FIG12 = {0.01: (0.0030, 0.0003, 0.0055), 0.02: (0.0095, 0.0073, 0.0117),
                 0.05: (0.0245, 0.018, 0.031), 0.10: (0.0645, 0.058, 0.071)}


def stabilization_sigcomm():
    body = []
    by = {}
    for r in rows("chord-stabilization-sigcomm"):
        by.setdefault(r["churn.rate_per_s"], {})[r["variant"]] = r
    for rate_s, variants in by.items():
        rate = float(rate_s)
        paper, lo, hi = SIGCOMM_FIG12[round(rate, 2)]
        own, sig = variants["dhtsim"], variants["SIGCOMM sim, inferred"]
        routing = lambda r: float(r["failed_rate"]) + float(r["wrong_owner_rate"])
        body.append([
            f"{rate:.2f}", f"{rate * 30:.1f}", f"{100 * paper:.2f} ({100 * lo:.2f}–{100 * hi:.2f})",
            f(100 * routing(own)), pm(own, "failed_rate", 2, 100), pm(own, "wrong_owner_rate", 3, 100),
            f(paper / routing(own), 1) if routing(own) > 0 else "—",
            f(100 * routing(sig)), pm(sig, "failed_rate", 2, 100),
            pm(own, "not_found_rate", 1, 100), f(float(own["hops_mean"]) - 1),
        ])
    return table(["R (per s)", "per 30 s round", "SIGCOMM Fig. 12 failed (%) (95 % CI)",
                  "dhtsim routing failures (%)", "… failed (%)", "… wrong owner (%)",
                  "SIGCOMM / dhtsim", "SIGCOMM sim, inferred: routing failures (%)", "… failed (%)",
                  "lost keys (%), not counted", "hops − 1"], body)


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


def kademlia_churn():
    body = []
    for r in rows("kademlia-churn"):
        routing = float(r["failed_rate"]) + float(r["wrong_owner_rate"])
        body.append([
            r["variant"], f(float(r["churn.session_mean_s"]) / 60, 0), pm(r, "hops_mean", 2),
            f(routing * 100, 2), pm(r, "timeouts_per_lookup", 2), f(r["latency_ms_p50"], 0),
            pm(r, "maintenance_bytes_per_peer_s", 1), pm(r, "bytes_per_peer_s", 1),
        ])
    return table(["setting", "mean session (min)", "hops", "routing failures (%)",
                  "timeouts / lookup", "median latency (ms)",
                  "maintenance bytes / peer / s", "all bytes / peer / s"], body)


# Kademlia's path length against Cai and Devroye (ISAAC 2013): their random-ID model replayed
# by an independent greedy walk, and the constant of c·log2 N for that model.

MASK64 = (1 << 64) - 1


class SplitMix:
    """SplitMix64: a small seeded generator, stable across Python versions."""

    def __init__(self, seed):
        self.s = seed & MASK64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


def greedy_kademlia_steps(n, k, bits, lookups, seed):
    """Mean steps of Kademlia's greedy walk (alpha = 1) to the XOR-closest of `n` random
    `bits`-bit IDs, each bucket holding k IDs drawn uniformly from its range (all of them when
    it has fewer): from a random querier to a uniform key, each step moves to the querier's
    contact closest to the key, until no contact is closer. A peer's bucket is drawn when the
    walk first needs it; a walk never comes back to a peer, so that is the model's law."""
    rng = SplitMix(seed)
    shift = 64 - bits
    ids = set()
    while len(ids) < n:
        ids.add(rng.next() >> shift)
    ids = sorted(ids)
    steps_of = []
    for _ in range(lookups):
        cur = ids[rng.below(n)]
        key = rng.next() >> shift
        steps = 0
        while True:
            d = cur ^ key
            nxt = None
            # Contacts closer to the key than `cur` lie in the buckets j where bit j of d is
            # set; the highest non-empty one holds the closest.
            for j in range(d.bit_length() - 1, -1, -1):
                if not (d >> j) & 1:
                    continue
                base = ((cur >> j) ^ 1) << j
                a = bisect.bisect_left(ids, base)
                z = bisect.bisect_left(ids, base + (1 << j))
                if z == a:
                    continue
                count = z - a
                if count <= k:
                    picks = range(count)
                else:  # Floyd's sampling of k distinct positions
                    picks = set()
                    for t in range(count - k, count):
                        r = rng.below(t + 1)
                        picks.add(t if r in picks else r)
                nxt = min((ids[a + p] for p in picks), key=lambda x: x ^ key)
                break
            if nxt is None:
                break
            cur = nxt
            steps += 1
        steps_of.append(steps)
    return sum(steps_of) / len(steps_of)


def kademlia_c(k):
    """c of c·log2 N in the model above: one bit gained per step plus the longest extra
    agreement with the key among k uniform contacts, E = sum_t≥1 1 - (1 - 2^-t)^k."""
    gain = 1.0 + sum(1.0 - (1.0 - 2.0 ** -t) ** k for t in range(1, 64))
    return 1.0 / gain


def slope(xs, ys):
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def kademlia_path_length():
    by_k = defaultdict(dict)
    for r in rows("kademlia-path-length"):
        by_k[int(r["overlay.k"])][int(r["population.peers"])] = r
    body = []
    for k in sorted(by_k):
        ns = sorted(by_k[k])
        model = {n: greedy_kademlia_steps(n, k, 64, 4000, 1000 * k + n) for n in ns}
        logs = [math.log2(n) for n in ns]
        measured = [float(by_k[k][n]["hops_mean"]) for n in ns]
        cells = [f"{pm(by_k[k][n], 'hops_mean')} / {model[n]:.2f}" for n in ns]
        body.append([k, *cells, f(slope(logs, measured), 3),
                     f(slope(logs, [model[n] for n in ns]), 3), f(kademlia_c(k), 3)])
    ns = sorted(next(iter(by_k.values())))
    return table(["k", *[f"N = 2^{int(math.log2(n))}: dhtsim / model" for n in ns],
                  "dhtsim slope", "model slope", "c (model, N → ∞)"], body)


# Qiu and Srikant's fluid model (SIGCOMM 2004), for scenarios/swarm-fluid.toml: a file of F bits,
# upload u and download d bit/s per peer, seeds staying S s, one initial seeder all along.
FLUID_F = 100 * 256 * 1024 * 8
FLUID_UP, FLUID_DOWN = 1000e3, 8000e3
FLUID_WINDOW = (1_000_000, 4_000_000)  # arrivals measured, ms
FLUID_SAMPLES = (1_000_000, 5_000_000)  # population averaged over, ms


def fluid_paper(seed_s):
    """Qiu and Srikant's steady-state download time, s: max(1/c, (1/η)(1/μ − 1/γ)), η = 1."""
    return max(FLUID_F / FLUID_DOWN, FLUID_F / FLUID_UP - seed_s)


def fluid_model(lam, seed_s, eta, zeta):
    """The same with the measured shares of upload used, η by leechers and ζ by seeds, and the
    initial seeder that stays: max(1/c, (1/η)(1/μ − ζ·y/λ)) with y = λ/γ + 1 seeds."""
    inv_mu, inv_c = FLUID_F / FLUID_UP, FLUID_F / FLUID_DOWN
    return max(inv_c, (inv_mu - zeta * (seed_s + 1 / lam)) / eta)


def swarm_fluid():
    summary = rows("swarm-fluid", "summary.csv")
    downloads = defaultdict(list)
    for r in rows("swarm-fluid", "downloads.csv"):
        downloads[r["run"]].append(r)
    samples = defaultdict(list)
    for r in rows("swarm-fluid", "swarm.csv"):
        if FLUID_SAMPLES[0] <= int(r["t_ms"]) < FLUID_SAMPLES[1]:
            samples[r["run"]].append((int(r["seeders"]), int(r["leechers"])))
    seed_time = {"upload-bound": 0, "near the boundary": 200}
    points = defaultdict(list)
    for r in summary:
        points[(r["variant"], float(r["swarm.arrivals_per_s"]))].append(r)
    body = []
    for (variant, lam), runs in points.items():
        seed_s = seed_time.get(variant, 600)  # every download-bound setting: 600 s
        per_seed_t, xs, ys = [], [], []
        up = {"leech": [0, 0.0], "seed": [0, 0.0]}  # bits sent, bit capacity offered
        for r in runs:
            end = int(r["end_ms"])
            peers = downloads[r["run"]]
            measured = [p for p in peers if p["initial_seeder"] == "0"
                        and FLUID_WINDOW[0] <= int(p["arrive_ms"]) < FLUID_WINDOW[1]]
            times = [(int(p["complete_ms"]) - int(p["arrive_ms"])) / 1000 for p in measured]
            per_seed_t.append(sum(times) / len(times))
            for p in peers:
                arrive, leave = int(p["arrive_ms"]), int(p["leave_ms"] or end)
                done = int(p["complete_ms"]) if p["complete_ms"] else None
                seeding_from = arrive if p["initial_seeder"] == "1" else done
                leech_until = seeding_from if seeding_from is not None else leave
                up["leech"][0] += (int(p["bytes_up"]) - int(p["bytes_up_seeding"])) * 8
                up["leech"][1] += (leech_until - arrive) / 1000 * FLUID_UP
                up["seed"][0] += int(p["bytes_up_seeding"]) * 8
                if seeding_from is not None:
                    up["seed"][1] += (leave - seeding_from) / 1000 * FLUID_UP
            ys.append(sum(s for s, _ in samples[r["run"]]) / len(samples[r["run"]]))
            xs.append(sum(x for _, x in samples[r["run"]]) / len(samples[r["run"]]))
        t_mean, t_ci = mean_ci(per_seed_t)
        eta = up["leech"][0] / up["leech"][1]
        zeta = up["seed"][0] / up["seed"][1]
        body.append([variant, f"{lam:g}", f"{t_mean:.1f} ± {t_ci:.1f}",
                     f"{fluid_paper(seed_s):.1f}",
                     f"{eta:.2f}", f"{zeta:.2f}",
                     # Where downloads bind, idle upload is an effect, not a cause: no column.
                     "—" if seed_s == 600 else f"{fluid_model(lam, seed_s, eta, zeta):.1f}",
                     f"{sum(xs) / len(xs):.1f} / {lam * t_mean:.1f}",
                     f"{sum(ys) / len(ys):.1f} / {lam * seed_s + 1:.1f}"])
    return table(["setting", "λ (1/s)", "T measured, s (95 % CI, 5 seeds)",
                  "T fluid (η = 1), s", "η measured", "ζ measured",
                  "T fluid with η, ζ and the initial seeder, s",
                  "leechers: mean / λT", "seeds: mean / λ/γ + 1"], body)


# Mean one-way latency of the default plane: 0.5214 x 150 ms + two access delays of 10.5 ms.
PLANE_ONE_WAY_MS = 0.521405 * 150 + 21


def latency_plane():
    body = []
    for r in rows("latency-plane"):
        hops = float(r["hops_mean"])
        # Messages in sequence on a lookup's critical path: the forwards and the answer
        # (recursive), a request and a reply per step (iterative); Kademlia's rounds are not
        # read off its hops.
        sequential = {"Chord recursive": hops + 1, "Chord iterative": 2 * hops}.get(r["variant"])
        predicted = f"{sequential * PLANE_ONE_WAY_MS:.0f}" if sequential else "—"
        body.append([
            r["variant"], r["population.peers"], f(hops), f(r["messages_per_lookup"], 1),
            pm(r, "latency_ms_mean", 0), predicted, f(r["latency_ms_p50"], 0),
            f(r["latency_ms_p95"], 0), f(r["stretch_p50"]), f(r["stretch_p95"]),
        ])
    return table(["variant", "N", "hops", "messages per lookup", "latency mean ± CI, ms",
                  "sequential messages × 99.2 ms", "latency p50, ms", "latency p95, ms",
                  "stretch p50", "stretch p95"], body)


def nat(scenario):
    body = []
    for r in rows(scenario):
        body.append([
            r["variant"], r["network.unreachable"], pm(r, "hops_mean"),
            f"{100 * float(r['ok_rate']):.1f} %", f"{100 * float(r['wrong_owner_rate']):.1f} %",
            f"{100 * float(r['failed_rate']):.1f} %", f(r["timeouts_per_lookup"]),
            f(r["messages_per_lookup"], 1), f(r["latency_ms_mean"], 0),
        ])
    return table(["variant", "f", "hops mean ± CI", "ok", "wrong owner", "failed",
                  "timeouts per lookup", "messages per lookup", "latency mean, ms"], body)


def nat_swarm():
    body = []
    for r in rows("nat-swarm", "summary.csv"):
        body.append([
            r["network.unreachable"], r["seed"], r["completed"],
            f(float(r["download_ms_mean"]) / 1000, 0), f(float(r["download_ms_p50"]) / 1000, 0),
            f(float(r["download_ms_p95"]) / 1000, 0),
        ])
    return table(["f", "seed", "leechers completed (of 1,000)", "download mean, s",
                  "download p50, s", "download p95, s"], body)


def nat_swarm_dht():
    body = []
    for r in rows("nat-swarm-dht", "summary.csv"):
        secs = lambda k: f(float(r[k]) / 1000, 0) if r[k] else "—"
        body.append([
            r["variant"], r["network.unreachable"], r["seed"], r["completed"],
            secs("download_ms_mean"), secs("download_ms_p95"), r["discovery_messages"],
            r["timeouts"],
        ])
    return table(["variant", "f", "seed", "leechers completed (of 1,000)", "download mean, s",
                  "download p95, s", "discovery messages", "DHT timeouts"], body)


def latency_proximity():
    body = []
    for r in rows("latency-proximity"):
        body.append([
            r["variant"], r["population.peers"], r["overlay.proximity"], pm(r, "hops_mean"),
            pm(r, "latency_ms_mean", 0), f(r["latency_ms_p50"], 0), f(r["latency_ms_p95"], 0),
            f(r["stretch_p50"]),
        ])
    return table(["variant", "N", "candidates x", "hops mean ± CI", "latency mean ± CI, ms",
                  "latency p50, ms", "latency p95, ms", "stretch p50"], body)


def lossy_links():
    dropped = defaultdict(lambda: [0, 0])
    for r in rows("lossy-links", "summary.csv"):
        d = dropped[(r["variant"], r["overlay.rpc_attempts"])]
        d[0] += int(r["messages_dropped"])
        d[1] += int(r["messages"])
    body = []
    for r in rows("lossy-links"):
        drops, messages = dropped[(r["variant"], r["overlay.rpc_attempts"])]
        body.append([
            r["variant"], r["overlay.rpc_attempts"], pm(r, "ok_rate", 1, 100),
            f"{100 * float(r['wrong_owner_rate']):.1f} %", f"{100 * float(r['failed_rate']):.1f} %",
            f(r["timeouts_per_lookup"]), f"{100 * drops / messages:.2f} %",
            f(r["latency_ms_mean"], 0),
        ])
    return table(["variant", "attempts", "ok, % ± CI", "wrong owner", "failed",
                  "timeouts per lookup", "messages dropped", "latency mean, ms"], body)


def kademlia_proximity():
    body = []
    for r in rows("kademlia-proximity"):
        body.append([
            r["variant"], r["population.peers"], r["overlay.alpha"], r["overlay.proximity"],
            "on" if r["overlay.proximity_routing"] == "true" else "off", pm(r, "hops_mean"),
            f(r["messages_per_lookup"], 1), pm(r, "latency_ms_mean", 0),
            f(r["latency_ms_p50"], 0), f(r["latency_ms_p95"], 0),
        ])
    return table(["keys", "N", "α", "candidates x", "PRS", "hops mean ± CI",
                  "messages per lookup", "latency mean ± CI, ms", "latency p50, ms",
                  "latency p95, ms"], body)


TABLES = {
    "path-length": path_length,
    "path-pdf": path_pdf,
    "load-balance": load_balance,
    "virtual-nodes": virtual_nodes,
    "path-papers": path_papers,
    "failures": failures,
    "failures-recursive": failures_recursive,
    "failures-frozen": failures_frozen,
    "stabilization": stabilization,
    "stabilization-sigcomm": stabilization_sigcomm,
    "shortcuts": shortcuts,
    "kademlia-path-length": kademlia_path_length,
    "kademlia-churn": kademlia_churn,
    "swarm-fluid": swarm_fluid,
    "latency-plane": latency_plane,
    "nat-clients": lambda: nat("nat-clients"),
    "nat-churn": lambda: nat("nat-churn"),
    "latency-proximity": latency_proximity,
    "nat-swarm": nat_swarm,
    "nat-swarm-dht": nat_swarm_dht,
    "lossy-links": lossy_links,
    "kademlia-proximity": kademlia_proximity,
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
