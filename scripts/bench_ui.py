#!/usr/bin/env python3
"""Times `coffer ui` on a pseudo-terminal, as a user sees it (for scripts/bench).

  bench_ui.py COFFER VAULT RUNS QUERY OUT_DIR

First screen: from starting `coffer ui --vault VAULT` on a 100x40 pty to
the frame's last row (the keys line) having arrived, RUNS times (q quits each).
Search: in each run, after the first screen, `/` then QUERY one character at
a time; each keystroke is timed from its write to the frame showing the
search text so far. Writes hyperfine-shaped JSON (results[].command,
times in seconds) to OUT_DIR/ui-first-screen.json and ui-search-key.json;
prints the number of ids the full QUERY matched.
"""
import fcntl
import json
import os
import pty
import re
import select
import struct
import sys
import termios
import time

LAST_ROW = b"q quit"


ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def read_until(fd, marker, deadline, seen):
    """Reads the pty until `marker` is in the text (escape sequences left
    out) that arrived since `seen` was reset."""
    while marker not in ESCAPES.sub(b"", seen):
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemExit(f"bench_ui: timed out waiting for {marker!r}; last output: {seen[-400:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                raise SystemExit(f"bench_ui: coffer ui ended early; output: {seen[-400:]!r}")
            seen += chunk
    return seen


def one_run(coffer, vault, query):
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(coffer, [coffer, "ui", "--vault", vault])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    seen = read_until(fd, LAST_ROW, start + 30, bytearray())
    first = time.monotonic() - start
    keys = []
    matches = None
    for i, ch in enumerate("/" + query):
        # The first `/` starts the search; the rest is the query, typed.
        typed = query[:i]
        seen = bytearray()
        sent = time.monotonic()
        os.write(fd, ch.encode())
        seen = read_until(fd, ("/" + typed + "▏").encode(), sent + 10, seen)
        if i > 0:
            keys.append(time.monotonic() - sent)
        found = re.search(rb"(\d+) found", ESCAPES.sub(b"", seen))
        if found:
            matches = int(found.group(1))
    # Esc (leave the search), then q apart: ESC and a letter together are Alt-letter.
    os.write(fd, b"\x1b")
    time.sleep(0.1)
    os.write(fd, b"q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        try:
            select.select([fd], [], [], 0.05) and os.read(fd, 65536)
        except OSError:
            pass
    else:
        os.kill(pid, 9)
        raise SystemExit("bench_ui: coffer ui did not quit on q")
    os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench_ui: coffer ui exited with {status}")
    return first, keys, matches


def main():
    coffer, vault, runs, query, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    firsts, keys, matches = [], [], None
    one_run(coffer, vault, query)  # warm-up: the page cache, as hyperfine's --warmup
    for _ in range(runs):
        first, per_key, matches = one_run(coffer, vault, query)
        firsts.append(first)
        keys += per_key
    for name, times in (("ui-first-screen", firsts), ("ui-search-key", keys)):
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"results": [{"command": "coffer", "times": times}]}, f)
    print(matches)


if __name__ == "__main__":
    main()
