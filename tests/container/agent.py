#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs INSIDE a container (podman exec -i CTR python3 -c "<this file>") for
test_container.py: reads the memviewfs tree and the kernel's own files from
the container's point of view and answers with what it read; the host side
compares. One JSON request per line on stdin, one JSON answer per line on
stdout ({"error": "..."} when a request fails).

A single long-lived agent does every read of a test, so that the memory of
the reader itself stays put between a "before" and an "after".

Requests ("mnt" is where the tree is mounted in this container):
  {"op": "processes", "mnt": M}   /proc's pids, the processes table, /proc's
                                  pids again, and the agent's own pid
  {"op": "cgroup", "mnt": M}      the container's own cgroup files, cgroup/
                                  values, the own files again
  {"op": "pid", "mnt": M, "pid": P}   <P>/comm rss pss uss swap anon_private
                                  from the tree between two reads of
                                  /proc/P/smaps_rollup and /proc/P/comm
  {"op": "mounted", "mnt": M}     the mountinfo line of M and the root listing
  {"op": "spawn", "argv": [...]}  starts a workload (tests/mount/workload.c)
                                  and answers its first line
  {"op": "workload", "line": L}   sends L to it and answers its reply
  {"op": "read", "path": P}       a file's text
  {"op": "fetch", "url": U}       an HTTP GET's body (node-exporter)
"""
import json
import os
import re
import subprocess
import sys
import urllib.request

workload = None


def proc_pids():
    return sorted(int(n) for n in os.listdir("/proc") if n.isdigit())


def read_text(path):
    with open(path) as f:
        return f.read()


def processes(req):
    before = proc_pids()
    text = read_text(f"{req['mnt']}/processes")
    after = proc_pids()
    lines = text.splitlines()
    header = lines[0].split()
    rows = []
    for line in lines[1:]:
        fields = line.split()
        rows.append(dict(zip(header, fields)))
    return {"before": before, "after": after, "header": header, "rows": rows,
            "self": os.getpid(), "text": text}


def cgroup_files():
    """The container's own memory cgroup, read directly: in a container the
    engine mounts the container's cgroup at /sys/fs/cgroup/memory (v1) or
    /sys/fs/cgroup (v2, cgroup namespace)."""
    if os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        d = "/sys/fs/cgroup/memory"
        stat = dict(line.split() for line in read_text(f"{d}/memory.stat").splitlines())
        return {"version": 1,
                "limit": int(read_text(f"{d}/memory.limit_in_bytes")),
                "usage": int(read_text(f"{d}/memory.usage_in_bytes")),
                "anon": int(stat["total_rss"]),
                "reclaimable": int(stat["total_inactive_file"]) + int(stat["total_active_file"]),
                "procs": sorted(int(p) for p in read_text(f"{d}/cgroup.procs").split())}
    d = "/sys/fs/cgroup"
    stat = dict(line.split() for line in read_text(f"{d}/memory.stat").splitlines())
    limit = read_text(f"{d}/memory.max").strip()
    return {"version": 2,
            "limit": None if limit == "max" else int(limit),
            "usage": int(read_text(f"{d}/memory.current")),
            "anon": int(stat["anon"]),
            "reclaimable": int(stat["inactive_file"]) + int(stat["active_file"])
            + int(stat.get("slab_reclaimable", 0)),
            "procs": sorted(int(p) for p in read_text(f"{d}/cgroup.procs").split())}


def cgroup(req):
    before = cgroup_files()
    tree = {}
    for name in ("limit", "usage", "anon", "reclaimable", "available", "path"):
        tree[name] = read_text(f"{req['mnt']}/cgroup/{name}")
    after = cgroup_files()
    return {"before": before, "tree": tree, "after": after,
            "self_cgroup": read_text("/proc/self/cgroup")}


def rollup(pid):
    out = {}
    for line in read_text(f"/proc/{pid}/smaps_rollup").splitlines():
        m = re.match(r"(\w+):\s+(\d+) kB", line)
        if m:
            out[m.group(1)] = int(m.group(2)) * 1024
    return out


def pid_values(req):
    pid, mnt = req["pid"], req["mnt"]
    before = rollup(pid)
    tree = {name: read_text(f"{mnt}/{pid}/{name}")
            for name in ("comm", "rss", "pss", "uss", "swap", "anon_private")}
    after = rollup(pid)
    return {"before": before, "tree": tree, "after": after,
            "comm": read_text(f"/proc/{pid}/comm")}


def mounted(req):
    mnt = os.path.realpath(req["mnt"])
    lines = [line for line in read_text("/proc/self/mountinfo").splitlines()
             if line.split()[4] == mnt]
    return {"mountinfo": lines, "listing": sorted(os.listdir(mnt))}


def spawn(req):
    global workload
    workload = subprocess.Popen(req["argv"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, bufsize=1)
    return {"pid": workload.pid, "reply": workload.stdout.readline()}


def workload_line(req):
    workload.stdin.write(req["line"] + "\n")
    return {"reply": workload.stdout.readline()}


def fetch(req):
    with urllib.request.urlopen(req["url"], timeout=10) as response:
        return {"status": response.status, "body": response.read().decode()}


OPS = {"processes": processes, "cgroup": cgroup, "pid": pid_values, "mounted": mounted,
       "spawn": spawn, "workload": workload_line, "fetch": fetch,
       "read": lambda req: {"text": read_text(req["path"])}}


def main():
    for line in sys.stdin:
        req = json.loads(line)
        try:
            answer = OPS[req["op"]](req)
        except Exception as e:  # the host side reports it as the failure
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    if workload:
        workload.stdin.close()
        workload.wait()


if __name__ == "__main__":
    main()
