#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Pid-churn stress: thousands of short-lived processes with fast pid reuse
(tests/mount/pid-churn.c, as root and as nobody) while readers of two users
(root and nobody, several processes each) read */pss, */summary, processes
and metrics. Asserts: the daemon never dies; every failure is ENOENT, ESRCH
or (nobody reading root's processes) EACCES; no row or table mixes two
processes' values under one pid (a "churn-K" process shows a pss of K MiB,
give or take its share of libc); the daemon's fds and RSS are bounded
(measured before and after, printed).

Run by meson (suite 'stress'):
  stress_pid_churn.py MEMVIEWFS PID_CHURN [SECONDS [RSS_BOUND_MIB|none]]
"""
import json
import os
import subprocess
import sys
import tempfile

from mvharness import NOBODY, MiB, start_daemon, status_bytes, stop_daemon

# A churn-K child's pss: K MiB of its own, plus its share of what it still
# shares with its parent and libc (well under 1 MiB), minus nothing.
PSS_TOLERANCE = MiB // 2
# The daemon's growth allowed over the run by default (glibc's per-thread
# arenas let it grow by ~16 MiB per thread that ever allocated: ~166 MB was
# measured).
RSS_BOUND = 48 * MiB
FD_BOUND = 8
READERS_PER_USER = 5

READER = r"""
import errno, json, os, re, sys, time
mnt, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
allowed = {errno.ENOENT, errno.ESRCH, errno.EACCES}
stats = {"reads": 0, "gone": 0, "refused": 0, "bad": []}
MiB = 1 << 20
TOL = int(sys.argv[3])

def read(path):
    try:
        with open(path, "rb") as f:
            stats["reads"] += 1
            return f.read().decode("utf-8", "replace")
    except OSError as e:
        if e.errno not in allowed:
            stats["bad"].append(f"{path}: {e}")
        stats["refused" if e.errno == errno.EACCES else "gone"] += 1
        return None

def churn_k(comm):
    m = re.fullmatch(r"churn-(\d)", comm)
    return int(m.group(1)) if m else None

def check_pss(where, k, pss):
    # 0: the process is exiting (no address space any more)
    if pss != 0 and abs(pss - k * MiB) > TOL:
        stats["bad"].append(f"{where}: comm churn-{k} with pss {pss}")

turn = 0
while time.monotonic() < deadline:
    turn += 1
    text = read(f"{mnt}/processes")
    churners = []
    if text:
        lines = text.splitlines()
        width = len(lines[0].split())
        for line in lines[1:]:
            row = line.split()
            if len(row) != width:
                stats["bad"].append(f"processes: {line!r}")
                continue
            k = churn_k(row[2])
            if k:
                churners.append(row[0])
                if row[4] != "-":
                    check_pss(f"processes pid {row[0]}", k, int(row[4]))
    if turn % 4 == 0:
        text = read(f"{mnt}/metrics/memviewfs.prom")
        if text:
            for pid, k, pss in re.findall(
                    r'^memviewfs_process_pss_bytes\{pid="(\d+)",comm="churn-(\d)"\} (\d+)$', text, re.M):
                check_pss(f"metrics pid {pid}", int(k), int(pss))
    for pid in churners[:20]:
        comm = read(f"{mnt}/{pid}/comm")
        pss = read(f"{mnt}/{pid}/pss")
        if pss is not None and not re.fullmatch(r"\d+\n", pss):
            stats["bad"].append(f"{pid}/pss: {pss!r}")
        summary = read(f"{mnt}/{pid}/summary")
        if summary:
            rows = {l.split()[0]: l.split()[1] for l in summary.splitlines()[1:]}
            # one snapshot: the 2x2 adds up to rss, whoever the pid was
            parts = sum(int(rows[n]) for n in ("anon_private", "anon_shared", "file_private", "file_shared"))
            if parts != int(rows["rss"]):
                stats["bad"].append(f"{pid}/summary: 2x2 {parts} rss {rows['rss']}")
print(json.dumps(stats))
"""


def daemon_usage(pid):
    return status_bytes(pid, "VmRSS"), len(os.listdir(f"/proc/{pid}/fd"))


def main():
    memviewfs, churn = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
    rss_bound = RSS_BOUND
    if len(sys.argv) > 4:
        rss_bound = None if sys.argv[4] == "none" else int(sys.argv[4]) * MiB
    mnt = tempfile.mkdtemp(prefix="memviewfs-churn-")
    os.chmod(mnt, 0o755)
    # up to 64 FUSE worker threads: as many as the readers can keep busy,
    # each of which would get a glibc arena of its own
    daemon = start_daemon(memviewfs, mnt, "-o", "max_threads=64,metrics_pids")
    try:
        # warm up (first scans, thread pools), then the baseline
        for _ in range(3):
            with open(f"{mnt}/metrics/memviewfs.prom") as f:
                f.read()
        rss_before, fds_before = daemon_usage(daemon.pid)

        churners = [subprocess.Popen([*user, churn, str(seconds)], stdout=subprocess.PIPE,
                                     text=True) for user in ([], [], NOBODY, NOBODY)]
        readers = []
        for user in ([], NOBODY):
            for _ in range(READERS_PER_USER):
                readers.append(subprocess.Popen(
                    [*user, sys.executable, "-c", READER, mnt, str(seconds), str(PSS_TOLERANCE)],
                    stdout=subprocess.PIPE, text=True))
        spawned = [c.communicate()[0].split() for c in churners]
        results = [json.loads(r.communicate()[0]) for r in readers]
        assert all(r.returncode == 0 for r in readers), "a reader crashed"
        assert daemon.poll() is None, "the daemon died: " + daemon.stderr.read()
        rss_after, fds_after = daemon_usage(daemon.pid)

        children = sum(int(s[1]) for s in spawned)
        reused = sum(int(s[3]) for s in spawned)
        reads = sum(r["reads"] for r in results)
        gone = sum(r["gone"] for r in results)
        refused = sum(r["refused"] for r in results)
        bad = [b for r in results for b in r["bad"]]
        print(f"{seconds:.0f} s: {children} processes ({reused} reusing the previous pid), "
              f"{len(readers)} readers: {reads} reads, {gone} ENOENT/ESRCH, {refused} EACCES")
        print(f"daemon RSS {rss_before / MiB:.1f} MiB -> {rss_after / MiB:.1f} MiB "
              f"(x{rss_after / rss_before:.2f}), fds {fds_before} -> {fds_after}")
        for b in bad[:20]:
            print("BAD:", b)
        assert not bad, f"{len(bad)} wrong answers"
        # (how many depends on the machine's load: only a floor here)
        assert children > 10 * seconds, "too few processes to call it churn"
        assert reads > 2 * len(readers), "the readers hardly read"
        if rss_bound is not None:
            assert rss_after - rss_before <= rss_bound, "daemon RSS grew beyond the bound"
        assert fds_after - fds_before <= FD_BOUND, "daemon fds grew"
    finally:
        code = stop_daemon(daemon, mnt, timeout=20)
        os.rmdir(mnt)
    assert code == 0, f"daemon exited {code}"


if __name__ == "__main__":
    main()
