#!/usr/bin/env python3
"""Chord's stabilization as published, in synchronous rounds, from a ring state dhtsim wrote.

An independent model of the published protocol (SIGCOMM 2001, Fig. 7), to check the
simulator's convergence against: it reads a Graphviz file written by `output.dot_at_s`
(successor pointers and predecessors), then runs rounds in which every member, in a random
order, does `x = successor.predecessor; if x in (n, successor): successor = x;
successor.notify(n)`, and `notify` accepts a notifier closer than the predecessor. No failures,
no messages in flight, no fingers. It prints the share of members whose successor is right after
each tenth round, the number of rounds until every one is, and the pointer that was last to be
right.

Usage:  scripts/stabilization-rounds.py results/X/overlay-run0-5000ms.dot [--bits 24] [--seeds 3]
"""

import argparse
import random
import re


def load(path):
    succ, pred = {}, {}
    with open(path) as f:
        for line in f:
            m = re.match(r'\s*"(\d+)" -> "(\d+)" \[style=solid', line)
            if m:
                succ[int(m.group(1))] = int(m.group(2))
            m = re.match(r'\s*"(\d+)" \[tooltip="pred (\S+)"', line)
            if m:
                pred[int(m.group(1))] = None if m.group(2) == "?" else int(m.group(2))
    if not succ:
        raise SystemExit(f"{path}: no successor pointers (style=solid edges) found")
    return succ, pred


def rounds(succ, pred, space, seed, limit):
    def between(x, a, b):  # x in the open interval (a, b) of the ring; (a, a) is all but a
        return x != a and (a == b or (x - a) % space < (b - a) % space)

    ids = sorted(succ)
    n = len(ids)
    true = {ids[i]: ids[(i + 1) % n] for i in range(n)}
    rng = random.Random(seed)
    shares, last = [], None
    for r in range(1, limit + 1):
        order = ids[:]
        rng.shuffle(order)
        for p in order:
            s = succ[p]
            x = pred.get(s)
            if x is not None and between(x, p, s):
                succ[p] = s = x
            q = pred.get(s)
            if q is None or between(p, q, s):
                pred[s] = p
        wrong = [p for p in ids if succ[p] != true[p]]
        shares.append(1 - len(wrong) / n)
        if len(wrong) == 1:
            last = wrong[0]
        if not wrong:
            return r, shares, last
    return None, shares, last


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dot")
    ap.add_argument("--bits", type=int, default=24, help="id_bits of the scenario")
    ap.add_argument("--seeds", type=int, default=3, help="orders of the members to try")
    ap.add_argument("--limit", type=int, default=100000, help="rounds at most")
    a = ap.parse_args()
    for seed in range(a.seeds):
        succ, pred = load(a.dot)
        r, shares, last = rounds(succ, pred, 1 << a.bits, seed, a.limit)
        curve = " ".join(f"{i + 1}:{s:.3f}" for i, s in enumerate(shares) if (i + 1) % 10 == 0)
        print(f"order {seed}: {len(succ)} members, all right after {r} rounds; last: {last}")
        print(f"  share right by round: {curve}")


if __name__ == "__main__":
    main()
