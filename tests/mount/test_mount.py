#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests: mount memviewfs in a temporary directory, start processes
with known memory (tests/mount/workload.c) and check that the mounted values
move by exactly the known amounts, agree with the kernel's own files read
directly, and that access, errors and races behave like /proc.

Run by meson (suite 'mount'): test_mount.py MEMVIEWFS WORKLOAD
"""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import mvharness  # start_daemon, stop_daemon: one place for every mount test

MEMVIEWFS = WORKLOAD = None
PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1024 * 1024
# The kernel's own slack between two reads: a few pages of stack, libc
# buffers and per-CPU RSS counter batching. Nothing looser.
SLACK = 8 * PAGE
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

MNT = None
DAEMON = None


def start_daemon(mountpoint, *extra):
    # per-pid series in metrics/: these tests compare them with /proc
    return mvharness.start_daemon(MEMVIEWFS, mountpoint, "-o", "metrics_pids", *extra)


def stop_daemon(proc, mountpoint):
    return mvharness.stop_daemon(proc, mountpoint)


def setUpModule():
    global MNT, DAEMON
    MNT = tempfile.mkdtemp(prefix="memviewfs-test-")
    os.chmod(MNT, 0o755)
    DAEMON = start_daemon(MNT)


def tearDownModule():
    code = stop_daemon(DAEMON, MNT)
    os.rmdir(MNT)
    assert code == 0, f"daemon exited {code}: {DAEMON.stderr.read()}"


def value(pid, name):
    with open(f"{MNT}/{pid}/{name}") as f:
        text = f.read()
    assert re.fullmatch(r"\d+\n", text), f"{pid}/{name}: {text!r}"
    return int(text)


def values(pid, *names):
    return {n: value(pid, n) for n in names}


def rollup(pid):
    """smaps_rollup read directly, in bytes."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2)) * 1024
    return out


def smaps_vmas(pid):
    """[(start, end, {field: bytes})] from /proc/<pid>/smaps read directly."""
    vmas = []
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                vmas.append((int(m.group(1), 16), int(m.group(2), 16), {}))
                continue
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m and vmas:
                vmas[-1][2][m.group(1)] = int(m.group(2)) * 1024
    return vmas


class Workload(mvharness.Workload):
    """tests/mount/workload.c (mvharness.Workload), the one this suite was given."""

    def __init__(self, prefix=()):
        super().__init__(WORKLOAD, prefix)


class MountTestCase(unittest.TestCase):
    def workload(self, prefix=()):
        w = Workload(prefix)
        self.addCleanup(w.close)
        return w

    def assertMoved(self, before, after, name, expected, slack=SLACK):
        delta = after[name] - before[name]
        self.assertLessEqual(abs(delta - expected), slack,
                             f"{name} moved by {delta}, expected {expected} (+-{slack})")

    def data_file(self, size):
        fd, path = tempfile.mkstemp(prefix="memviewfs-data-", dir="/var/tmp")
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(size))
        return path


