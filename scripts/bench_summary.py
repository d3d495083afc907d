#!/usr/bin/env python3
"""Summarise scripts/bench results: medians from hyperfine --export-json files.

Usage: bench_summary.py RESULTS_DIR ROWS_TSV

ROWS_TSV lines: section, kind, label, json file (relative to RESULTS_DIR),
optional payload bytes. Each JSON holds two results: coffer first, then the
tool it is compared with. Kinds:
  time        target: coffer/other ratio <= 1.0
  throughput  target: coffer MiB/s >= 80% of the other's
  info        no target (context, e.g. process start)
Exit status: 0 all targets met, 3 a target missed, other values on error.
"""
import json
import os
import statistics
import sys

RATIO_TARGET = 1.0
THROUGHPUT_TARGET = 80.0  # percent of the other tool's MiB/s
MIB = 1024 * 1024
NOISE_IQR = 0.25  # flag results whose interquartile range exceeds 25% of the median


def iqr_ratio(times):
    q = statistics.quantiles(times, n=4)
    return (q[2] - q[0]) / statistics.median(times)


def load(path):
    with open(path) as f:
        results = json.load(f)["results"]
    if len(results) != 2:
        raise SystemExit(f"{path}: expected 2 results, found {len(results)}")
    return [(r["command"], statistics.median(r["times"]), len(r["times"])) for r in results], \
        [(r["command"], iqr_ratio(r["times"])) for r in results if len(r["times"]) >= 4]


def main():
    out_dir, rows_path = sys.argv[1], sys.argv[2]
    sections = {}
    with open(rows_path) as f:
        for line in f:
            if not line.strip():
                continue
            section, kind, label, name, size = (line.rstrip("\n").split("\t") + [""])[:5]
            sections.setdefault(section, []).append((kind, label, name, int(size) if size else None))

    missed = []
    for section, rows in sections.items():
        data, noisy = [], []
        for kind, label, name, size in rows:
            medians, spread = load(os.path.join(out_dir, name))
            data.append((kind, label, size, medians))
            noisy += [f"{label} ({cmd}: IQR {100 * v:.0f}% of median)" for cmd, v in spread if v > NOISE_IQR]
        other = data[0][3][1][0]
        header = ["operation", "runs", "coffer ms", f"{other} ms", f"coffer/{other}",
                  "coffer MiB/s", f"{other} MiB/s", f"coffer % of {other}", "target", "result"]
        table = []
        for kind, label, size, ((_, c, cn), (_, o, on)) in data:
            ratio = c / o
            runs = str(cn) if cn == on else f"{cn}/{on}"
            row = [label, runs, f"{c * 1e3:.2f}", f"{o * 1e3:.2f}", f"{ratio:.2f}", "", "", "", "", ""]
            if size:
                c_tp, o_tp = size / MIB / c, size / MIB / o
                pct = 100.0 * c_tp / o_tp
                row[5:8] = [f"{c_tp:.0f}", f"{o_tp:.0f}", f"{pct:.0f}%"]
            if kind == "time":
                ok = ratio <= RATIO_TARGET
                row[8] = f"ratio <= {RATIO_TARGET:.1f}"
            elif kind == "throughput":
                ok = pct >= THROUGHPUT_TARGET
                row[8] = f">= {THROUGHPUT_TARGET:.0f}% of {other}"
            else:
                ok = None
            row[9] = "" if ok is None else ("ok" if ok else "MISSED")
            if ok is False:
                missed.append(f"{section}: {label}")
            table.append(row)

        widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
        def fmt(r):
            cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, len(r))]
            return "  ".join(cells).rstrip()
        print(f"[{section}] coffer vs {other}: median wall-clock per invocation, process start included;"
              f" MiB/s = payload size / median")
        print(fmt(header))
        print("  ".join("-" * w for w in widths))
        for r in table:
            print(fmt(r))
        if noisy:
            print(f"noisy (is the machine busy? consider re-running): {'; '.join(noisy)}")
        print()

    if missed:
        print("targets missed: " + "; ".join(missed))
        return 3
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
