#!/usr/bin/env python3
"""Summarise scripts/bench results: medians from hyperfine --export-json files.

Usage: bench_summary.py RESULTS_DIR ROWS_TSV

ROWS_TSV lines: section, kind, label, json file (relative to RESULTS_DIR),
optional payload bytes, then kind-specific fields. For time, throughput and
info rows each JSON holds two results: coffer first, then the tool it is
compared with. Kinds:
  time        target: coffer/other ratio <= 1.0
  throughput  target: coffer MiB/s >= 80% of the other's
  info        no target (context, e.g. process start)
  target      fields: peer, max ms, max ratio ("-" for none). The JSON holds
              coffer first and any number of other commands; PEER is the
              name (hyperfine -n) of the one this row compares with.
  mem         fields: peer, coffer KiB, peer KiB, max MiB (json is "-")
  peer        fields: name, max ms ("-" for none): another tool's command
              alone (NAME is its hyperfine -n label in the JSON): its median
              in the peer columns, no coffer figure.
  per         fields: coffer items, peer json, peer name, peer items, max
              ratio ("-" for none): coffer's median in the row's JSON and the
              peer's in PEER JSON, each divided by its item count (ms per
              item), and their ratio.
  delta       fields: peer, max ms: coffer's median minus PEER's (both in
              the row's JSON), target <= MAX_MS
  note        field: text, printed under the section's table
A section with target, mem, peer, per or note rows is printed as an absolute-target
table (operation, coffer, peer, ratio, target); the others as before.
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


def load_all(path):
    """{name: (median s, runs, iqr ratio)} for every command in a hyperfine export."""
    with open(path) as f:
        results = json.load(f)["results"]
    out = {}
    for i, r in enumerate(results):
        value = (statistics.median(r["times"]), len(r["times"]),
                 iqr_ratio(r["times"]) if len(r["times"]) >= 4 else 0.0)
        out[r["command"]] = value  # the hyperfine -n label (a JSON may hold no coffer result)
        if i == 0:
            out["coffer"] = value
    return out


def lookup(out_dir, name, command):
    results = load_all(os.path.join(out_dir, name))
    if command not in results:
        raise SystemExit(f"{name}: no result named {command} (have {', '.join(results)})")
    return results[command]


def fmt_ms(seconds):
    ms = seconds * 1e3
    return f"{ms:.2f} ms" if ms >= 1 else f"{ms:.4f} ms"


def print_table(header, table):
    widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]

    def fmt(r):
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, len(r))]
        return "  ".join(cells).rstrip()
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in table:
        print(fmt(r))


def absolute_section(section, rows, out_dir, missed):
    """Rows with absolute targets (kinds target, mem, note)."""
    header = ["operation", "runs", "coffer", "peer", "peer value", "coffer/peer", "target", "result"]
    table, notes, noisy = [], [], []
    for kind, label, name, _size, extra in rows:
        if kind == "note":
            notes.append(f"{label}: {extra[0] if extra else ''}")
            continue
        if kind == "mem":
            peer, ckib, pkib, max_mib = (extra + ["-"] * 4)[:4]
            c_mib = int(ckib) / 1024
            p_mib = int(pkib) / 1024 if pkib not in ("", "-") else None
            row = [label, "", f"{c_mib:.1f} MiB", peer if p_mib is not None else "-",
                   f"{p_mib:.1f} MiB" if p_mib is not None else "-",
                   f"{c_mib / p_mib:.2f}" if p_mib else "-", "", ""]
            if max_mib != "-":
                ok = c_mib <= float(max_mib)
                row[6], row[7] = f"<= {max_mib} MiB", "ok" if ok else "MISSED"
                if not ok:
                    missed.append(f"{section}: {label}")
            table.append(row)
            continue
        if kind == "peer":
            peer, max_ms = (extra + ["-"] * 2)[:2]
            o, on, oiqr = lookup(out_dir, name, peer)
            if oiqr > NOISE_IQR:
                noisy.append(f"{label} ({peer}: IQR {100 * oiqr:.0f}% of median)")
            row = [label, str(on), "-", peer, fmt_ms(o), "-", "", ""]
            if max_ms != "-":
                ok = o * 1e3 <= float(max_ms)
                row[6], row[7] = f"<= {max_ms} ms", "ok" if ok else "MISSED"
                if not ok:
                    missed.append(f"{section}: {label}")
            table.append(row)
            continue
        if kind == "delta":
            peer, max_ms = (extra + ["-"] * 2)[:2]
            c, cn, _ = lookup(out_dir, name, "coffer")
            o, on, _ = lookup(out_dir, name, peer)
            delta_ms = (c - o) * 1e3
            row = [label, str(cn) if cn == on else f"{cn}/{on}", fmt_ms(c), peer, fmt_ms(o),
                   f"{delta_ms:+.2f} ms", f"<= +{max_ms} ms", ""]
            ok = delta_ms <= float(max_ms)
            row[7] = "ok" if ok else "MISSED"
            if not ok:
                missed.append(f"{section}: {label}")
            table.append(row)
            continue
        if kind == "per":
            c_items, peer_json, peer, p_items, max_ratio = (extra + ["-"] * 5)[:5]
            c, cn, _ = lookup(out_dir, name, "coffer")
            o, on, _ = lookup(out_dir, peer_json, peer)
            c, o = c / int(c_items), o / int(p_items)
            ratio = c / o
            row = [label, str(cn) if cn == on else f"{cn}/{on}", fmt_ms(c), peer, fmt_ms(o),
                   f"{ratio:.2g} (1/{1 / ratio:.0f})" if ratio < 0.1 else f"{ratio:.2f}", "", ""]
            if max_ratio != "-":
                ok = ratio <= float(max_ratio)
                row[6], row[7] = f"<= {max_ratio} x {peer}", "ok" if ok else "MISSED"
                if not ok:
                    missed.append(f"{section}: {label}")
            table.append(row)
            continue
        # kind == "target"
        peer, max_ms, max_ratio = (extra + ["-"] * 3)[:3]
        results = load_all(os.path.join(out_dir, name))
        c, cn, ciqr = results["coffer"]
        if ciqr > NOISE_IQR:
            noisy.append(f"{label} (coffer: IQR {100 * ciqr:.0f}% of median)")
        row = [label, str(cn), f"{c * 1e3:.2f} ms", "-", "-", "-", "", ""]
        ratio = None
        if peer != "-":
            if peer not in results:
                raise SystemExit(f"{name}: no result named {peer} (have {', '.join(results)})")
            o, on, oiqr = results[peer]
            ratio = c / o
            if oiqr > NOISE_IQR:
                noisy.append(f"{label} ({peer}: IQR {100 * oiqr:.0f}% of median)")
            row[1] = str(cn) if cn == on else f"{cn}/{on}"
            row[3:6] = [peer, f"{o * 1e3:.2f} ms", f"{ratio:.2f}"]
        targets, ok = [], True
        if max_ms != "-":
            targets.append(f"<= {max_ms} ms")
            ok = ok and c * 1e3 <= float(max_ms)
        if max_ratio != "-" and ratio is not None:
            targets.append(f"<= {max_ratio} x {peer}")
            ok = ok and ratio <= float(max_ratio)
        if targets:
            row[6], row[7] = "; ".join(targets), "ok" if ok else "MISSED"
            if not ok:
                missed.append(f"{section}: {label}")
        table.append(row)
    print(f"[{section}] median wall-clock per invocation, process start included; memory = max RSS")
    print_table(header, table)
    for n in notes:
        print(f"  {n}")
    if noisy:
        print(f"noisy (is the machine busy? consider re-running): {'; '.join(noisy)}")
    print()


def main():
    out_dir, rows_path = sys.argv[1], sys.argv[2]
    sections = {}
    with open(rows_path) as f:
        for line in f:
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t") + [""]
            section, kind, label, name, size = fields[:5]
            extra = [x for x in fields[5:] if x != ""] if kind != "note" else fields[5:6]
            sections.setdefault(section, []).append((kind, label, name, int(size) if size else None, extra))

    missed = []
    for section, all_rows in sections.items():
        if any(r[0] in ("target", "mem", "peer", "per", "delta", "note") for r in all_rows):
            absolute_section(section, all_rows, out_dir, missed)
            continue
        rows = [r[:4] for r in all_rows]
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