class TestKnownMemory(MountTestCase):
    """Each value moves by the amount the workload put in place."""

    VALUES = ("rss", "pss", "uss", "anon_private", "anon_shared", "file_private",
              "file_shared", "retained_freed", "swap", "vsz")

    def test_anonymous_private_then_madv_free(self):
        w = self.workload()
        before = values(w.pid, *self.VALUES)
        w.do(f"anon {32 * MiB}")
        touched = values(w.pid, *self.VALUES)
        for name in ("rss", "pss", "uss", "anon_private", "vsz"):
            self.assertMoved(before, touched, name, 32 * MiB)
        for name in ("anon_shared", "file_shared", "retained_freed"):
            self.assertMoved(before, touched, name, 0)
        w.do(f"madv_free {16 * MiB}")
        freed = values(w.pid, *self.VALUES)
        # MADV_FREE'd pages stay resident (and in rss) until memory pressure.
        # The kernel marks them lazily free through a per-CPU batch of up to
        # 31 folios (mm/swap.c, lru_lazyfree): up to 30 pages per CPU may not
        # count as LazyFree yet when madvise returns (seen: 35 pages short
        # after the madvise moved between CPUs).
        batch = (os.cpu_count() or 1) * 30 * PAGE
        self.assertMoved(touched, freed, "retained_freed", 16 * MiB, SLACK + batch)
        self.assertMoved(touched, freed, "rss", 0)
        self.assertMoved(touched, freed, "anon_private", 0)

    def test_shared_anonymous(self):
        w = self.workload()
        before = values(w.pid, *self.VALUES)
        w.do(f"shared_anon {16 * MiB}")
        after = values(w.pid, *self.VALUES)
        self.assertMoved(before, after, "anon_shared", 16 * MiB)
        self.assertMoved(before, after, "rss", 16 * MiB)
        self.assertMoved(before, after, "anon_private", 0)
        self.assertMoved(before, after, "file_shared", 0)

    def test_shared_file(self):
        path = self.data_file(16 * MiB)
        w = self.workload()
        before = values(w.pid, *self.VALUES)
        w.do(f"file_shared {path} {16 * MiB}")
        after = values(w.pid, *self.VALUES)
        self.assertMoved(before, after, "file_shared", 16 * MiB)
        self.assertMoved(before, after, "rss", 16 * MiB)
        self.assertMoved(before, after, "anon_private", 0)
        self.assertMoved(before, after, "file_private", 0)

    def test_private_file_copy_on_write(self):
        path = self.data_file(16 * MiB)
        w = self.workload()
        before = values(w.pid, *self.VALUES)
        w.do(f"file_private {path} {16 * MiB}")
        read = values(w.pid, *self.VALUES)
        self.assertMoved(before, read, "file_private", 16 * MiB)
        self.assertMoved(before, read, "anon_private", 0)
        w.do(f"cow {4 * MiB}")
        written = values(w.pid, *self.VALUES)
        # A written page of a private file mapping is an anonymous copy.
        self.assertMoved(read, written, "anon_private", 4 * MiB)
        self.assertMoved(read, written, "file_private", -4 * MiB)
        self.assertMoved(read, written, "rss", 0)

    def test_fork_shares_pss(self):
        n_children = 3
        size = 64 * MiB
        w = self.workload()
        w.do(f"anon {size}")
        start, end = (int(x, 16) for x in w.do("region"))
        family = [w.pid] + [int(p) for p in w.do(f"fork {n_children}")]
        time.sleep(0.2)
        for pid in family:
            # Everything but the region, from the kernel's smaps directly.
            rest = [v for s, e, v in smaps_vmas(pid) if not (s == start and e == end)]
            rest_pss = sum(v.get("Pss", 0) for v in rest)
            rest_rss = sum(v.get("Rss", 0) for v in rest)
            pss, rss = value(pid, "pss"), value(pid, "rss")
            self.assertLessEqual(abs(pss - (size // (n_children + 1) + rest_pss)), SLACK,
                                 f"pid {pid}: pss {pss}, region share {size // (n_children + 1)}")
            self.assertLessEqual(abs(rss - (size + rest_rss)), SLACK, f"pid {pid}: rss {rss}")


class TestAgreesWithKernel(MountTestCase):
    def pids(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        return [w.pid, 1, os.getpid()]

    def test_rss_equals_ps(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        ps = subprocess.run(["ps", "-o", "rss=", "-p", str(w.pid)], capture_output=True,
                            text=True, check=True).stdout
        self.assertEqual(value(w.pid, "rss"), int(ps) * 1024)

    def test_pss_uss_swap_equal_smaps_rollup(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        w.do(f"madv_free {4 * MiB}")
        idle = self.workload()
        for pid in (w.pid, idle.pid):
            direct = rollup(pid)
            ours = values(pid, "pss", "uss", "swap", "retained_freed")
            # Pss moves whenever any other process maps or unmaps a shared
            # page (libc...): the kernel's own slack between two reads.
            self.assertLessEqual(abs(ours["pss"] - direct["Pss"]), SLACK)
            self.assertEqual(ours["uss"], direct["Private_Clean"] + direct["Private_Dirty"])
            self.assertEqual(ours["swap"], direct["Swap"])
            self.assertEqual(ours["retained_freed"], direct["LazyFree"])

    def test_2x2_adds_up_to_rss(self):
        w = self.workload()
        path = self.data_file(4 * MiB)
        w.do(f"anon {8 * MiB}")
        w.do(f"shared_anon {4 * MiB}")
        w.do(f"file_shared {path} {4 * MiB}")
        checked = 0
        for pid in [w.pid] + [int(p) for p in os.listdir(MNT) if p.isdigit()][:50]:
            try:
                parts = values(pid, "anon_private", "anon_shared", "file_private", "file_shared")
                rss = value(pid, "rss")
            except (FileNotFoundError, PermissionError):
                continue  # exited meanwhile, or protected from root too (an LSM)
            self.assertLessEqual(abs(sum(parts.values()) - rss), SLACK, f"pid {pid}: {parts} rss {rss}")
            checked += 1
        self.assertGreater(checked, 2)

    def test_summary_and_mappings_totals(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        with open(f"{MNT}/{w.pid}/summary") as f:
            summary = {line.split()[0]: line.split()[1] for line in f}
        parts = sum(int(summary[k]) for k in ("anon_private", "anon_shared", "file_private",
                                              "file_shared"))
        self.assertEqual(parts, int(summary["rss"]))
        with open(f"{MNT}/{w.pid}/mappings") as f:
            lines = f.read().splitlines()
        header = lines[0].split()
        self.assertEqual(header, ["Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty",
                                  "Rss", "Pss", "Swap", "LazyFree", "VSZ", "Anonymous", "Perms",
                                  "Path"])
        rows = [line.split() for line in lines[1:]]
        self.assertTrue(all(len(r) == len(header) for r in rows), rows)
        self.assertEqual(rows[-1][-1], "total")
        for col in range(9):
            if header[col] == "Pss":  # the total is smaps_rollup's exact Pss; rows round down
                self.assertLessEqual(sum(int(r[col]) for r in rows[:-1]), int(rows[-1][col]))
            else:
                self.assertEqual(sum(int(r[col]) for r in rows[:-1]), int(rows[-1][col]))
        direct = smaps_vmas(w.pid)
        self.assertEqual(int(rows[-1][4]), sum(v.get("Rss", 0) for _, _, v in direct))
        self.assertEqual(int(rows[-1][8]), sum(e - s for s, e, _ in direct))

    def test_processes_table(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        with open(f"{MNT}/processes") as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0].split(), ["pid", "user", "comm", "rss", "pss", "uss", "swap",
                                            "retained_freed", "swap_pss", "cgroup"])
        rows = {int(r.split()[0]): r.split() for r in lines[1:]}
        self.assertTrue(all(len(r) == 10 for r in rows.values()))
        row = rows[w.pid]
        self.assertEqual(row[1], "root")
        self.assertEqual(row[2], "workload")
        self.assertEqual(int(row[3]), value(w.pid, "rss"))
        self.assertLessEqual(abs(int(row[4]) - value(w.pid, "pss")), SLACK)
        self.assertEqual(int(row[5]), value(w.pid, "uss"))
        self.assertIn(1, rows)


class TestTree(MountTestCase):
    def test_readme_lists_every_file(self):
        with open(f"{MNT}/README") as f:
            readme = f.read()
        pid_files = sorted(os.listdir(f"{MNT}/{os.getpid()}"))
        self.assertGreater(len(pid_files), 10)
        for name in pid_files:
            slash = "/" if os.path.isdir(f"{MNT}/{os.getpid()}/{name}") else ""
            self.assertIn(f"<pid>/{name}{slash} ", readme)
        for name in os.listdir(MNT):
            if not name.isdigit():
                self.assertRegex(readme, rf"\n  {name}/? ")
        self.assertIn("THE 2x2", readme)

    def test_root_lists_processes(self):
        names = os.listdir(MNT)
        proc = {n for n in os.listdir("/proc") if n.isdigit()}
        ours = {n for n in names if n.isdigit()}
        self.assertIn(str(os.getpid()), ours)
        self.assertLessEqual(len(proc ^ ours), 10)  # processes born/gone between the listings
        self.assertTrue({"README", "self", "processes"} <= set(names))

    def test_self(self):
        self.assertEqual(os.readlink(f"{MNT}/self"), str(os.getpid()))
        seen = []
        t = threading.Thread(target=lambda: seen.append(os.readlink(f"{MNT}/self")))
        t.start()
        t.join()
        self.assertEqual(seen, [str(os.getpid())])
        # The shell's own builtin reads self: self is the shell.
        out = subprocess.run(["sh", "-c", f"read c < {MNT}/self/comm; echo $c $$ $(cat {MNT}/self/comm)"],
                             capture_output=True, text=True, check=True).stdout.split()
        self.assertEqual(out[0], "sh")
        self.assertEqual(out[2], "cat")  # and cat's self is cat

    def test_cmdline_and_comm(self):
        w = self.workload()
        with open(f"{MNT}/{w.pid}/comm") as f:
            self.assertEqual(f.read(), "workload\n")
        with open(f"{MNT}/{w.pid}/cmdline") as f:
            self.assertEqual(f.read(), WORKLOAD + "\n")

    def test_owner_is_process_user(self):
        w = self.workload(NOBODY)
        st = os.stat(f"{MNT}/{w.pid}")
        self.assertEqual((st.st_uid, st.st_gid), (65534, 65534))
        self.assertEqual(os.stat(f"{MNT}/{w.pid}/pss").st_uid, 65534)
        self.assertEqual(os.stat(f"{MNT}/1").st_uid, 0)

    def test_unknown_paths_are_enoent(self):
        for path in ("nosuch", "12abc", "0", "-1", "0001", "99999999999", "4194305",
                     f"{os.getpid()}/nosuch", "self/nosuch", "README/x"):
            with self.assertRaises(OSError, msg=path) as cm:
                os.stat(f"{MNT}/{path}")
            self.assertIn(cm.exception.errno, (errno.ENOENT, errno.ENOTDIR), path)

    def test_read_only(self):
        pid = os.getpid()
        for flags in (os.O_WRONLY, os.O_RDWR):
            with self.assertRaises(OSError) as cm:
                os.open(f"{MNT}/{pid}/rss", flags)
            self.assertIn(cm.exception.errno, (errno.EACCES, errno.EROFS))
        for op in (lambda: os.mkdir(f"{MNT}/d"), lambda: os.unlink(f"{MNT}/{pid}/rss"),
                   lambda: os.open(f"{MNT}/new", os.O_CREAT | os.O_WRONLY),
                   lambda: os.rename(f"{MNT}/README", f"{MNT}/x"),
                   lambda: os.symlink("x", f"{MNT}/l"), lambda: os.rmdir(f"{MNT}/{pid}")):
            with self.assertRaises(OSError) as cm:
                op()
            self.assertIn(cm.exception.errno, (errno.EROFS, errno.EACCES, errno.EPERM))

    def test_content_fixed_at_open_and_partial_reads(self):
        w = self.workload()
        w.do(f"anon {4 * MiB}")
        fd = os.open(f"{MNT}/{w.pid}/mappings", os.O_RDONLY)
        try:
            whole = os.read(fd, 1 << 20)
            w.do(f"anon {4 * MiB}")  # the process changes; this open file must not
            os.lseek(fd, 0, os.SEEK_SET)
            pieces = b""
            while True:
                b = os.read(fd, 7)
                if not b:
                    break
                pieces += b
            self.assertEqual(pieces, whole)
            self.assertEqual(os.pread(fd, 10, 5), whole[5:15])
        finally:
            os.close(fd)
        # A new open sees the new state.
        with open(f"{MNT}/{w.pid}/mappings", "rb") as f:
            self.assertNotEqual(f.read(), whole)

    def test_ordinary_tools(self):
        path = f"{MNT}/{os.getpid()}/mappings"
        run = lambda *cmd: subprocess.run(cmd, capture_output=True, check=True).stdout
        text = run("cat", path)
        self.assertTrue(text.endswith(b"\n") and len(text) > 100)
        self.assertEqual(int(run("wc", "-c", path).split()[0]), len(text))
        self.assertEqual(run("head", "-c", "20", path), text[:20])
        self.assertEqual(run("tail", "-n", "1", path).split()[-1], b"total")
        with tempfile.TemporaryDirectory() as d:
            run("cp", f"{MNT}/README", d)
            with open(f"{d}/README") as f:
                self.assertIn("memviewfs", f.read())


class TestRaces(MountTestCase):
    def test_exited_process_is_enoent(self):
        w = self.workload()
        pid = w.pid
        self.assertGreater(value(pid, "rss"), 0)
        w.do("exit")
        w.proc.wait()
        for name in ("rss", "pss", "mappings", "summary", "anon_private"):
            with self.assertRaises(FileNotFoundError):
                open(f"{MNT}/{pid}/{name}").read()

    def test_processes_vanishing_mid_read(self):
        """Readers race processes that exit; every answer is a whole number
        or ENOENT/ESRCH, never a partial one, and the daemon survives."""
        outcomes = {"value": 0, "gone": 0}

        def read_all(pid):
            for name in ("pss", "anon_private", "rss", "mappings", "summary"):
                try:
                    with open(f"{MNT}/{pid}/{name}") as f:
                        text = f.read()
                    if name in ("pss", "anon_private", "rss"):
                        self.assertRegex(text, r"^\d+\n$")
                    else:
                        self.assertTrue(text.endswith("\n"))
                    outcomes["value"] += 1
                except OSError as e:
                    self.assertIn(e.errno, (errno.ENOENT, errno.ESRCH), e)
                    outcomes["gone"] += 1

        deadline = time.time() + 5
        while time.time() < deadline:
            p = subprocess.Popen(["sh", "-c", "exec sleep 0.0$((RANDOM % 3))"])
            while p.poll() is None:  # reads race the exit
                read_all(p.pid)
            read_all(p.pid)  # reaped: all gone
        self.assertGreater(outcomes["value"], 0)
        self.assertGreater(outcomes["gone"], 0)
        self.assertIsNone(DAEMON.poll(), "daemon died")


# Which /proc file each mounted file is derived from: an unprivileged reader
# must get exactly what /proc gives it for that source.
PROC_SOURCE = {
    "comm": "comm", "cmdline": "cmdline", "rss": "status", "vsz": "status",
    "pss": "smaps_rollup", "uss": "smaps_rollup", "swap": "smaps_rollup",
    "retained_freed": "smaps_rollup", "swap_pss": "smaps_rollup", "hugetlb": "status",
    "anon_private": "smaps", "anon_shared": "smaps",
    "file_private": "smaps", "file_shared": "smaps", "summary": "smaps", "mappings": "smaps",
}

PROBE = r"""
import json, sys
out = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as f:
            f.read()
        out[path] = "ok"
    except OSError as e:
        out[path] = e.errno
print(json.dumps(out))
"""


class TestAccess(MountTestCase):
    def probe_as_nobody(self, paths):
        out = subprocess.run([*NOBODY, sys.executable, "-c", PROBE, *paths],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)

    def compare(self, pid):
        paths = []
        for name, source in PROC_SOURCE.items():
            paths += [f"{MNT}/{pid}/{name}", f"/proc/{pid}/{source}"]
        result = self.probe_as_nobody(paths)
        for name, source in PROC_SOURCE.items():
            self.assertEqual(result[f"{MNT}/{pid}/{name}"], result[f"/proc/{pid}/{source}"],
                             f"pid {pid}: {name} vs /proc/{source}")
        return result

    def test_unprivileged_reader_sees_what_proc_shows(self):
        root_w = self.workload()
        own_w = self.workload(NOBODY)
        nodump_w = self.workload(NOBODY)
        nodump_w.do("nodump")
        r = self.compare(root_w.pid)
        self.assertEqual(r[f"{MNT}/{root_w.pid}/pss"], errno.EACCES)
        self.assertEqual(r[f"{MNT}/{root_w.pid}/mappings"], errno.EACCES)
        self.assertEqual(r[f"{MNT}/{root_w.pid}/rss"], "ok")
        r = self.compare(own_w.pid)
        self.assertEqual(r[f"{MNT}/{own_w.pid}/mappings"], "ok")
        r = self.compare(nodump_w.pid)
        self.assertEqual(r[f"{MNT}/{nodump_w.pid}/pss"], errno.EACCES)
        self.compare(1)

    def test_unprivileged_values_and_processes_table(self):
        own_w = self.workload(NOBODY)
        own_w.do(f"anon {4 * MiB}")
        # The reader reads our pss and the kernel's smaps_rollup back to
        # back in one process: a process starting or exiting in between (the
        # reader itself, if it were two cats) moves the Pss of the shared
        # libc pages by more than the kernel's slack.
        script = ("import re, sys\n"
                  "ours = open(sys.argv[1]).read()\n"
                  "direct = re.search(r'^Pss:\\s+(\\d+) kB', open(sys.argv[2]).read(), re.M)\n"
                  "print(ours.strip(), int(direct.group(1)) * 1024)\n"
                  "print(open(sys.argv[3]).read(), end='')\n")
        out = subprocess.run([*NOBODY, sys.executable, "-c", script, f"{MNT}/{own_w.pid}/pss",
                              f"/proc/{own_w.pid}/smaps_rollup", f"{MNT}/processes"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        ours, direct = map(int, out[0].split())
        self.assertLessEqual(abs(ours - direct), SLACK)
        out[0] = str(ours)
        rows = {int(r.split()[0]): r.split() for r in out[2:]}
        self.assertEqual(rows[1][4], "-")  # init's pss is not nobody's to see
        self.assertLessEqual(abs(int(rows[own_w.pid][4]) - int(out[0])), SLACK)


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


class TestSystem(MountTestCase):
    def test_values_equal_free(self):
        """Read between two identical runs of free(1), every value equals it."""
        for _ in range(50):
            first = free_bw()
            ours = {name: value("system", name) for name in first}
            if free_bw() == first:
                self.assertEqual(ours, first)
                self.assertEqual(value("system", "buff_cache"), first["buffers"] + first["cache"])
                return
        self.fail("memory never stood still for two runs of free(1)")

    def test_summary_is_free_w(self):
        for _ in range(50):
            first = free_bw()
            with open(f"{MNT}/system/summary") as f:
                lines = f.read().splitlines()
            if free_bw() == first:
                break
        head = lines[0].split()
        self.assertEqual(head, ["total", "used", "free", "shared", "buffers", "cache", "available"])
        mem = dict(zip(head, map(int, lines[1].split()[1:])))
        self.assertEqual(mem["total"], first["total"])
        self.assertEqual(mem["available"], first["available"])
        self.assertEqual(lines[2].split()[0], "Swap:")

    def test_available_breakdown_explains_memavailable(self):
        with open(f"{MNT}/system/available_breakdown") as f:
            rows = {l.split()[0]: int(l.split()[1]) for l in f.read().splitlines()[1:]
                    if not l.startswith("#")}
        self.assertEqual(rows["free_term"], rows["mem_free"] - rows["total_reserve"])
        self.assertEqual(rows["pagecache_kept"], min(rows["pagecache"] // 2 // PAGE * PAGE,
                                                     rows["wmark_low"]))
        self.assertEqual(rows["estimate"], max(0, rows["free_term"] + rows["pagecache_term"]
                                               + rows["reclaimable_term"]))
        self.assertEqual(rows["difference"], rows["estimate"] - rows["kernel_available"])
        # Documented tolerance: the terms come from two files read one after
        # the other (meminfo, zoneinfo); on this kernel the formula is exact,
        # so only the churn between the two reads remains.
        self.assertLessEqual(abs(rows["difference"]), 256 * PAGE, rows)

    def test_watermarks_match_zoneinfo(self):
        lows = []
        with open("/proc/zoneinfo") as f:
            for line in f:
                parts = line.split()
                if parts[:1] == ["low"]:
                    lows.append(int(parts[1]) * PAGE)
        with open(f"{MNT}/system/watermarks") as f:
            lines = f.read().splitlines()
        header = lines[0].split()
        rows = [dict(zip(header, l.split())) for l in lines[1:]]
        self.assertEqual([int(r["low"]) for r in rows[:-1]], lows)
        self.assertEqual(rows[-1]["node"], "all")
        for col in ("min", "low", "high", "managed", "reserve"):
            self.assertEqual(int(rows[-1][col]), sum(int(r[col]) for r in rows[:-1]))


def own_memory_cgroup_dir():
    """The directory of this process's memory cgroup (v1 memory hierarchy,
    or the v2 unified one) and the version."""
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
                return os.path.normpath(os.path.join(mountpoint, rel)), version
    raise RuntimeError("no memory cgroup mount")


class TestCgroup(MountTestCase):
    """A workload with known memory in a child cgroup with a limit, seen from
    inside (a reader in the cgroup) and from outside."""

    LIMIT = 256 * MiB

    def make_cgroup(self, parent, name, limit=None):
        path = os.path.join(parent, name)
        os.mkdir(path)
        self.addCleanup(self.remove_cgroup, path)
        if limit is not None:
            limit_file = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
            with open(os.path.join(path, limit_file), "w") as f:
                f.write(str(limit))
        return path

    def remove_cgroup(self, path):
        # Move anything left back to our own cgroup, then remove it.
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = f.read().split()
            for pid in pids:
                try:
                    with open(os.path.join(self.own, "cgroup.procs"), "w") as f:
                        f.write(pid)
                except OSError:
                    pass
        except FileNotFoundError:
            return
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.1)
        os.rmdir(path)

    def setUp(self):
        self.own, self.version = own_memory_cgroup_dir()
        self.child = self.make_cgroup(self.own, f"memviewfs-test-{os.getpid()}", self.LIMIT)
        self.grandchild = self.make_cgroup(self.child, "inner")

    def read_inside(self, cgroup_dir, names):
        """The cgroup/ files, read by one process placed inside @cgroup_dir
        (one process, so that its own charge does not move between reads)."""
        script = ("import sys, json\n"
                  "open(sys.argv[1] + '/cgroup.procs', 'w').write('0')\n"
                  "out = {}\n"
                  "for n in sys.argv[3:]:\n"
                  "    out[n] = open(sys.argv[2] + '/cgroup/' + n).read()\n"
                  "print(json.dumps(out))\n")
        out = subprocess.run([sys.executable, "-c", script, cgroup_dir, MNT, *names],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def test_limited_cgroup_inside_and_outside(self):
        w = self.workload()
        with open(os.path.join(self.grandchild, "cgroup.procs"), "w") as f:
            f.write(str(w.pid))
        w.do(f"anon {32 * MiB}")
        seen = self.read_inside(self.grandchild, ["path", "limit", "usage", "anon", "available",
                                                  "reclaimable", "procs"])
        self.assertTrue(seen["path"].strip().endswith(
            f"/memviewfs-test-{os.getpid()}/inner"), seen["path"])
        # The grandchild has no limit of its own: the child's is in effect.
        self.assertEqual(int(seen["limit"]), self.LIMIT)
        usage, anon = int(seen["usage"]), int(seen["anon"])
        self.assertGreaterEqual(anon, 32 * MiB)
        self.assertLess(anon, 32 * MiB + 8 * MiB)  # + the reader's own shell and cat
        self.assertGreaterEqual(usage, anon)
        expected = min(self.LIMIT, self.LIMIT - usage + int(seen["reclaimable"]))
        # usage and reclaimable were read at the open of available, a moment
        # apart from the files above: allow the reader's own few pages.
        self.assertLessEqual(abs(int(seen["available"]) - expected), SLACK + 64 * PAGE)
        procs = [int(p) for p in seen["procs"].split()]
        self.assertIn(w.pid, procs)
        # From outside: our own cgroup, and the workload's path per process.
        with open(f"{MNT}/cgroup/path") as f:
            self.assertNotIn("memviewfs-test", f.read())
        with open(f"{MNT}/{w.pid}/cgroup") as f:
            self.assertTrue(f.read().strip().endswith(f"/memviewfs-test-{os.getpid()}/inner"))
        # usage read directly from the kernel, outside, moves with the workload
        usage_file = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        with open(os.path.join(self.grandchild, usage_file)) as f:
            self.assertGreaterEqual(int(f.read()), 32 * MiB)

    def test_no_limit_is_max(self):
        # Our own cgroup here may or may not be limited; a fresh sibling
        # hierarchy under it is limited only by what is above it.
        seen = self.read_inside(self.grandchild, ["limit"])
        self.assertEqual(int(seen["limit"]), self.LIMIT)
        limit_file = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        with open(os.path.join(self.child, limit_file), "w") as f:
            f.write("-1" if self.version == 1 else "max")
        seen = self.read_inside(self.grandchild, ["limit_raw"])
        limits = []
        d = self.own
        while True:
            try:
                with open(os.path.join(d, limit_file)) as f:
                    raw = f.read().strip()
                limits.append(raw)
            except FileNotFoundError:
                break
            if d in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
                break
            d = os.path.dirname(d)
        finite = [int(l) for l in limits if l != "max" and int(l) < (1 << 62)]
        self.assertEqual(seen["limit_raw"].strip(), str(min(finite)) if finite else "max")


class TestMetrics(MountTestCase):
    PROM = property(lambda self: f"{MNT}/metrics/memviewfs.prom")

    def test_promtool_accepts(self):
        with open(self.PROM, "rb") as f:
            text = f.read()
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_known_process_values(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        with open(self.PROM) as f:
            text = f.read()
        samples = dict(re.findall(rf'^(memviewfs_process_\w+)\{{pid="{w.pid}",comm="workload"\}} (\d+)$',
                                  text, re.M))
        self.assertEqual(int(samples["memviewfs_process_rss_bytes"]), value(w.pid, "rss"))
        self.assertEqual(int(samples["memviewfs_process_uss_bytes"]), value(w.pid, "uss"))
        self.assertEqual(int(samples["memviewfs_process_anon_private_bytes"]),
                         value(w.pid, "anon_private"))
        self.assertRegex(text, r"(?m)^memviewfs_system_total_bytes \d+$")

    def test_node_exporter_serves_the_textfile(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        port = 19100 + os.getpid() % 500
        exporter = subprocess.Popen(
            ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}",
             "--collector.disable-defaults", "--collector.textfile",
             f"--collector.textfile.directory={MNT}/metrics"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            body = ""
            for _ in range(100):
                r = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/metrics"],
                                   capture_output=True, text=True)
                if r.returncode == 0 and "memviewfs_process_rss_bytes" in r.stdout:
                    body = r.stdout
                    break
                time.sleep(0.1)
            m = re.search(rf'^memviewfs_process_rss_bytes\{{comm="workload",pid="{w.pid}"\}} (\S+)$',
                          body, re.M)
            self.assertIsNotNone(m, "no sample for the workload in node-exporter's output")
            self.assertLessEqual(abs(float(m.group(1)) - value(w.pid, "rss")), SLACK)
            self.assertRegex(body, r"(?m)^node_textfile_scrape_error 0$")
        finally:
            exporter.terminate()
            exporter.wait()


class TestDaemon(unittest.TestCase):
    def test_sigterm_and_sigint_unmount_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            d = tempfile.mkdtemp(prefix="memviewfs-sig-")
            try:
                proc = start_daemon(d)
                self.assertTrue(os.path.exists(f"{d}/self/rss"))
                proc.send_signal(sig)
                self.assertEqual(proc.wait(timeout=10), 0)
                self.assertFalse(os.path.ismount(d))
            finally:
                os.rmdir(d)

    def test_daemonizes_by_default_and_mount_helper(self):
        d = tempfile.mkdtemp(prefix="memviewfs-helper-")
        env = dict(os.environ, PATH=os.path.dirname(MEMVIEWFS) + ":" + os.environ["PATH"])
        try:
            # The mount.fuse3 convention, as mount(8) runs it for an fstab
            # line "memviewfs <dir> fuse.memviewfs allow_other 0 0" (mount(8)
            # itself runs helpers with a fixed PATH, hence the direct call).
            subprocess.run(["mount.fuse3", "memviewfs", d, "-t", "memviewfs", "-o", "allow_other"],
                           env=env, check=True, timeout=20)
            self.assertTrue(os.path.ismount(d))
            with open(f"{d}/{os.getpid()}/rss") as f:
                self.assertGreater(int(f.read()), 0)
        finally:
            subprocess.run(["umount", d])
            os.rmdir(d)

    def test_version_and_help(self):
        out = subprocess.run([MEMVIEWFS, "--version"], capture_output=True, text=True, check=True)
        self.assertIn("memviewfs", out.stdout)
        out = subprocess.run([MEMVIEWFS, "--help"], capture_output=True, text=True, check=True)
        self.assertIn("MOUNTPOINT", out.stdout)
        self.assertIn("allow_other", out.stdout + out.stderr)
        bad = subprocess.run([MEMVIEWFS, "-o", "no_such_option", "/tmp"], capture_output=True)
        self.assertNotEqual(bad.returncode, 0)


if __name__ == "__main__":
    MEMVIEWFS, WORKLOAD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[3:]])
