# SPDX-License-Identifier: MIT
"""A small harness for the mount tests that want their own file: start and
stop the daemon, drive tests/mount/workload.c, find this process's memory
cgroup and make child cgroups in it."""
import os
import signal
import subprocess
import tempfile
import time

PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1024 * 1024


def start_daemon(memviewfs, mountpoint, *extra):
    proc = subprocess.Popen([memviewfs, "-f", "-o", "allow_other", *extra, mountpoint],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(500):
        if os.path.ismount(mountpoint):
            return proc
        if proc.poll() is not None:
            raise RuntimeError("memviewfs exited: " + proc.stderr.read())
        time.sleep(0.01)
    proc.kill()
    raise RuntimeError("memviewfs did not mount")


def stop_daemon(proc, mountpoint):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        subprocess.run(["fusermount3", "-u", "-z", mountpoint])
        raise


class Mount:
    """A mounted tree in a temporary directory."""

    def __init__(self, memviewfs, *extra):
        self.path = tempfile.mkdtemp(prefix="memviewfs-test-")
        os.chmod(self.path, 0o755)
        self.daemon = start_daemon(memviewfs, self.path, *extra)

    def close(self):
        code = stop_daemon(self.daemon, self.path)
        os.rmdir(self.path)
        if code != 0:
            raise RuntimeError(f"daemon exited {code}: {self.daemon.stderr.read()}")


class Workload:
    """tests/mount/workload.c: one command a line, "ok ..." when done."""

    def __init__(self, exe, prefix=()):
        self.proc = subprocess.Popen([*prefix, exe], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.pid = int(self._reply().split()[1])

    def _reply(self):
        line = self.proc.stdout.readline()
        if not line.startswith("ok"):
            raise RuntimeError(f"workload: {line!r}")
        return line

    def do(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._reply().split()[1:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass  # a killed workload's pipe


def own_memory_cgroup():
    """(directory of this process's memory cgroup, cgroup v1 or 2, the
    hierarchy's mount point)."""
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
                return os.path.normpath(os.path.join(mountpoint, rel)), version, mountpoint
    raise RuntimeError("no memory cgroup mount")


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
        limit_file = "memory.limit_in_bytes" if version == 1 else "memory.max"
        with open(os.path.join(path, limit_file), "w") as f:
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
