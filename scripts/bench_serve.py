#!/usr/bin/env python3
"""Loads `coffer serve` with wrk on loopback (for scripts/bench).

  bench_serve.py COFFER VAULT SECONDS OUT_DIR

Makes a token (scope /, write), starts `coffer serve --vault VAULT` on a
free port (log level warning, write rate 20/s), and runs wrk twice, each
SECONDS long with 2 threads and 50 connections: masked gets of one id; then
the same with one request in twenty a PUT of a fresh id with its own
Idempotency-Key (scripts/serve-load.lua). Checks every answer was 200 (or 429 for writes over the
limit), that each acknowledged write is the one commit its answer named, and
that no id was committed twice. Writes
OUT_DIR/serve.json ({"gets": {...}, "mixed": {...}}: requests per second,
p50 and p99 in ms, statuses, acknowledged writes, peak resident KiB) and
prints one summary line per run.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve-load.lua")


def git(vault, *args):
    return subprocess.run(["git", "-C", vault, *args], check=True, capture_output=True, text=True).stdout


def main():
    coffer, vault, seconds, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    work = tempfile.mkdtemp(prefix="bench-serve-")
    token = subprocess.run([coffer, "token", "create", "--vault", vault, "--scope", "/", "--write", "--name",
                            f"bench-{os.getpid()}"], check=True, capture_output=True, text=True).stdout.strip()
    listed = subprocess.run([coffer, "list", "--vault", vault, "-o", "json"], check=True, capture_output=True, text=True).stdout
    some_id = json.loads(listed)["secrets"][0]["id"]
    server = subprocess.Popen([coffer, "serve", "--vault", vault, "--listen", "127.0.0.1:0", "--log-level", "warning",
                               "--write-rate", "20", "--rate", "1000000"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    line = server.stdout.readline().decode()
    match = re.search(r"http://(\S+)", line)
    if not match:
        raise SystemExit(f"bench_serve: coffer serve did not start: {line}")
    address = match.group(1)
    script = LUA
    results = {}
    try:
        for name, writes in (("gets", "0"), ("mixed", "1")):
            acked = os.path.join(work, f"acked-{name}")
            open(acked, "w").close()
            before = int(git(vault, "rev-list", "--count", "HEAD"))
            peak = [0]
            stop = threading.Event()

            def sample():
                while not stop.wait(0.5):
                    with open(f"/proc/{server.pid}/status") as status:
                        for row in status:
                            if row.startswith("VmRSS:"):
                                peak[0] = max(peak[0], int(row.split()[1]))
            sampler = threading.Thread(target=sample)
            sampler.start()
            env = dict(os.environ, LOAD_TOKEN=token, LOAD_ID=some_id, LOAD_WRITES=writes, LOAD_ACKED=acked)
            run = subprocess.run(["wrk", "-t", "2", "-c", "50", "-d", f"{seconds}s", "--timeout", "10s", "-s", script,
                                  f"http://{address}"], env=env, capture_output=True, text=True)
            stop.set()
            sampler.join()
            if run.returncode != 0:
                raise SystemExit(f"bench_serve: wrk failed: {run.stderr}")
            statuses = dict(pair.split("=") for pair in
                            next(l for l in run.stdout.splitlines() if l.startswith("statuses")).split()[1:])
            rate, p50, p99, errors = next(l for l in run.stdout.splitlines() if l.startswith("result")).split()[1:]
            bad = {s: n for s, n in statuses.items() if s != "200" and not (s == "429" and writes == "1")}
            if bad or int(errors):
                raise SystemExit(f"bench_serve: {name}: statuses {statuses}, {errors} socket errors")
            writes_done = [l.split() for l in open(acked).read().splitlines()]
            after = int(git(vault, "rev-list", "--count", "HEAD"))
            # Each new commit writes one load/ id, none twice; each acknowledged write is
            # the commit its answer named. wrk stops without reading the answers still on
            # their way, so a few commits (one per connection at most) are unacknowledged.
            committed = {}
            if after > before:
                for block in git(vault, "log", "--format=%x00%H", "--name-only", f"-{after - before}").split("\0")[1:]:
                    lines = block.split()
                    committed.setdefault(lines[1] if len(lines) == 2 else "?", []).append(lines[0])
            problems = [f"{i}: {c}" for i, c in committed.items() if len(c) != 1 or not i.startswith("load/")]
            problems += [f"{w[0]} acknowledged as {w[1]}" for w in writes_done if committed.get(w[0] + ".age") != [w[1]]]
            if problems or not 0 <= (after - before) - len(writes_done) <= 50:
                raise SystemExit(f"bench_serve: {name}: {len(writes_done)} writes acknowledged, {after - before} commits: {problems[:5]}")
            results[name] = {"requests_per_second": float(rate), "p50_ms": float(p50), "p99_ms": float(p99),
                             "statuses": statuses, "acknowledged_writes": len(writes_done), "peak_rss_kib": peak[0]}
            shown = ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
            writes_done_text = f", {len(writes_done)} writes acknowledged of {after - before} commits (each once)" if writes == "1" else ""
            print(f"{name}: {float(rate):.0f} requests/s, p50 {float(p50):.2f} ms, p99 {float(p99):.2f} ms, "
                  f"answers {shown}{writes_done_text}, peak RSS {peak[0] // 1024} MiB")
    finally:
        server.terminate()
        server.wait()
        subprocess.run([coffer, "token", "revoke", "--vault", vault, f"bench-{os.getpid()}"], capture_output=True)
    with open(os.path.join(out, "serve.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
