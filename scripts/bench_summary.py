#!/usr/bin/env python3
"""Summarise scripts/bench results: medians from hyperfine --export-json files.

Usage: bench_summary.py RESULTS_DIR ROWS_TSV
       bench_summary.py --chart RESULTS_DIR

Prints the tables (scripts/bench saves them as summary.txt) and writes
RESULTS_DIR/summary.json (the same tables, the chart's figures and the
missed targets; scripts/bench_docs.py turns it into docs/PERFORMANCE.md) and
RESULTS_DIR/chart.png: per operation, coffer's median beside each peer's
(horizontal bars, log scale). The chart needs matplotlib (Debian:
python3-matplotlib, which installs it for /usr/bin/python3): when this
interpreter lacks it, the script runs itself with --chart under
$BENCH_CHART_PYTHON, /usr/bin/python3 or python3 on PATH, the first that has
it; with none, it skips the chart and says so on standard error.

ROWS_TSV lines: section, kind, label, json file (relative to RESULTS_DIR),
optional payload bytes, then kind-specific fields. For time, throughput and
info rows each JSON holds two results: coffer first, then the tool it is
compared with. Kinds:
  time        target: coffer/other ratio <= 1.0
  throughput  target: coffer MiB/s >= 80% of the other's
  info        no target (context, e.g. process start)
  target      fields: peer, max ms, max ratio ("-" for none; "<R" for a
              strict bound), optional coffer name. The JSON holds coffer
              first and any number of other commands; PEER is the name
              (hyperfine -n) of the one this row compares with, COFFER NAME
              the coffer command's (default: the first command).
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
A row without a target shows "(info)" in the target column.
Exit status: 0 all targets met, 3 a target missed, other values on error.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

RATIO_TARGET = 1.0
THROUGHPUT_TARGET = 80.0  # percent of the other tool's MiB/s
MIB = 1024 * 1024
NOISE_IQR = 0.25  # flag results whose interquartile range exceeds 25% of the median
INFO = "(info)"  # the target column of a row without a target


def ratio_ok(ratio, bound):
    """bound "R" means ratio <= R, "<R" ratio < R."""
    return ratio < float(bound[1:]) if bound.startswith("<") else ratio <= float(bound)


def ratio_target(bound, peer):
    return f"< {bound[1:]} x {peer}" if bound.startswith("<") else f"<= {bound} x {peer}"


def short_label(label):
    """A row's label without its "(vs PEER)" tail, for the chart."""
    return label.split(" (vs ")[0]


class Chart:
    """Groups of bars for chart.png: per operation, coffer's median (ms) and each peer's."""

    def __init__(self):
        self.groups = {}

    def add(self, key, section, label, coffer_ms, peer, peer_ms, target_ms=None):
        g = self.groups.setdefault(key, {"section": section, "label": label, "coffer": coffer_ms, "peers": [],
                                         "target": None})
        if target_ms is not None:
            g["target"] = target_ms
        if peer is not None and peer not in [p for p, _ in g["peers"]]:
            g["peers"].append((peer, peer_ms))

    def data(self):
        return [g for g in self.groups.values() if g["peers"]]


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


