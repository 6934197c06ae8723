#!/usr/bin/env python3
"""bench/report.py -- turn bench/fleet's raw results into a markdown report.

Usage: report.py RAW_TSV MACHINE_INFO N RUNS > report.md

RAW_TSV columns (tab separated, one line per timed phase):
  run tool phase status seconds maxrss_kb changed note
status is `ok` or `FAILED`; FAILED rows are never used for medians.
MACHINE_INFO: `key<TAB>value` lines.
Standard library only.
"""
import statistics
import sys

TOOL_ORDER = [
    "pgplay-russh", "pgplay-openssh", "base-russh", "base-openssh", "ansible-default", "ansible-tuned",
    "pyinfra", "floor-ssh", "floor-asyncssh",
]
PHASE_ORDER = ["first-apply", "re-apply", "connect"]
BASELINE = "pgplay-russh"

DESCR = {
    "pgplay-russh": "pgplay node -t node_crontab -c russh -f N",
    "pgplay-openssh": "pgplay node -t node_crontab -c openssh -f N",
    "base-russh": "the same with BENCH_PGPLAY_BASE (another pgplay build, e.g. before a change), -c russh",
    "base-openssh": "the same with BENCH_PGPLAY_BASE, -c openssh",
    "ansible-default": "ansible-playbook, stock settings (forks 5, ssh, no pipelining), copy + command cat",
    "ansible-tuned": "ansible-playbook, forks N, pipelining, ControlPersist 60s, copy + command cat",
    "pyinfra": "pyinfra --parallel N, files.put + server.shell cat",
    "floor-ssh": "floor: parallel OpenSSH `ssh host true` (xargs -P N, no mux)",
    "floor-asyncssh": "floor: asyncssh client, 1 exec per host (compare, write tmp+mv, cat)",
}


def fmt_ratio(r):
    if r is None:
        return "n/a"
    x = r if r >= 1 else 1 / r
    word = "slower" if r >= 1 else "faster"
    return f"{x:.2f}× {word}" if x < 2 else f"{x:.1f}× {word}"


def main():
    raw, info_path, n, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rows = []
    with open(raw) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            p = line.rstrip("\n").split("\t")
            p += [""] * (8 - len(p))
            rows.append(dict(run=int(p[0]), tool=p[1], phase=p[2], status=p[3],
                             sec=p[4], rss=p[5], changed=p[6], note=p[7]))
    info = []
    with open(info_path) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                info.append((k, v))

    groups = {}
    for r in rows:
        groups.setdefault((r["tool"], r["phase"]), []).append(r)

    def key(k):
        t, ph = k
        return (TOOL_ORDER.index(t) if t in TOOL_ORDER else 99,
                PHASE_ORDER.index(ph) if ph in PHASE_ORDER else 99)

    med = {}
    for k, rs in groups.items():
        ok = [float(r["sec"]) for r in rs if r["status"] == "ok"]
        med[k] = statistics.median(ok) if ok else None

    out = []
    w = out.append
    w(f"# Fleet benchmark: N={n} hosts, {runs} run(s)")
    w("")
    w("Job: write `/etc/crontab` (Debian default head + `node_crontab` lines, "
      "same bytes for every tool) on every host, compare-then-write, and read it back. "
      "`first-apply` runs after every host's file was reset to other content (reset not timed); "
      "`re-apply` is the no-change run right after it. Runs are interleaved "
      "(run 1: every tool, run 2: every tool, ...). Every phase is a cold start "
      "(SSH masters a tool left behind are closed between phases).")
    w("")
    w("| tool | phase | median s | vs pgplay russh | peak RSS MB | runs ok |")
    w("|---|---|---:|---|---:|---:|")
    for k in sorted(groups, key=key):
        tool, phase = k
        rs = groups[k]
        ok = [r for r in rs if r["status"] == "ok"]
        if tool == "pgplay-openssh" and all(r["status"] == "n/a" for r in rs):
            w(f"| {tool} | {phase} | n/a | n/a | n/a | n/a |")
            continue
        m = med[k]
        base_phase = "re-apply" if phase == "connect" else phase
        base = med.get((BASELINE, base_phase))
        if m is None:
            ms, ratio = "FAILED", "n/a"
        else:
            ms = f"{m:.2f}"
            if tool == BASELINE:
                ratio = "1.0× (baseline)"
            elif base:
                ratio = fmt_ratio(m / base) + (" (vs re-apply)" if phase == "connect" else "")
            else:
                ratio = "n/a"
        rss = [int(r["rss"]) for r in ok if r["rss"].isdigit()]
        rs_mb = f"{max(rss) / 1024:.0f}" if rss else "n/a"
        nfail = sum(1 for r in rs if r["status"] == "FAILED")
        runs_ok = f"{len(ok)}/{len(rs)}" + (f" ({nfail} FAILED)" if nfail else "")
        w(f"| {tool} | {phase} | {ms} | {ratio} | {rs_mb} | {runs_ok} |")
    w("")
    w("median s: median wall time of the successful runs (`/usr/bin/time` %e). "
      "peak RSS MB: the largest `/usr/bin/time` %M over the successful runs, i.e. the peak RSS "
      "of the single largest process of the controller's tree that `time` waited for "
      "(ansible and pyinfra fork workers / ssh clients: their memory is not summed, see bench/README.md).")
    w("")
    w("## Tools")
    w("")
    for t in TOOL_ORDER:
        if any(k[0] == t for k in groups):
            w(f"- **{t}**: {DESCR[t]}")
    w("")
    w("## Machine")
    w("")
    for k, v in info:
        w(f"- {k}: {v}")
    w("")
    w("## Every run")
    w("")
    w("| run | tool | phase | status | s | peak RSS MB | changed | note |")
    w("|---:|---|---|---|---:|---:|---|---|")
    for r in rows:
        rss = f"{int(r['rss']) / 1024:.0f}" if r["rss"].isdigit() else ""
        w(f"| {r['run']} | {r['tool']} | {r['phase']} | {r['status']} | {r['sec']} | {rss} | "
          f"{r['changed']} | {r['note'].replace('|', '/')} |")
    w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
