#!/usr/bin/env python3
"""Helper for the "history" section of scripts/bench (not meant to be run by hand).

  bench_history.py build COFFER VAULT TOTAL IDS SEALS
      VAULT is a fresh `coffer init` vault. Seals IDS secrets SEALS times
      each with SEALS bulk `coffer set` runs (one commit each, real sealed
      files), then appends commits with `git fast-import` until HEAD has
      TOTAL commits: each changes one secret to another of its real sealed
      files (the ids in a new shuffled order every round of IDS commits, so
      each id changes once a round, ~TOTAL/IDS times in all), with the
      message coffer writes for a one-id set. Finally `git reset --hard`
      so the index and work tree match HEAD. Prints the elapsed seconds.
The ids are appNN/key-KK, 20 per directory.
"""
import random
import secrets
import subprocess
import sys
import time

PER_DIR = 20


def ids(n):
    return [f"app{k // PER_DIR:02d}/key-{k % PER_DIR:02d}" for k in range(n)]


def git(vault, *args, **kw):
    return subprocess.run(["git", "-C", vault, *args], check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


def blobs_at_head(vault):
    """{id: blob sha} for every sealed file at HEAD."""
    out = {}
    for line in git(vault, "ls-tree", "-r", "HEAD").splitlines():
        meta, path = line.split("\t", 1)
        if path.endswith(".age"):
            out[path[:-4]] = meta.split()[2]
    return out


def cmd_build(coffer, vault, total, n_ids, seals):
    total, n_ids, seals = int(total), int(n_ids), int(seals)
    names = ids(n_ids)
    start = time.monotonic()
    versions = []  # versions[s][id] = blob sha of the s-th sealing
    for _ in range(seals):
        args = [f"{k}={secrets.token_urlsafe(24)}" for k in names]
        subprocess.run([coffer, "set", "--vault", vault, *args], check=True, stderr=subprocess.DEVNULL)
        heads = blobs_at_head(vault)
        versions.append({k: heads[k] for k in names})
    head = git(vault, "rev-parse", "HEAD").strip()
    branch = git(vault, "symbolic-ref", "HEAD").strip()
    have = int(git(vault, "rev-list", "--count", "HEAD").strip())
    # The author coffer wrote on its own set commits, and the time to go on from.
    name, email, when = git(vault, "log", "-1", "--format=%an%x00%ae%x00%at", "HEAD").strip().split("\0")
    when = int(when)
    todo = total - have
    if todo < 1:
        raise SystemExit(f"the vault already has {have} commits, asked for {total}")
    # After the bulk sets every id holds versions[-1]; round r (0, 1, ...)
    # sets versions[r % seals], which always differs from round r-1's.
    lines = []
    mark = 0
    rng = random.Random(4)
    order = []
    rnd = -1
    for i in range(todo):
        if not order:
            rnd += 1
            order = names[:]
            rng.shuffle(order)
        k = order.pop()
        blob = versions[rnd % seals][k]
        msg = f"coffer: set {k}\n\nCoffer-Action: set\nCoffer-Id: {k}\n".encode()
        t = when + 60 * (i + 1)
        lines.append(f"commit {branch}\n".encode())
        mark += 1
        lines.append(f"mark :{mark}\n".encode())
        lines.append(f"author {name} <{email}> {t} +0000\n".encode())
        lines.append(f"committer {name} <{email}> {t} +0000\n".encode())
        lines.append(f"data {len(msg)}\n".encode() + msg)
        if i == 0:
            lines.append(f"from {head}\n".encode())
        lines.append(f"M 100644 {blob} {k}.age\n\n".encode())
    subprocess.run(["git", "-C", vault, "fast-import", "--quiet"], input=b"".join(lines), check=True)
    git(vault, "reset", "--hard", "-q", "HEAD")
    print(f"{time.monotonic() - start:.1f}")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    name, args = argv[1], argv[2:]
    if name == "build":
        cmd_build(*args)
    else:
        raise SystemExit(f"unknown helper: {name}")


if __name__ == "__main__":
    main(sys.argv)