def absolute_section(section, rows, out_dir, missed, report, chart):
    """Rows with absolute targets (kinds target, mem, note)."""
    header = ["operation", "runs", "coffer", "peer", "peer value", "coffer/peer", "target", "result"]
    table, notes, noisy = [], [], []
    flagged = set()  # (json, command): one JSON may feed several rows; each wide spread is named once

    def flag(label, json_name, command, iqr):
        if iqr > NOISE_IQR and (json_name, command) not in flagged:
            flagged.add((json_name, command))
            noisy.append(f"{label} ({command}: IQR {100 * iqr:.0f}% of median)")
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
            else:
                row[6] = INFO
            table.append(row)
            continue
        if kind == "peer":
            peer, max_ms = (extra + ["-"] * 2)[:2]
            o, on, oiqr = lookup(out_dir, name, peer)
            flag(label, name, peer, oiqr)
            row = [label, str(on), "-", peer, fmt_ms(o), "-", "", ""]
            if max_ms != "-":
                ok = o * 1e3 <= float(max_ms)
                row[6], row[7] = f"<= {max_ms} ms", "ok" if ok else "MISSED"
                if not ok:
                    missed.append(f"{section}: {label}")
            else:
                row[6] = INFO
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
            table.append(row)  # not charted: an overhead of coffer's, not a peer's figure
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
                ok = ratio_ok(ratio, max_ratio)
                row[6], row[7] = ratio_target(max_ratio, peer), "ok" if ok else "MISSED"
                if not ok:
                    missed.append(f"{section}: {label}")
            else:
                row[6] = INFO
            table.append(row)
            chart.add((section, name, "per", c_items), section,
                      f"{label.split(':')[0]} (coffer over {c_items}, peers over {p_items})", c * 1e3, peer, o * 1e3)
            continue
        # kind == "target"
        peer, max_ms, max_ratio, cname = (extra + ["-"] * 4)[:4]
        cname = "coffer" if cname == "-" else cname
        results = load_all(os.path.join(out_dir, name))
        if cname not in results:
            raise SystemExit(f"{name}: no result named {cname} (have {', '.join(results)})")
        c, cn, ciqr = results[cname]
        flag(label, name, cname, ciqr)
        row = [label, str(cn), f"{c * 1e3:.2f} ms", "-", "-", "-", "", ""]
        ratio = None
        if peer != "-":
            if peer not in results:
                raise SystemExit(f"{name}: no result named {peer} (have {', '.join(results)})")
            o, on, oiqr = results[peer]
            ratio = c / o
            flag(label, name, peer, oiqr)
            row[1] = str(cn) if cn == on else f"{cn}/{on}"
            row[3:6] = [peer, f"{o * 1e3:.2f} ms", f"{ratio:.2f}"]
        targets, ok = [], True
        if max_ms != "-":
            targets.append(f"<= {max_ms} ms")
            ok = ok and c * 1e3 <= float(max_ms)
        if max_ratio != "-" and ratio is not None:
            targets.append(ratio_target(max_ratio, peer))
            ok = ok and ratio_ok(ratio, max_ratio)
        if targets:
            row[6], row[7] = "; ".join(targets), "ok" if ok else "MISSED"
            if not ok:
                missed.append(f"{section}: {label}")
        else:
            row[6] = INFO
        table.append(row)
        chart.add((section, name, cname), section, short_label(label), c * 1e3,
                  None if ratio is None else peer, None if ratio is None else o * 1e3,
                  float(max_ms) if max_ms != "-" else None)
    title = f"[{section}] median wall-clock per invocation, process start included; memory = max RSS"
    print(title)
    print_table(header, table)
    for n in notes:
        print(f"  {n}")
    if noisy:
        print(f"noisy (is the machine busy? consider re-running): {'; '.join(noisy)}")
    print()
    report.append({"section": section, "title": title, "header": header, "rows": table, "notes": notes, "noisy": noisy})


def env_info(out_dir):
    """env.txt as {key: value}."""
    info = {}
    try:
        with open(os.path.join(out_dir, "env.txt")) as f:
            for line in f:
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except FileNotFoundError:
        pass
    return info


def fmt_bar(ms):
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms" if ms >= 0.1 else f"{ms:.4f} ms"


