#!/usr/bin/env python3
"""Median time per phase from `COFFER_TIMINGS=1` runs (scripts/bench).

Usage: bench_phases.py FILE
FILE holds the standard error of several runs; each run's timing line reads
  coffer timings (ms): parse 0.5 open-vault 0.6 ... | total after start 12.3
Prints one line: each phase's median in run order, then the total's median.
"""
import statistics
import sys

runs = []
with open(sys.argv[1]) as f:
    for line in f:
        if not line.startswith("coffer timings (ms):"):
            continue
        body, _, total = line[len("coffer timings (ms):"):].partition("|")
        words = body.split()
        runs.append((list(zip(words[0::2], map(float, words[1::2]))), float(total.split()[-1])))
if not runs:
    sys.exit("bench_phases: no timing lines in " + sys.argv[1])
phases = [name for name, _ in runs[0][0]]
medians = []
for name in phases:
    values = [dict(phases_)[name] for phases_, _ in runs if name in dict(phases_)]
    medians.append(f"{name} {statistics.median(values):.1f}")
print(", ".join(medians) + f"; in all {statistics.median(t for _, t in runs):.1f} ms after the process started ({len(runs)} runs)")
