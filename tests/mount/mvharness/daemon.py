# SPDX-License-Identifier: MIT
"""Starting and stopping the daemon, a mounted tree and the test case that
owns one."""
import os
import re
import signal
import subprocess
import tempfile
import unittest

from .creds import read_as
from .programs import programs
from .procfs import SLACK
from .workload import HeapWorkload, Workload, wait_until

PROM = "metrics/memviewfs.prom"


def start_daemon(memviewfs, mountpoint, *extra):
    """memviewfs in the foreground on @mountpoint, once it is mounted."""
    proc = subprocess.Popen([memviewfs, "-f", "-o", "allow_other", *extra, mountpoint],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if wait_until(lambda: os.path.ismount(mountpoint) or proc.poll() is not None):
        if os.path.ismount(mountpoint):
            return proc
        raise RuntimeError("memviewfs exited: " + proc.stderr.read())
    proc.kill()
    raise RuntimeError("memviewfs did not mount")


def stop_daemon(proc, mountpoint, timeout=10):
    """SIGTERM (the daemon unmounts), its exit code; what it wrote to stderr
    is kept in proc.errors and the pipe closed. Not gone after @timeout
    seconds: killed, lazily unmounted, TimeoutExpired."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        subprocess.run(["fusermount3", "-u", "-z", mountpoint])
        raise
    proc.errors = proc.stderr.read()
    proc.stderr.close()
    return code


class Mount:
    """A mounted tree in a temporary directory, with -o @options. str() and
    os.fspath() of it are the mountpoint."""

    def __init__(self, *options, prefix="memviewfs-test-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o755)
        extra = ("-o", ",".join(options)) if options else ()
        try:
            self.daemon = start_daemon(programs.memviewfs, self.path, *extra)
        except BaseException:
            os.rmdir(self.path)
            raise

    def __str__(self):
        return self.path

    def __fspath__(self):
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        code = stop_daemon(self.daemon, self.path)
        os.rmdir(self.path)
        if code != 0:
            raise RuntimeError(f"daemon exited {code}: {self.daemon.errors}")

    def read(self, name=PROM, as_user=None):
        """The text of @name (relative to the mountpoint; an absolute path
        is read as it is), read by us or by
        @as_user (a setpriv prefix). Bytes that are not UTF-8 stay as
        surrogates (a comm may hold any byte)."""
        path = os.path.join(self.path, name)
        if as_user:
            return read_as(as_user, path)
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape")

    def value(self, *parts):
        """The one integer of a value file, @parts joined by "/" (a pid, a
        directory, a name): anything else in it fails the test."""
        name = "/".join(map(str, parts))
        text = self.read(name)
        assert re.fullmatch(r"\d+\n", text), f"{name}: {text!r}"
        return int(text)

    def values(self, pid, *names):
        return {n: self.value(pid, n) for n in names}

    def table(self, name, as_user=None):
        """(header, rows as dicts keyed by it) of a table; the last column
        takes the rest of its line."""
        lines = self.read(name, as_user).splitlines()
        header = lines[0].split()
        return header, [dict(zip(header, line.split(None, len(header) - 1)))
                        for line in lines[1:]]

    def summary(self, pid):
        """<pid>/summary as {name: value text}."""
        return {l.split()[0]: l.split()[1] for l in self.read(f"{pid}/summary").splitlines()}

    def processes(self):
        """(header, {pid: row as a list}) of the processes table."""
        lines = self.read("processes").splitlines()
        return lines[0].split(), {int(l.split()[0]): l.split() for l in lines[1:]}


class MountTestCase(unittest.TestCase):
    """A test class with a tree of its own (self.mnt, a Mount with
    MOUNT_OPTIONS), mounted before its first test and unmounted after its
    last: a daemon that does not exit 0 fails the class."""

    MOUNT_OPTIONS = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mnt = Mount(*cls.MOUNT_OPTIONS)
        cls.addClassCleanup(cls.mnt.close)

    def workload(self, prefix=()):
        """tests/mount/workload.c, killed at the test's end."""
        w = Workload(programs.workload, prefix)
        self.addCleanup(w.close)
        return w

    def heap_workload(self, prefix=()):
        """heap-workload.c under LD_PRELOAD=libspanalloc-malloc.so."""
        w = HeapWorkload(programs.heap_workload, programs.libspanalloc, prefix)
        self.addCleanup(w.close)
        return w

    def assertMoved(self, before, after, name, expected, slack=SLACK):
        delta = after[name] - before[name]
        self.assertLessEqual(abs(delta - expected), slack,
                             f"{name} moved by {delta}, expected {expected} (+-{slack})")

    def data_file(self, size):
        """A file of @size random bytes, removed at the test's end."""
        fd, path = tempfile.mkstemp(prefix="memviewfs-data-", dir="/var/tmp")
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(size))
        return path
