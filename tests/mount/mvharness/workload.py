# SPDX-License-Identifier: MIT
"""Processes with known memory: tests/mount/workload.c and heap-workload.c
(one command a line, "ok ..." when done), and copies of a program under a
name no other process has."""
import os
import random
import shutil
import subprocess
import tempfile
import time


def wait_until(predicate, tries=500, interval=0.01):
    """True once predicate() is, False after @tries tries @interval seconds
    apart."""
    for _ in range(tries):
        if predicate():
            return True
        time.sleep(interval)
    return False


class Workload:
    """tests/mount/workload.c: one command a line, "ok ..." when done."""

    def __init__(self, exe, prefix=(), env=None):
        self.proc = subprocess.Popen([*prefix, exe], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
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


class HeapWorkload(Workload):
    """heap-workload.c under LD_PRELOAD=@libspanalloc (the preload applies
    to the workload alone, not to a prefix such as setpriv). The
    scavenger's delay is long, so that only the workload's own scavenge
    commands release pages: the numbers stand still between its sa_stats()
    and our reads."""

    def __init__(self, exe, libspanalloc, prefix=()):
        env = dict(os.environ)
        env.pop("MALLOC_PERTURB_", None)
        super().__init__(exe, [*prefix, "env", f"LD_PRELOAD={libspanalloc}",
                               "SPANALLOC_SCAVENGE_MS=600000"], env)

    def stats(self):
        """The workload's own sa_stats() (which also publishes them)."""
        return {k: int(v) for k, v in (kv.split("=") for kv in self.do("stats"))}


def renamed_copy(src, tag):
    """(directory, comm, path): a copy of @src in a new directory everyone may
    enter, under a name (its processes' comm) no other process has."""
    directory = tempfile.mkdtemp(prefix="mvm-")
    os.chmod(directory, 0o755)
    comm = f"{tag}{os.getpid() % 100000}{random.randrange(1000)}"[:15]
    path = os.path.join(directory, comm)
    shutil.copy(src, path)
    os.chmod(path, 0o755)
    return directory, comm, path


class HeapWorkloads:
    """@count copies of heap-workload under one comm no other process has:
    their spanalloc statistics are what they answer to "stats"; idle
    afterwards, the numbers stand still."""

    def __init__(self, exe, libspanalloc, count):
        self.tmp, self.comm, copy = renamed_copy(exe, "mvh")
        self.workloads = []
        try:
            for _ in range(count):
                self.workloads.append(HeapWorkload(copy, libspanalloc))
        except BaseException:
            self.close()
            raise
        self.pids = [w.pid for w in self.workloads]

    def close(self):
        for w in self.workloads:
            w.close()
        shutil.rmtree(self.tmp)


class Sleepers:
    """Copies of sleep(1) under a name no other process has, so that their
    comm (and, run as a fresh uid, their user) are theirs alone. Returns once
    each sleeps and its memory stands still."""

    def __init__(self, count, prefix=(), cgroup_dir=None):
        self.tmp, self.comm, exe = renamed_copy("/bin/sleep", "mvm")
        self.procs = []
        for _ in range(count):
            p = subprocess.Popen([*prefix, exe, "1000"])
            self.procs.append(p)
            if cgroup_dir is not None:
                with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
                    f.write(str(p.pid))
        self.pids = [p.pid for p in self.procs]
        for pid in self.pids:  # until each has exec'd sleep (its comm is ours)
            wait_until(lambda: self._comm(pid) == self.comm)
        # until each sleeps: sleep(1) still faults pages in between its exec
        # and its nanosleep, and the tests compare its memory across reads
        for pid in self.pids:
            last = [None]

            def still():
                rollup = self._rollup(pid)
                asleep = self._state(pid) == "S" and rollup == last[0]
                last[0] = rollup
                return asleep
            wait_until(still, interval=0.02)

    @staticmethod
    def _comm(pid):
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()

    @staticmethod
    def _state(pid):
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]

    @staticmethod
    def _rollup(pid):
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return f.read()

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        shutil.rmtree(self.tmp)


def wait_exec(pid, comm):
    """Returns once @pid has exec'd the program whose comm is @comm."""
    def execd():
        try:
            with open(f"/proc/{pid}/comm") as f:
                return f.read().strip() == comm
        except OSError:
            return False
    if not wait_until(execd):
        raise RuntimeError(f"{pid} did not exec {comm}")
