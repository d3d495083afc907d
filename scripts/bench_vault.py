#!/usr/bin/env python3
"""Helpers for the "vault" section of scripts/bench (not meant to be run by hand).

  bench_vault.py values OUT SCOPES PER_SCOPE
      Writes OUT: one "id<TAB>value" line per secret, ids sNN/secret-KKK,
      values 24-40 random printable characters.
  bench_vault.py coffer-bulk COFFER VAULT VALUES CHUNKS
      Seals every secret in VALUES with CHUNKS `coffer set ID=VALUE...`
      invocations (one commit each); prints the elapsed seconds.
  bench_vault.py pass-bulk STORE RECIPIENT VALUES
      Writes STORE/ID.gpg for every secret with one `gpg --encrypt-files`
      run (the plaintext files are written beside them and removed by name).
  bench_vault.py passage-bulk STORE RECIPIENTS_FILE VALUES
      Writes STORE/ID.age for every secret (the value and a newline, as
      `passage insert -m` stores what it reads) with one `age -R
      RECIPIENTS_FILE` run per file, as many at a time as there are CPUs;
      copies RECIPIENTS_FILE to STORE/.age-recipients, where passage looks
      for the readers of every id below it.
  bench_vault.py maxrss RUNS PREPARE -- CMD...
      Runs CMD RUNS times (after the shell command PREPARE each time, unless
      it is empty), output to /dev/null; prints the largest max RSS in KiB of
      any of its processes (via /usr/bin/time -f %M, else getrusage
      RUSAGE_CHILDREN, an upper bound) and how it was measured.
"""
import os
import resource
import shutil
import secrets
import string
import subprocess
import sys
import time

ALPHABET = string.ascii_letters + string.digits + "+/_-.,:%@"


def read_values(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t", 1) for line in f if line.strip()]


def cmd_values(out, scopes, per_scope):
    with open(out, "w") as f:
        for s in range(int(scopes)):
            for k in range(int(per_scope)):
                n = 24 + secrets.randbelow(17)
                f.write(f"s{s:02d}/secret-{k:03d}\t{''.join(secrets.choice(ALPHABET) for _ in range(n))}\n")


def cmd_coffer_bulk(coffer, vault, values, chunks):
    pairs = read_values(values)
    chunks = int(chunks)
    size = -(-len(pairs) // chunks)
    start = time.monotonic()
    for i in range(0, len(pairs), size):
        args = [f"{k}={v}" for k, v in pairs[i:i + size]]
        subprocess.run([coffer, "set", "--vault", vault, *args], check=True, stderr=subprocess.DEVNULL)
    print(f"{time.monotonic() - start:.2f}")


def cmd_pass_bulk(store, recipient, values):
    store = os.path.abspath(store)
    plain = []
    for k, v in read_values(values):
        path = os.path.join(store, k)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(v + "\n")
        plain.append(path)
    try:
        for i in range(0, len(plain), 2500):
            subprocess.run(["gpg", "--batch", "--quiet", "--yes", "--trust-model", "always", "--compress-algo", "none",
                            "-r", recipient, "--encrypt-files", *plain[i:i + 2500]], check=True)
    finally:
        for path in plain:  # only the files written above, by name
            if os.path.exists(path):
                os.unlink(path)
    missing = [p for p in plain if not os.path.exists(p + ".gpg")]
    if missing:
        raise SystemExit(f"gpg did not write {len(missing)} files, e.g. {missing[0]}.gpg")


def cmd_passage_bulk(store, recipients, values):
    store = os.path.abspath(store)
    os.makedirs(store, exist_ok=True)
    shutil.copyfile(recipients, os.path.join(store, ".age-recipients"))
    jobs = max(1, os.cpu_count() or 1)
    running = []

    def reap(limit):
        while len(running) > limit:
            proc, path = running.pop(0)
            if proc.wait() != 0:
                raise SystemExit(f"age -R {recipients} failed for {path}")
    for k, v in read_values(values):
        path = os.path.join(store, k + ".age")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        proc = subprocess.Popen(["age", "-R", recipients, "-o", path], stdin=subprocess.PIPE)
        proc.stdin.write((v + "\n").encode())
        proc.stdin.close()
        running.append((proc, path))
        reap(jobs)
    reap(0)


def cmd_maxrss(runs, prepare, cmd):
    # /usr/bin/time is a small process, so its child's max RSS is the
    # command's own. Python's children start as forks of this interpreter
    # (~18 MiB), which Linux counts in their max RSS even after exec, so
    # the fallback is only an upper bound.
    time_bin = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    best = 0
    for _ in range(int(runs)):
        if prepare:
            subprocess.run(prepare, shell=True, check=True)
        if time_bin:
            r = subprocess.run([time_bin, "-f", "%M", *cmd], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            best = max(best, int(r.stderr.strip().splitlines()[-1]))
        else:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best = max(best, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(best, "time" if time_bin else "getrusage-upper-bound")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    name, args = argv[1], argv[2:]
    if name == "values":
        cmd_values(*args)
    elif name == "coffer-bulk":
        cmd_coffer_bulk(*args)
    elif name == "pass-bulk":
        cmd_pass_bulk(*args)
    elif name == "passage-bulk":
        cmd_passage_bulk(*args)
    elif name == "maxrss":
        sep = args.index("--")
        cmd_maxrss(args[0], args[1], args[sep + 1:])
    else:
        raise SystemExit(f"unknown helper: {name}")


if __name__ == "__main__":
    main(sys.argv)
