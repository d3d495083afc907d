#!/usr/bin/env python3
"""Write docs/PERFORMANCE.md from one scripts/bench run.

Usage: scripts/bench_docs.py [RESULTS_DIR]   (default: bench-results/latest)

Reads RESULTS_DIR/summary.json (the tables scripts/bench_summary.py printed),
env.txt (the machine) and chart.png, copies the chart to
docs/performance.png and writes docs/PERFORMANCE.md: the machine, the chart,
every section's table with its notes, the missed targets, and how to
reproduce the run. Commit both files; bench-results/ stays out of git.
"""
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

REPRODUCE = """\
On Debian or Ubuntu (the bench installs nothing itself):

```sh
apt-get install age hyperfine pass gnupg tree time python3-matplotlib
# passage, the age-based pass, is one bash script (Debian's `passage` package is an unrelated game):
git clone https://github.com/FiloSottile/passage /tmp/passage
install -m 755 /tmp/passage/src/password-store.sh /usr/local/bin/passage   # 1.7.4 or later, for `passage reencrypt`
scripts/bench                   # release build (static), every section; ~10 minutes on 2 cores
scripts/bench --only vault      # one section (repeatable); --quick for fewer runs
scripts/bench_docs.py           # this page, from bench-results/latest
```

- coffer runs as a user runs it: the release build (`swift build -c release
  --static-swift-stdlib`), commit signing on, the audit log on, identity A
  unprotected (section `agent` times a protected one).
- The reference vault (SPEC §5): 10,000 secrets in 20 scopes, each scope's
  `.recipients` naming 2 readers; the pass and passage stores hold the same
  10,000 ids (passage's files sealed for 2 readers too). They are built once
  and cached under `bench-results/.cache/`.
- Without pass, passage or matplotlib the bench skips those rows (or the
  chart) and says so; `BENCH_NO_PASS=1` and `BENCH_NO_PASSAGE=1` skip them
  on purpose.
- Figures are medians of hyperfine runs (process start included) and max
  RSS from `/usr/bin/time`. Run on a quiet machine: the bench warns when the
  load average is high and flags wide spreads under a table.
- What each section measures, and every target: the header of
  [`scripts/bench`](../scripts/bench).
"""


def md_escape(cell):
    return cell.replace("|", "\\|")


def md_table(header, rows):
    # The summary's "runs" column and empty cells carry little on the page; keep them, as printed.
    right = [i > 0 for i in range(len(header))]
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |",
             "|" + "|".join("---:" if r else ":---" for r in right) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(md_escape(c) if c else " " for c in row) + " |")
    return "\n".join(lines)


def env_lines(out_dir):
    with open(os.path.join(out_dir, "env.txt")) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.join(ROOT, "bench-results", "latest")
    out_dir = os.path.realpath(out_dir)
    summary_path = os.path.join(out_dir, "summary.json")
    if not os.path.exists(summary_path):
        raise SystemExit(f"bench_docs: no {summary_path} (run scripts/bench first; "
                         "runs before summary.json existed cannot be turned into the page)")
    with open(summary_path) as f:
        summary = json.load(f)
    env = env_lines(out_dir)
    info = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in env)}
    docs = os.path.join(ROOT, "docs")
    chart = os.path.join(out_dir, "chart.png")
    have_chart = os.path.exists(chart)
    if have_chart:
        shutil.copyfile(chart, os.path.join(docs, "performance.png"))

    sections = [s["section"] for s in summary["sections"]]
    out = ["# Performance", "",
           "coffer beside the tools it replaces (age, pass, passage, git), as `scripts/bench` measures it. "
           "This page is written by `scripts/bench_docs.py` from one run; the numbers below are that run's.", ""]
    mode = info.get("mode", "?")
    stamp = info.get("date", "?")
    if len(stamp) == 16 and stamp[8] == "T":  # 20261128T144412Z
        stamp = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]} UTC"
    out += [f"Run: {stamp}, {mode} mode"
            + (" (`--quick`: fewer runs, noisier figures)" if mode == "quick" else "")
            + f"; sections: {', '.join(sections)}.", ""]
    load = info.get("load", "").split()
    cpus = info.get("cpu", "").rsplit(" x ", 1)
    try:
        busy = float(load[0]) > 0.5 * int(cpus[1])
    except (IndexError, ValueError):
        busy = False
    if busy:
        out += [f"**The machine was busy during this run** (load average {load[0]} on {cpus[1]} CPUs at the start): "
                "the figures are noisy and the ratios skewed (hyperfine runs each command's runs in a block). "
                "Re-run on a quiet machine before reading much into them.", ""]
    if summary["missed"]:
        out += ["Targets missed in this run:", ""] + [f"- {m}" for m in summary["missed"]] + [""]
    else:
        out += ["Every target was met in this run.", ""]
    out += ["## Machine", "", "```"] + env + ["```", ""]
    out += ["## Chart", ""]
    if have_chart:
        out += ["Per operation, coffer's median beside each peer's (log scale; shorter is better). "
                "Operations without a peer (bundles, signing, exec overhead) are in the tables only.", "",
                "![coffer beside its peers](performance.png)", ""]
    else:
        out += ["(no chart in this run: matplotlib was missing)", ""]
    out += ["## Results", "",
            "Medians of wall-clock time per invocation, process start included; memory is max RSS. "
            "\"coffer/peer\" is the ratio of the medians; rows without a target are marked (info).", ""]
    for s in summary["sections"]:
        title = s["title"]
        name, _, rest = title.partition("] ")
        out += [f"### {name.lstrip('[')}", ""]
        # A section of notes only (serve: wrk's figures) has no table.
        if s["rows"]:
            out += [rest[:1].upper() + rest[1:] + ".", "", md_table(s["header"], s["rows"]), ""]
        if s["notes"]:
            out += [f"- {md_escape(n)}" for n in s["notes"]] + [""]
        if s["noisy"]:
            out += [f"Noisy (wide spread; re-run on a quieter machine): {'; '.join(s['noisy'])}", ""]
    out += ["## How to reproduce", "", REPRODUCE]
    with open(os.path.join(docs, "PERFORMANCE.md"), "w") as f:
        f.write("\n".join(out))
    print(f"wrote docs/PERFORMANCE.md{' and docs/performance.png' if have_chart else ''} from {out_dir}")


if __name__ == "__main__":
    main(sys.argv)
