#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests: mount memviewfs in a temporary directory, start processes
with known memory (tests/mount/workload.c) and check that the mounted values
move by exactly the known amounts, agree with the kernel's own files read
directly, and that access, errors and races behave like /proc.

Run by meson (suite 'mount'): test_mount.py MEMVIEWFS WORKLOAD
"""
import errno
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import mvharness
from mvharness import (LAZYFREE_LAG, MiB, NOBODY, PAGE, SLACK, NodeExporter, free_bw, main,
                       make_cgroup, own_memory_cgroup, probe, programs, promtool_check,
                       read_inside, smaps_rollup, smaps_vmas, start_daemon)


class MountTestCase(mvharness.MountTestCase):
    # per-pid series in metrics/: these tests compare them with /proc
    MOUNT_OPTIONS = ("metrics_pids",)


class TestKnownMemory(MountTestCase):
    """Each value moves by the amount the workload put in place."""

    VALUES = ("rss", "pss", "uss", "anon_private", "anon_shared", "file_private",
              "file_shared", "retained_freed", "swap", "vsz")

    def test_anonymous_private_then_madv_free(self):
        w = self.workload()
        before = self.mnt.values(w.pid, *self.VALUES)
        w.do(f"anon {32 * MiB}")
        touched = self.mnt.values(w.pid, *self.VALUES)
        for name in ("rss", "pss", "uss", "anon_private", "vsz"):
            self.assertMoved(before, touched, name, 32 * MiB)
        for name in ("anon_shared", "file_shared", "retained_freed"):
            self.assertMoved(before, touched, name, 0)
        w.do(f"madv_free {16 * MiB}")
        freed = self.mnt.values(w.pid, *self.VALUES)
        # MADV_FREE'd pages stay resident (and in rss) until memory pressure;
        # LazyFree may lag the madvise by the kernel's per-CPU batch.
        self.assertMoved(touched, freed, "retained_freed", 16 * MiB, SLACK + LAZYFREE_LAG)
        self.assertMoved(touched, freed, "rss", 0)
        self.assertMoved(touched, freed, "anon_private", 0)

    def test_shared_anonymous(self):
        w = self.workload()
        before = self.mnt.values(w.pid, *self.VALUES)
        w.do(f"shared_anon {16 * MiB}")
        after = self.mnt.values(w.pid, *self.VALUES)
        self.assertMoved(before, after, "anon_shared", 16 * MiB)
        self.assertMoved(before, after, "rss", 16 * MiB)
        self.assertMoved(before, after, "anon_private", 0)
        self.assertMoved(before, after, "file_shared", 0)

    def test_shared_file(self):
        path = self.data_file(16 * MiB)
        w = self.workload()
        before = self.mnt.values(w.pid, *self.VALUES)
        w.do(f"file_shared {path} {16 * MiB}")
        after = self.mnt.values(w.pid, *self.VALUES)
        self.assertMoved(before, after, "file_shared", 16 * MiB)
        self.assertMoved(before, after, "rss", 16 * MiB)
        self.assertMoved(before, after, "anon_private", 0)
        self.assertMoved(before, after, "file_private", 0)

    def test_private_file_copy_on_write(self):
        path = self.data_file(16 * MiB)
        w = self.workload()
        before = self.mnt.values(w.pid, *self.VALUES)
        w.do(f"file_private {path} {16 * MiB}")
        read = self.mnt.values(w.pid, *self.VALUES)
        self.assertMoved(before, read, "file_private", 16 * MiB)
        self.assertMoved(before, read, "anon_private", 0)
        w.do(f"cow {4 * MiB}")
        written = self.mnt.values(w.pid, *self.VALUES)
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
            pss, rss = self.mnt.value(pid, "pss"), self.mnt.value(pid, "rss")
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
        self.assertEqual(self.mnt.value(w.pid, "rss"), int(ps) * 1024)

    def test_pss_uss_swap_equal_smaps_rollup(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        w.do(f"madv_free {4 * MiB}")
        idle = self.workload()
        for pid in (w.pid, idle.pid):
            direct = smaps_rollup(pid)
            ours = self.mnt.values(pid, "pss", "uss", "swap", "retained_freed")
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
        for pid in [w.pid] + [int(p) for p in os.listdir(self.mnt) if p.isdigit()][:50]:
            try:
                parts = self.mnt.values(pid, "anon_private", "anon_shared", "file_private",
                                        "file_shared")
                rss = self.mnt.value(pid, "rss")
            except (FileNotFoundError, PermissionError):
                continue  # exited meanwhile, or protected from root too (an LSM)
            self.assertLessEqual(abs(sum(parts.values()) - rss), SLACK, f"pid {pid}: {parts} rss {rss}")
            checked += 1
        self.assertGreater(checked, 2)

    def test_summary_and_mappings_totals(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        with open(f"{self.mnt}/{w.pid}/summary") as f:
            summary = {line.split()[0]: line.split()[1] for line in f}
        parts = sum(int(summary[k]) for k in ("anon_private", "anon_shared", "file_private",
                                              "file_shared"))
        self.assertEqual(parts, int(summary["rss"]))
        with open(f"{self.mnt}/{w.pid}/mappings") as f:
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
        with open(f"{self.mnt}/processes") as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0].split(), ["pid", "user", "comm", "rss", "pss", "uss", "swap",
                                            "retained_freed", "swap_pss", "cgroup"])
        rows = {int(r.split()[0]): r.split() for r in lines[1:]}
        self.assertTrue(all(len(r) == 10 for r in rows.values()))
        row = rows[w.pid]
        self.assertEqual(row[1], "root")
        self.assertEqual(row[2], "workload")
        self.assertEqual(int(row[3]), self.mnt.value(w.pid, "rss"))
        self.assertLessEqual(abs(int(row[4]) - self.mnt.value(w.pid, "pss")), SLACK)
        self.assertEqual(int(row[5]), self.mnt.value(w.pid, "uss"))
        self.assertIn(1, rows)


class TestTree(MountTestCase):
    def test_readme_lists_every_file(self):
        with open(f"{self.mnt}/README") as f:
            readme = f.read()
        pid_files = sorted(os.listdir(f"{self.mnt}/{os.getpid()}"))
        self.assertGreater(len(pid_files), 10)
        for name in pid_files:
            slash = "/" if os.path.isdir(f"{self.mnt}/{os.getpid()}/{name}") else ""
            self.assertIn(f"<pid>/{name}{slash} ", readme)
        for name in os.listdir(self.mnt):
            if not name.isdigit():
                self.assertRegex(readme, rf"\n  {name}/? ")
        self.assertIn("THE 2x2", readme)

    def test_root_lists_processes(self):
        names = os.listdir(self.mnt)
        proc = {n for n in os.listdir("/proc") if n.isdigit()}
        ours = {n for n in names if n.isdigit()}
        self.assertIn(str(os.getpid()), ours)
        self.assertLessEqual(len(proc ^ ours), 10)  # processes born/gone between the listings
        self.assertTrue({"README", "self", "processes"} <= set(names))

    def test_self(self):
        self.assertEqual(os.readlink(f"{self.mnt}/self"), str(os.getpid()))
        seen = []
        t = threading.Thread(target=lambda: seen.append(os.readlink(f"{self.mnt}/self")))
        t.start()
        t.join()
        self.assertEqual(seen, [str(os.getpid())])
        # The shell's own builtin reads self: self is the shell.
        comm = f"{self.mnt}/self/comm"
        out = subprocess.run(["sh", "-c", f"read c < {comm}; echo $c $$ $(cat {comm})"],
                             capture_output=True, text=True, check=True).stdout.split()
        self.assertEqual(out[0], "sh")
        self.assertEqual(out[2], "cat")  # and cat's self is cat

    def test_cmdline_and_comm(self):
        w = self.workload()
        with open(f"{self.mnt}/{w.pid}/comm") as f:
            self.assertEqual(f.read(), "workload\n")
        with open(f"{self.mnt}/{w.pid}/cmdline") as f:
            self.assertEqual(f.read(), programs.workload + "\n")

    def test_owner_is_process_user(self):
        w = self.workload(NOBODY)
        st = os.stat(f"{self.mnt}/{w.pid}")
        self.assertEqual((st.st_uid, st.st_gid), (65534, 65534))
        self.assertEqual(os.stat(f"{self.mnt}/{w.pid}/pss").st_uid, 65534)
        self.assertEqual(os.stat(f"{self.mnt}/1").st_uid, 0)

    def test_unknown_paths_are_enoent(self):
        for path in ("nosuch", "12abc", "0", "-1", "0001", "99999999999", "4194305",
                     f"{os.getpid()}/nosuch", "self/nosuch", "README/x"):
            with self.assertRaises(OSError, msg=path) as cm:
                os.stat(f"{self.mnt}/{path}")
            self.assertIn(cm.exception.errno, (errno.ENOENT, errno.ENOTDIR), path)

    def test_read_only(self):
        pid = os.getpid()
        for flags in (os.O_WRONLY, os.O_RDWR):
            with self.assertRaises(OSError) as cm:
                os.open(f"{self.mnt}/{pid}/rss", flags)
            self.assertIn(cm.exception.errno, (errno.EACCES, errno.EROFS))
        for op in (lambda: os.mkdir(f"{self.mnt}/d"), lambda: os.unlink(f"{self.mnt}/{pid}/rss"),
                   lambda: os.open(f"{self.mnt}/new", os.O_CREAT | os.O_WRONLY),
                   lambda: os.rename(f"{self.mnt}/README", f"{self.mnt}/x"),
                   lambda: os.symlink("x", f"{self.mnt}/l"), lambda: os.rmdir(f"{self.mnt}/{pid}")):
            with self.assertRaises(OSError) as cm:
                op()
            self.assertIn(cm.exception.errno, (errno.EROFS, errno.EACCES, errno.EPERM))

    def test_content_fixed_at_open_and_partial_reads(self):
        w = self.workload()
        w.do(f"anon {4 * MiB}")
        fd = os.open(f"{self.mnt}/{w.pid}/mappings", os.O_RDONLY)
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
        with open(f"{self.mnt}/{w.pid}/mappings", "rb") as f:
            self.assertNotEqual(f.read(), whole)

    def test_ordinary_tools(self):
        path = f"{self.mnt}/{os.getpid()}/mappings"
        run = lambda *cmd: subprocess.run(cmd, capture_output=True, check=True).stdout
        text = run("cat", path)
        self.assertTrue(text.endswith(b"\n") and len(text) > 100)
        self.assertEqual(int(run("wc", "-c", path).split()[0]), len(text))
        self.assertEqual(run("head", "-c", "20", path), text[:20])
        self.assertEqual(run("tail", "-n", "1", path).split()[-1], b"total")
        with tempfile.TemporaryDirectory() as d:
            run("cp", f"{self.mnt}/README", d)
            with open(f"{d}/README") as f:
                self.assertIn("memviewfs", f.read())


class TestRaces(MountTestCase):
    def test_exited_process_is_enoent(self):
        w = self.workload()
        pid = w.pid
        self.assertGreater(self.mnt.value(pid, "rss"), 0)
        w.do("exit")
        w.proc.wait()
        for name in ("rss", "pss", "mappings", "summary", "anon_private"):
            with self.assertRaises(FileNotFoundError):
                open(f"{self.mnt}/{pid}/{name}").read()

    def test_processes_vanishing_mid_read(self):
        """Readers race processes that exit; every answer is a whole number
        or ENOENT/ESRCH, never a partial one, and the daemon survives."""
        outcomes = {"value": 0, "gone": 0}

        def read_all(pid):
            for name in ("pss", "anon_private", "rss", "mappings", "summary"):
                try:
                    with open(f"{self.mnt}/{pid}/{name}") as f:
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
        self.assertIsNone(self.mnt.daemon.poll(), "daemon died")


# Which /proc file each mounted file is derived from: an unprivileged reader
# must get exactly what /proc gives it for that source.
PROC_SOURCE = {
    "comm": "comm", "cmdline": "cmdline", "rss": "status", "vsz": "status",
    "pss": "smaps_rollup", "uss": "smaps_rollup", "swap": "smaps_rollup",
    "retained_freed": "smaps_rollup", "swap_pss": "smaps_rollup", "hugetlb": "status",
    "anon_private": "smaps", "anon_shared": "smaps",
    "file_private": "smaps", "file_shared": "smaps", "summary": "smaps", "mappings": "smaps",
}

class TestAccess(MountTestCase):
    def compare(self, pid):
        paths = []
        for name, source in PROC_SOURCE.items():
            paths += [f"{self.mnt}/{pid}/{name}", f"/proc/{pid}/{source}"]
        result = probe(NOBODY, paths)
        for name, source in PROC_SOURCE.items():
            self.assertEqual(result[f"{self.mnt}/{pid}/{name}"], result[f"/proc/{pid}/{source}"],
                             f"pid {pid}: {name} vs /proc/{source}")
        return result

    def test_unprivileged_reader_sees_what_proc_shows(self):
        root_w = self.workload()
        own_w = self.workload(NOBODY)
        nodump_w = self.workload(NOBODY)
        nodump_w.do("nodump")
        r = self.compare(root_w.pid)
        self.assertEqual(r[f"{self.mnt}/{root_w.pid}/pss"], errno.EACCES)
        self.assertEqual(r[f"{self.mnt}/{root_w.pid}/mappings"], errno.EACCES)
        self.assertEqual(r[f"{self.mnt}/{root_w.pid}/rss"], "ok")
        r = self.compare(own_w.pid)
        self.assertEqual(r[f"{self.mnt}/{own_w.pid}/mappings"], "ok")
        r = self.compare(nodump_w.pid)
        self.assertEqual(r[f"{self.mnt}/{nodump_w.pid}/pss"], errno.EACCES)
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
        out = subprocess.run([*NOBODY, sys.executable, "-c", script, f"{self.mnt}/{own_w.pid}/pss",
                              f"/proc/{own_w.pid}/smaps_rollup", f"{self.mnt}/processes"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        ours, direct = map(int, out[0].split())
        self.assertLessEqual(abs(ours - direct), SLACK)
        out[0] = str(ours)
        rows = {int(r.split()[0]): r.split() for r in out[2:]}
        self.assertEqual(rows[1][4], "-")  # init's pss is not nobody's to see
        self.assertLessEqual(abs(int(rows[own_w.pid][4]) - int(out[0])), SLACK)


class TestSystem(MountTestCase):
    def test_values_equal_free(self):
        """Read between two identical runs of free(1), every value equals it."""
        for _ in range(50):
            first = free_bw()
            ours = {name: self.mnt.value("system", name) for name in first}
            buff_cache = self.mnt.value("system", "buff_cache")  # inside the same window
            if free_bw() == first:
                self.assertEqual(ours, first)
                self.assertEqual(buff_cache, first["buffers"] + first["cache"])
                return
        self.fail("memory never stood still for two runs of free(1)")

    def test_summary_is_free_w(self):
        for _ in range(50):
            first = free_bw()
            with open(f"{self.mnt}/system/summary") as f:
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
        with open(f"{self.mnt}/system/available_breakdown") as f:
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
        with open(f"{self.mnt}/system/watermarks") as f:
            lines = f.read().splitlines()
        header = lines[0].split()
        rows = [dict(zip(header, l.split())) for l in lines[1:]]
        self.assertEqual([int(r["low"]) for r in rows[:-1]], lows)
        self.assertEqual(rows[-1]["node"], "all")
        for col in ("min", "low", "high", "managed", "reserve"):
            self.assertEqual(int(rows[-1][col]), sum(int(r[col]) for r in rows[:-1]))


class TestCgroup(MountTestCase):
    """A workload with known memory in a child cgroup with a limit, seen from
    inside (a reader in the cgroup) and from outside."""

    LIMIT = 256 * MiB

    def setUp(self):
        cgroup = own_memory_cgroup()
        self.own, self.version = cgroup.dir, cgroup.version
        self.child = make_cgroup(self, self.own, f"memviewfs-test-{os.getpid()}", self.version,
                                 self.LIMIT)
        self.grandchild = make_cgroup(self, self.child, "inner", self.version)

    def test_limited_cgroup_inside_and_outside(self):
        w = self.workload()
        with open(os.path.join(self.grandchild, "cgroup.procs"), "w") as f:
            f.write(str(w.pid))
        w.do(f"anon {32 * MiB}")
        seen = read_inside(self.mnt, self.grandchild, ["path", "limit", "usage", "anon",
                                                       "available", "reclaimable", "procs"])
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
        with open(f"{self.mnt}/cgroup/path") as f:
            self.assertNotIn("memviewfs-test", f.read())
        with open(f"{self.mnt}/{w.pid}/cgroup") as f:
            self.assertTrue(f.read().strip().endswith(f"/memviewfs-test-{os.getpid()}/inner"))
        # usage read directly from the kernel, outside, moves with the workload
        usage_file = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        with open(os.path.join(self.grandchild, usage_file)) as f:
            self.assertGreaterEqual(int(f.read()), 32 * MiB)

    def test_no_limit_is_max(self):
        # Our own cgroup here may or may not be limited; a fresh sibling
        # hierarchy under it is limited only by what is above it.
        seen = read_inside(self.mnt, self.grandchild, ["limit"])
        self.assertEqual(int(seen["limit"]), self.LIMIT)
        limit_file = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        with open(os.path.join(self.child, limit_file), "w") as f:
            f.write("-1" if self.version == 1 else "max")
        seen = read_inside(self.mnt, self.grandchild, ["limit_raw"])
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
    PROM = property(lambda self: f"{self.mnt}/metrics/memviewfs.prom")

    def test_promtool_accepts(self):
        with open(self.PROM, "rb") as f:
            text = f.read()
        code, said = promtool_check(text)
        self.assertEqual(code, 0, said)

    def test_known_process_values(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        with open(self.PROM) as f:
            text = f.read()
        samples = dict(re.findall(rf'^(memviewfs_process_\w+)\{{pid="{w.pid}",comm="workload"\}} (\d+)$',
                                  text, re.M))
        self.assertEqual(int(samples["memviewfs_process_rss_bytes"]), self.mnt.value(w.pid, "rss"))
        self.assertEqual(int(samples["memviewfs_process_uss_bytes"]), self.mnt.value(w.pid, "uss"))
        self.assertEqual(int(samples["memviewfs_process_anon_private_bytes"]),
                         self.mnt.value(w.pid, "anon_private"))
        self.assertRegex(text, r"(?m)^memviewfs_system_total_bytes \d+$")

    def test_node_exporter_serves_the_textfile(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        exporter = NodeExporter(f"{self.mnt}/metrics")
        try:
            body = exporter.scrape("memviewfs_process_rss_bytes")
            m = re.search(rf'^memviewfs_process_rss_bytes\{{comm="workload",pid="{w.pid}"\}} (\S+)$',
                          body, re.M)
            self.assertIsNotNone(m, "no sample for the workload in node-exporter's output")
            self.assertLessEqual(abs(float(m.group(1)) - self.mnt.value(w.pid, "rss")), SLACK)
            self.assertRegex(body, r"(?m)^node_textfile_scrape_error 0$")
        finally:
            exporter.close()


class TestDaemon(unittest.TestCase):
    def test_sigterm_and_sigint_unmount_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            d = tempfile.mkdtemp(prefix="memviewfs-sig-")
            try:
                proc = start_daemon(programs.memviewfs, d, "-o", "metrics_pids")
                self.assertTrue(os.path.exists(f"{d}/self/rss"))
                proc.send_signal(sig)
                self.assertEqual(proc.wait(timeout=10), 0)
                self.assertFalse(os.path.ismount(d))
            finally:
                os.rmdir(d)

    def test_daemonizes_by_default_and_mount_helper(self):
        d = tempfile.mkdtemp(prefix="memviewfs-helper-")
        env = dict(os.environ, PATH=os.path.dirname(programs.memviewfs) + ":" + os.environ["PATH"])
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
        out = subprocess.run([programs.memviewfs, "--version"], capture_output=True, text=True,
                             check=True)
        self.assertIn("memviewfs", out.stdout)
        out = subprocess.run([programs.memviewfs, "--help"], capture_output=True, text=True,
                             check=True)
        self.assertIn("MOUNTPOINT", out.stdout)
        self.assertIn("allow_other", out.stdout + out.stderr)
        bad = subprocess.run([programs.memviewfs, "-o", "no_such_option", "/tmp"],
                             capture_output=True)
        self.assertNotEqual(bad.returncode, 0)


if __name__ == "__main__":
    main("memviewfs", "workload")
