# SPDX-License-Identifier: MIT
"""The kernel's own files, read directly (not through the mount), every
size in bytes: what the mounted values are compared with."""
import collections
import os
import re
import subprocess

PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1024 * 1024
# The kernel's own slack between two reads: a few pages of stack, libc
# buffers and per-CPU RSS counter batching. Nothing looser.
SLACK = 8 * PAGE
# MADV_FREE'd pages count as LazyFree only once the kernel has moved them
# through a per-CPU batch of up to 31 folios (mm/swap.c, lru_lazyfree): up to
# 30 pages per CPU may not be LazyFree yet when madvise returns, and stay so
# until that CPU drains its batch (seen: 35 pages short after the madvise
# moved between CPUs; the last 2 pages of a scavenge for seconds).
LAZYFREE_LAG = (os.cpu_count() or 1) * 30 * PAGE

# One region of /proc/<pid>/smaps: its range as printed ("start-end", hex),
# start and end as numbers, perms, offset, path ("" for none) and its
# "Name: N kB" fields in bytes.
Vma = collections.namedtuple("Vma", "range start end perms offset path fields")

_KB_FIELD = re.compile(r"(\w+):\s+(\d+) kB")


def smaps(pid):
    """[Vma] of /proc/<pid>/smaps."""
    vmas = []
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                parts = line.rstrip("\n").split(None, 5)
                vmas.append(Vma(parts[0], int(m.group(1), 16), int(m.group(2), 16), parts[1],
                                int(parts[2], 16), parts[5] if len(parts) > 5 else "", {}))
                continue
            m = _KB_FIELD.match(line)
            if m and vmas:
                vmas[-1].fields[m.group(1)] = int(m.group(2)) * 1024
    return vmas


def smaps_vmas(pid):
    """[(start, end, {field: bytes})] from /proc/<pid>/smaps."""
    return [(v.start, v.end, v.fields) for v in smaps(pid)]


def smaps_rss(pid):
    """The Rss of every region of /proc/<pid>/smaps, summed."""
    return sum(v.fields.get("Rss", 0) for v in smaps(pid))


def smaps_rollup(pid):
    """/proc/<pid>/smaps_rollup as {field: bytes}."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = _KB_FIELD.match(line)
            if m:
                out[m.group(1)] = int(m.group(2)) * 1024
    return out


def status_bytes(pid, key):
    """A "Key: N kB" line of /proc/<pid>/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def meminfo_bytes(key):
    """A line of /proc/meminfo, in bytes (kB lines) or as is (counts)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                fields = line.split()
                return int(fields[1]) * (1024 if fields[2:] == ["kB"] else 1)
    raise KeyError(key)


def vmstat():
    """/proc/vmstat as {name: count}."""
    with open("/proc/vmstat") as f:
        return {k: int(v) for k, v in (l.split() for l in f.read().splitlines())}


def free_bw():
    """`free -b -w` as {field: bytes}."""
    lines = subprocess.run(["free", "-b", "-w"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    head = lines[0].split()
    mem = dict(zip(head, map(int, lines[1].split()[1:])))
    swap = dict(zip(["total", "used", "free"], map(int, lines[2].split()[1:])))
    return {"total": mem["total"], "used": mem["used"], "free": mem["free"],
            "shared": mem["shared"], "buffers": mem["buffers"], "cache": mem["cache"],
            "available": mem["available"], "swap_total": swap["total"],
            "swap_used": swap["used"], "swap_free": swap["free"]}


def kernel_thread_comms():
    """Comms that only kernel threads carry (no VmSize line in status)."""
    kernel, user = set(), set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except OSError:
            continue
        name = re.search(r"^Name:\t(.*)$", status, re.M).group(1)
        (user if "\nVmSize:" in status else kernel).add(name)
    return kernel - user


def read_text(path):
    """The whole text of a file (a /proc or cgroup file, read directly)."""
    with open(path) as f:
        return f.read()
