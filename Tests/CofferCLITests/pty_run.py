#!/usr/bin/env python3
"""Run a command on a pseudo-terminal and answer its passphrase prompts.

    pty_run.py [--timeout SECONDS] [--passphrase-file FILE] [--max-answers N]
               -- COMMAND [ARG...]

The command gets a new session whose controlling terminal is the pty, so it
can open /dev/tty as the age CLI and coffer do. Each time its terminal output
shows a new prompt that mentions "passphrase" (case-insensitive) and ends in
":", the first line of --passphrase-file is typed, followed by Enter.

Everything the terminal showed is copied to standard output. The exit status
is the command's (128 + N if signal N killed it), 124 on timeout, 125 if the
helper itself failed or the command asked more than --max-answers times.
Standard library only.
"""
import argparse
import os
import pty
import re
import select
import signal
import sys
import time

PROMPT = re.compile(rb"passphrase[^\r\n]*:", re.IGNORECASE)


def fail(message, code=125):
    sys.stderr.write("pty_run: %s\n" % message)
    sys.stderr.flush()
    return code


def kill(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass


def exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 125


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--passphrase-file")
    parser.add_argument("--max-answers", type=int, default=4)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        return fail("no command given")

    passphrase = b""
    if args.passphrase_file is not None:
        with open(args.passphrase_file, "rb") as f:
            lines = f.read().splitlines()
        passphrase = lines[0] if lines else b""

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        except OSError as error:
            os.write(2, ("pty_run: cannot run %s: %s\r\n" % (command[0], error)).encode())
        os._exit(127)

    deadline = time.monotonic() + args.timeout
    transcript = bytearray()
    scanned = 0
    answers = 0
    status = None
    out = sys.stdout.buffer

    def drain_once(wait):
        """Reads what the terminal has; False once the slave side is closed."""
        nonlocal scanned, answers
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every slave descriptor is closed
            return False
        if not chunk:
            return False
        transcript.extend(chunk)
        out.write(chunk)
        out.flush()
        while True:
            match = PROMPT.search(transcript, scanned)
            if match is None:
                break
            scanned = match.end()
            answers += 1
            if answers > args.max_answers:
                raise RuntimeError("more than %d passphrase prompts" % args.max_answers)
            os.write(fd, passphrase + b"\r")
        return True

    try:
        open_ = True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kill(pid)
                return fail("timed out after %.0f s; terminal so far:\n%r" % (args.timeout, bytes(transcript)), 124)
            if open_:
                open_ = drain_once(min(remaining, 0.05))
            else:
                time.sleep(min(remaining, 0.01))
            if status is None:
                done, raw = os.waitpid(pid, os.WNOHANG)
                if done == pid:
                    status = raw
            if status is not None:
                # The command is gone: take what is left on the terminal.
                while open_ and drain_once(0):
                    if not select.select([fd], [], [], 0)[0]:
                        break
                return exit_code(status)
    except RuntimeError as error:
        kill(pid)
        return fail(str(error))
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
