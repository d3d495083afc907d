#!/usr/bin/env python3
"""Helpers for the "rewrap" section of scripts/bench (not meant to be run by hand).

  bench_rewrap.py check BEFORE AFTER READERS
      Compares the sealed files of the vault BEFORE with the same vault
      AFTER `coffer recipients add`: the same ids; in AFTER each file has
      READERS X25519 stanzas and a binding stanza naming READERS
      fingerprints; the payload (everything after the header MAC line) is
      byte for byte the one in BEFORE, i.e. only the headers were re-wrapped.
      Prints "FILES PAYLOADS_UNCHANGED"; exits 1 with a message if a file
      has the wrong readers or is missing.
"""
import os
import sys


def sealed(root):
    """{relative path: bytes} of every *.age file under root, .git excluded."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [n for n in dirnames if n != ".git"]
        for name in filenames:
            if name.endswith(".age"):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, root)] = f.read()
    return out


def split(data, where):
    """(header lines, payload) of a binary age file."""
    mac = data.find(b"\n--- ")
    end = data.find(b"\n", mac + 1) if mac >= 0 else -1
    if not data.startswith(b"age-encryption.org/v1\n") or end < 0:
        raise SystemExit(f"rewrap check: {where} is not a binary age file")
    return data[:mac].split(b"\n"), data[end + 1:]


def cmd_check(before, after, readers):
    readers = int(readers)
    old, new = sealed(before), sealed(after)
    if set(old) != set(new):
        gone, extra = sorted(set(old) - set(new)), sorted(set(new) - set(old))
        raise SystemExit(f"rewrap check: sealed files differ: {len(gone)} gone (e.g. {gone[:1]}), "
                         f"{len(extra)} new (e.g. {extra[:1]})")
    unchanged = 0
    for rel in sorted(new):
        lines, payload = split(new[rel], f"{after}/{rel}")
        x25519 = sum(1 for l in lines if l.startswith(b"-> X25519 "))
        binding = [l.split(b" ") for l in lines if l.startswith(b"-> coffer/binding ")]
        if x25519 != readers:
            raise SystemExit(f"rewrap check: {rel} has {x25519} X25519 stanzas, expected {readers}")
        if len(binding) != 1 or len(binding[0]) != 3 + readers:
            raise SystemExit(f"rewrap check: {rel}: the binding stanza does not name {readers} readers")
        if split(old[rel], f"{before}/{rel}")[1] == payload:
            unchanged += 1
    print(len(new), unchanged)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    name, args = argv[1], argv[2:]
    if name == "check":
        cmd_check(*args)
    else:
        raise SystemExit(f"unknown helper: {name}")


if __name__ == "__main__":
    main(sys.argv)
