#!/usr/bin/env python3
"""bench/asyncssh_floor.py -- the "hand-written client" floor of bench/fleet.

Connects to every host at once (asyncio + asyncssh), and on each host runs ONE
remote command with the wanted file content on its stdin:

    write it to a temp file in /etc, compare with /etc/crontab; if different,
    chmod 0644 and rename it over /etc/crontab (atomic), else delete it;
    then print /etc/crontab

and checks that what came back is exactly the wanted content.  That is the
same job as the playbooks do (compare-then-write atomically, read back), with
no engine around it: one connection and one exec channel per host.

Usage:
  asyncssh_floor.py --hosts HOSTS_TXT --key KEY --known-hosts KNOWN_HOSTS \
                    --content FILE [--user root] [--dest /etc/crontab] [--timeout 30]

Host keys are checked against KNOWN_HOSTS only (no ~/.ssh/config, no agent).
Prints one summary line `ok=N changed=N failed=N`; exits 0 only when every
host succeeded and read back the expected content, else 2.
"""
import argparse
import asyncio
import shlex
import sys

import asyncssh


def remote_command(dest):
    d = shlex.quote(dest)
    # Temp file next to dest so that mv is a rename on the same filesystem.
    return (
        f"set -e; t=$(mktemp {d}.bench.XXXXXX); cat > \"$t\"; "
        f"if cmp -s \"$t\" {d}; then rm -f \"$t\"; echo unchanged >&2; "
        f"else chmod 0644 \"$t\"; mv -f \"$t\" {d}; echo changed >&2; fi; "
        f"cat {d}"
    )


async def one_host(host, args, content, sem):
    async with sem:
        try:
            async with asyncssh.connect(
                host,
                username=args.user,
                client_keys=[args.key],
                known_hosts=args.known_hosts,
                agent_path=None,
                config=[],
                connect_timeout=args.timeout,
            ) as conn:
                r = await conn.run(remote_command(args.dest), input=content, check=False)
        except (OSError, asyncssh.Error) as e:
            return host, "failed", f"{type(e).__name__}: {e}"
    if r.exit_status != 0:
        return host, "failed", f"exit {r.exit_status}: {str(r.stderr).strip()}"
    if r.stdout != content:
        return host, "failed", "read-back differs from the wanted content"
    return host, str(r.stderr).strip(), ""


async def main_async(args):
    with open(args.hosts) as f:
        hosts = [h.strip() for h in f if h.strip()]
    with open(args.content) as f:
        content = f.read()
    sem = asyncio.Semaphore(args.parallel or len(hosts) or 1)
    results = await asyncio.gather(*(one_host(h, args, content, sem) for h in hosts))
    counts = {"unchanged": 0, "changed": 0, "failed": 0}
    for host, status, err in results:
        counts[status if status in counts else "failed"] += 1
        if status not in ("unchanged", "changed"):
            print(f"{host}: FAILED: {err or status}", file=sys.stderr)
    print(f"ok={counts['unchanged'] + counts['changed']} changed={counts['changed']} failed={counts['failed']}")
    return 0 if counts["failed"] == 0 else 2


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hosts", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--known-hosts", required=True)
    p.add_argument("--content", required=True)
    p.add_argument("--user", default="root")
    p.add_argument("--dest", default="/etc/crontab")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--parallel", type=int, default=0, help="max hosts at once (0: all)")
    args = p.parse_args()
    for h in open(args.hosts):
        h = h.strip()
        if h and not h.startswith("127."):
            print(f"refusing non-loopback host {h}", file=sys.stderr)
            return 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
