#!/usr/bin/env python3
"""bench/reap.py -- run one benchmarked command, then clean up what it left behind.

Usage: reap.py --leftovers FILE -- COMMAND [ARG...]

This process makes itself a "child subreaper" (prctl PR_SET_CHILD_SUBREAPER),
so any process the command daemonizes (e.g. the OpenSSH ControlPersist masters
that ansible starts, or that an ssh-based transport may start) is re-parented
to us instead of to init.  When COMMAND exits we

  * write one line per surviving descendant (pid and command line) to FILE
    (empty file: nothing was left behind);
  * send SIGTERM to each of them, by PID, wait up to 5 s, then SIGKILL the
    survivors (again by PID, after checking the PID still is our child);
  * exit with COMMAND's exit status.

The timing itself is done by /usr/bin/time inside COMMAND, so this wrapper's
own start-up and clean-up are not part of any measurement.  Standard library
only.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children_of(pid):
    """PIDs whose parent is `pid` (from /proc/*/stat), excluding zombies."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        state, ppid = rest[0], int(rest[1])
        if ppid == pid and state not in ("Z", "X"):
            out.append(int(name))
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "?"


def reap_zombies():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main():
    args = sys.argv[1:]
    if len(args) < 4 or args[0] != "--leftovers" or args[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    leftovers_file, cmd = args[1], args[3:]

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("reap.py: prctl(PR_SET_CHILD_SUBREAPER) failed", file=sys.stderr)
        return 2

    # Let the command get SIGINT/SIGTERM itself; we only forward nothing.
    proc = subprocess.Popen(cmd)
    rc = proc.wait()

    me = os.getpid()
    reap_zombies()
    left = children_of(me)
    with open(leftovers_file, "w") as f:
        for pid in left:
            f.write(f"{pid}\t{cmdline(pid)}\n")
    if left:
        for pid in left:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            reap_zombies()
            if not children_of(me):
                break
            time.sleep(0.05)
        for pid in children_of(me):  # still our children: same processes
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
        reap_zombies()
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main())
