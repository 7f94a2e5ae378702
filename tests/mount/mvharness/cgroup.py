# SPDX-License-Identifier: MIT
"""This process's memory cgroup, child cgroups made for a test, and the
mounted cgroup/ files as a process inside a cgroup reads them."""
import collections
import json
import os
import subprocess
import sys
import time

# dir: the cgroup's directory; version: 1 or 2; mountpoint: the memory
# hierarchy's mount point; path: the cgroup's path as /proc/self/cgroup says.
MemoryCgroup = collections.namedtuple("MemoryCgroup", "dir version mountpoint path")


def own_memory_cgroup(missing_ok=False):
    """This process's memory cgroup (v1 memory hierarchy, or the v2 unified
    one); when no memory hierarchy is mounted, None if @missing_ok, else
    RuntimeError."""
    with open("/proc/self/cgroup") as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f]
    v1 = [l for l in lines if "memory" in l[1].split(",")]
    version, path = (1, v1[0][2]) if v1 else (2, next(l[2] for l in lines if l[0] == "0"))
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            opts = fields[-1].split(",")
            if (version == 1 and fstype == "cgroup" and "memory" in opts) or \
               (version == 2 and fstype == "cgroup2"):
                root, mountpoint = fields[3], fields[4]
                rel = os.path.relpath(path, root)
                return MemoryCgroup(os.path.normpath(os.path.join(mountpoint, rel)), version,
                                    mountpoint, path)
    if missing_ok:
        return None
    raise RuntimeError("no memory cgroup mount")


def limit_file(version):
    return "memory.limit_in_bytes" if version == 1 else "memory.max"


def make_cgroup(testcase, parent, name, version, limit=None):
    """A child cgroup, removed at the test's end (its processes moved back
    to @parent first)."""
    path = os.path.join(parent, name)
    os.mkdir(path)

    def remove():
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = f.read().split()
        except FileNotFoundError:
            return
        for pid in pids:
            try:
                with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                    f.write(pid)
            except OSError:
                pass
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.1)
        os.rmdir(path)

    testcase.addCleanup(remove)
    if limit is not None:
        with open(os.path.join(path, limit_file(version)), "w") as f:
            f.write(str(limit))
        if version == 1:
            # no swap for the cgroup (where memsw accounting exists): the
            # limit is reached, not swapped around
            try:
                with open(os.path.join(path, "memory.swappiness"), "w") as f:
                    f.write("0")
            except OSError:
                pass
    return path


def move_to_cgroup(cgroup_dir, pid):
    with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
        f.write(str(pid))


def read_inside(mnt, cgroup_dir, names):
    """The cgroup/ files @names of the tree @mnt, read by one process placed
    inside @cgroup_dir (one process, so that its own charge does not move
    between reads); "ls" is its listing of cgroup/."""
    script = ("import sys, json\n"
              "open(sys.argv[1] + '/cgroup.procs', 'w').write('0')\n"
              "out = {'ls': __import__('os').listdir(sys.argv[2] + '/cgroup')}\n"
              "for n in sys.argv[3:]:\n"
              "    out[n] = open(sys.argv[2] + '/cgroup/' + n).read()\n"
              "print(json.dumps(out))\n")
    out = subprocess.run([sys.executable, "-c", script, cgroup_dir, os.fspath(mnt), *names],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)
