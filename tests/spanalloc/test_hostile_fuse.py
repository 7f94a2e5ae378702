#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A hostile process maps, under the statistics segment's exact name
"/memfd:spanalloc-stats", a FUSE file whose read never answers. The reader
(spanalloc-stat, sa_stats_read_pid) must refuse it without reading it and
return an error in bounded time, as root (map_files) and as the process's
own unprivileged user (/proc/<pid>/mem).

The name must be exactly that path, so the FUSE file is mounted on a regular
file of that name at the root directory, in a private mount namespace (the
mount never shows outside this test); the empty file is removed afterwards.

Run by meson (suite 'mount', root): test_hostile_fuse.py SPANALLOC_STAT HOSTILE_FUSE
"""
import os
import subprocess
import sys
import time
import unittest

STAT = FUSE = None
PATH = "/memfd:spanalloc-stats"
SIZE = 1 << 20  # more than a segment: the reader would read all it needs
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# Bounded: the reader needs milliseconds; one that reads the FUSE file never
# returns at all. The bound only decides how long a failing run takes.
BOUND = 20

IMPOSTOR = r"""
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, int(sys.argv[2]), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
print("ready", flush=True)
sys.stdin.read()
"""


def is_mount(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


class TestHostileFuseSegment(unittest.TestCase):
    def setUp(self):
        self.server = subprocess.Popen([FUSE, str(SIZE), PATH], stderr=subprocess.PIPE)
        for _ in range(500):
            if is_mount(PATH):
                break
            if self.server.poll() is not None:
                self.fail("hostile-fuse exited: " + self.server.stderr.read().decode())
            time.sleep(0.01)
        else:
            self.fail("hostile-fuse did not mount")
        self.addCleanup(self.stop_server)

    def stop_server(self):
        # SIGKILL aborts the FUSE connection: anything blocked on it returns
        if self.server.poll() is None:
            self.server.kill()
        self.server.wait()
        self.server.stderr.close()
        subprocess.run(["umount", "-l", PATH], stderr=subprocess.DEVNULL)

    def impostor(self, prefix=()):
        p = subprocess.Popen([*prefix, sys.executable, "-c", IMPOSTOR, PATH, str(SIZE)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (p.kill(), p.wait(), p.stdin.close(), p.stdout.close()))
        self.assertEqual(p.stdout.readline(), "ready\n")
        with open(f"/proc/{p.pid}/maps") as f:
            self.assertTrue(any(line.rstrip("\n").endswith(" " + PATH) for line in f),
                            "the impostor's mapping does not carry the segment's name")
        return p

    def run_reader(self, cmd):
        """(returncode, stderr, seconds), or None if the reader hung."""
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.stop_server()  # a reader stuck in the FUSE read can only go now
            p.kill()
            p.communicate()
            return None
        return p.returncode, err, time.monotonic() - start

    def check_refused(self, cmd):
        result = self.run_reader(cmd)
        self.assertIsNotNone(result, f"{cmd}: the reader hung on the FUSE file")
        code, err, seconds = result
        self.assertNotEqual(code, 0, err)
        self.assertIn("Invalid argument", err)

    def test_root_reader(self):
        p = self.impostor(NOBODY)
        self.check_refused([STAT, str(p.pid)])
        self.check_refused([STAT, "--spans", str(p.pid)])

    def test_unprivileged_reader_of_its_own_process(self):
        p = self.impostor(NOBODY)
        self.check_refused([*NOBODY, STAT, str(p.pid)])


def inner():
    created = False
    if not os.path.exists(PATH):
        os.close(os.open(PATH, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        created = True
    elif os.path.getsize(PATH) != 0:
        sys.exit(f"{PATH} exists and is not this test's empty file: not touching it")
    try:
        unittest.main(argv=[sys.argv[0], "-v", *sys.argv[3:]])
    finally:
        if created:
            os.unlink(PATH)


if __name__ == "__main__":
    STAT, FUSE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.environ.get("HOSTILE_FUSE_NAMESPACE") == "1":
        inner()
    # A private mount namespace: the FUSE mount dies with it, whatever happens.
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__), *sys.argv[1:]],
                       env=dict(os.environ, HOSTILE_FUSE_NAMESPACE="1"))
    if os.path.isfile(PATH) and os.path.getsize(PATH) == 0 and not is_mount(PATH):
        os.unlink(PATH)  # left by an inner run that was killed
    sys.exit(r.returncode)