def draw_chart(out_dir):
    """chart.png from summary.json: one group of bars per operation, coffer first."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(os.path.join(out_dir, "summary.json")) as f:
        groups = json.load(f)["chart"]
    if not groups:
        print("chart: no operation with a peer; chart.png not written", file=sys.stderr)
        return
    env = env_info(out_dir)
    peers = []
    for g in groups:
        peers += [p.split(" (")[0] for p, _ in g["peers"] if p.split(" (")[0] not in peers]
    palette = plt.get_cmap("tab20").colors
    colors = {p: palette[(2 * i + 2) % 20 if i < 9 else (2 * (i - 9) + 3) % 20] for i, p in enumerate(peers)}
    coffer_color = palette[0]
    bar, gap = 1.0, 0.8
    y, ticks, ticklabels, bars, targets = 0.0, [], [], [], []
    section = None
    for g in groups:
        items = [("coffer", g["coffer"], coffer_color)] + [(p, ms, colors[p.split(" (")[0]]) for p, ms in g["peers"]]
        if g["section"] != section:
            section = g["section"]
            y += gap / 2
        start = y
        if g.get("target"):
            targets.append((y, g["target"]))
        for name, ms, color in items:
            # coffer's label goes right of its target tick too
            bars.append((y, name, ms, color, max(ms, g.get("target") or 0) if name == "coffer" else ms))
            y += bar
        ticks.append((start + y - bar) / 2)
        ticklabels.append(f"[{g['section']}] {g['label']}")
        y += gap
    fig, ax = plt.subplots(figsize=(12, 0.26 * len(bars) + 0.3 * len(groups) + 1.6))
    for pos, name, ms, color, text_at in bars:
        ax.barh(pos, ms, height=bar * 0.85, color=color)
        ax.text(text_at * 1.08, pos, f"{name}  {fmt_bar(ms)}", va="center", fontsize=7)
    for pos, ms in targets:
        ax.plot([ms, ms], [pos - bar * 0.5, pos + bar * 0.5], color="black", linewidth=2)
    if targets:
        ax.plot([], [], color="black", linewidth=2, label="coffer's target (ms)")
        ax.legend(loc="lower right", fontsize=8)
    values = [b[2] for b in bars] + [ms for _, ms in targets]
    ax.set_xscale("log")
    ax.set_xlim(min(values) / 2, max(values) * 12)
    ax.set_yticks(ticks)
    ax.set_yticklabels(ticklabels, fontsize=8)
    ax.set_ylim(y, -gap / 2)
    ax.set_xlabel("median wall-clock per invocation, ms (log scale; shorter is better)")
    ax.grid(axis="x", which="major", alpha=0.3)
    machine = env.get("cpu", "unknown machine")
    stamp = env.get("date", "?")
    if len(stamp) == 16 and stamp[8] == "T":  # 20261128T144412Z
        stamp = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]} UTC"
    ax.set_title(f"coffer beside its peers: scripts/bench, {stamp} ({env.get('mode', '?')} run)\n"
                 f"{machine}; coffer {env.get('coffer', '?').split(' (')[0]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "chart.png"), dpi=110)
    plt.close(fig)


def write_chart(out_dir):
    """chart.png with matplotlib, in this interpreter or another one that has it; never fails the summary."""
    try:
        import matplotlib  # noqa: F401
        pythons = [None]
    except ImportError:
        pythons = []
        for candidate in (os.environ.get("BENCH_CHART_PYTHON"), "/usr/bin/python3", shutil.which("python3")):
            if candidate and os.access(candidate, os.X_OK) and candidate not in pythons \
                    and os.path.realpath(candidate) != os.path.realpath(sys.executable) \
                    and subprocess.run([candidate, "-c", "import matplotlib"], capture_output=True).returncode == 0:
                pythons.append(candidate)
    if not pythons:
        print("chart: skipped: no python3 with matplotlib (apt-get install python3-matplotlib, "
              "or set BENCH_CHART_PYTHON to a python that has it)", file=sys.stderr)
        return
    try:
        if pythons[0] is None:
            draw_chart(out_dir)
        else:
            subprocess.run([pythons[0], os.path.abspath(__file__), "--chart", out_dir], check=True)
            return  # that run reports
    except Exception as e:  # the tables stand without the chart
        print(f"chart: failed: {e}", file=sys.stderr)
        return
    print(f"chart: {os.path.join(out_dir, 'chart.png')}", file=sys.stderr)


def main():
    if sys.argv[1:2] == ["--chart"]:
        draw_chart(sys.argv[2])
        print(f"chart: {os.path.join(sys.argv[2], 'chart.png')}", file=sys.stderr)
        return 0
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

    missed, report, chart = [], [], Chart()
    for section, all_rows in sections.items():
        if any(r[0] in ("target", "mem", "peer", "per", "delta", "note") for r in all_rows):
            absolute_section(section, all_rows, out_dir, missed, report, chart)
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
                row[8] = INFO
            chart.add((section, label), section, label, c * 1e3, other, o * 1e3)
            row[9] = "" if ok is None else ("ok" if ok else "MISSED")
            if ok is False:
                missed.append(f"{section}: {label}")
            table.append(row)

        widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
        def fmt(r):
            cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, len(r))]
            return "  ".join(cells).rstrip()
        title = (f"[{section}] coffer vs {other}: median wall-clock per invocation, process start included;"
                 f" MiB/s = payload size / median")
        print(title)
        print(fmt(header))
        print("  ".join("-" * w for w in widths))
        for r in table:
            print(fmt(r))
        if noisy:
            print(f"noisy (is the machine busy? consider re-running): {'; '.join(noisy)}")
        print()
        report.append({"section": section, "title": title, "header": header, "rows": table, "notes": [], "noisy": noisy})

    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump({"sections": report, "missed": missed, "chart": chart.data()}, f, indent=1)
    sys.stdout.flush()
    write_chart(out_dir)
    if missed:
        print("targets missed: " + "; ".join(missed))
        return 3
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
