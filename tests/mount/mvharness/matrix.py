# SPDX-License-Identifier: MIT
"""The access matrix: what a reader gets from each file of the tree against
what it gets from the /proc file that file comes from."""
import errno
import os
import re

# Which /proc/<pid>/ file each file of <pid>/ is read from.
PROC_SOURCE = {
    "comm": "comm", "cmdline": "cmdline", "rss": "status", "vsz": "status",
    "pss": "smaps_rollup", "uss": "smaps_rollup", "swap": "smaps_rollup",
    "retained_freed": "smaps_rollup", "anon_private": "smaps", "anon_shared": "smaps",
    "file_private": "smaps", "file_shared": "smaps", "cgroup": "cgroup",
    "summary": "smaps", "mappings": "smaps",
}


def outcome(path):
    """'ok' or the errno of open+read, as `cat` sees it."""
    try:
        with open(path, "rb") as f:
            while f.read(65536):
                pass
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def opens(path):
    """May the reader open it? ESRCH is no refusal: the process has no
    address space (a kernel thread), and the table shows it 0, as ps does."""
    try:
        os.close(os.open(path, os.O_RDONLY))
        return True
    except OSError as e:
        return e.errno == errno.ESRCH


def processes_rows(mnt):
    try:
        with open(f"{mnt}/processes") as f:
            lines = f.read().splitlines()[1:]
    except OSError as e:
        return {"error": e.errno}
    return {int(line.split()[0]): line.split()[4] for line in lines}


def metrics_rows(mnt):
    rows = {}
    try:
        with open(f"{mnt}/metrics/memviewfs.prom") as f:
            text = f.read()
    except OSError as e:
        return {"error": e.errno}
    for m in re.finditer(r'^memviewfs_process_(rss|pss)_bytes\{pid="(\d+)"', text, re.M):
        rows.setdefault(int(m.group(2)), set()).add(m.group(1))
    return {pid: sorted(kinds) for pid, kinds in rows.items()}


def read_cells(mnt, pids):
    """The matrix row of one reader: {pid: {file: [tree outcome, /proc outcome]}}."""
    procs = processes_rows(mnt)
    metrics = metrics_rows(mnt)
    out = {}
    for pid in pids:
        cells = {}
        for name, source in PROC_SOURCE.items():
            cells[name] = [outcome(f"{mnt}/{pid}/{name}"), outcome(f"/proc/{pid}/{source}")]
        # processes: the row is there when /proc shows the reader the
        # process's status; its pss is a number when the reader may open
        # smaps_rollup (a kernel thread's says ESRCH: 0, as ps shows).
        status_ok = outcome(f"/proc/{pid}/status") == "ok"
        expected = ("absent" if not status_ok else
                    "value" if opens(f"/proc/{pid}/smaps_rollup") else "dash")
        if "error" in procs:
            got = "error"
        elif pid not in procs:
            got = "absent"
        else:
            got = "dash" if procs[pid] == "-" else "value"
        cells["processes"] = [got, expected]
        expected = ("absent" if not status_ok else
                    "pss" if outcome(f"/proc/{pid}/smaps") == "ok" else "rss-only")
        if "error" in metrics:
            got = "error"
        elif pid not in metrics:
            got = "absent"
        else:
            got = "pss" if "pss" in metrics[pid] else "rss-only"
        cells["metrics"] = [got, expected]
        out[pid] = cells
    return out


RANK = {"ok": 2, "value": 2, "pss": 2, "dash": 1, "rss-only": 1, "absent": 0}


def classify(tree, proc):
    """'same', 'leak' (tree shows more), 'over' (tree refuses more) or 'differs'."""
    if tree == proc:
        return "same"
    t, p = RANK.get(tree, 0), RANK.get(proc, 0)
    if t > p:
        return "leak"
    if t < p:
        return "over"
    return "differs"
