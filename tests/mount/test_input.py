#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests for numbers that must be exact and input that must not break
a reader: exact PSS over many small shared mappings, swap_pss, hugetlb,
summary's vsz, cmdline and comm with awkward bytes, Prometheus labels, and
the daemon refusing mountpoints it cannot own.

Run by meson (suite 'mount'): test_input.py MEMVIEWFS WORKLOAD
"""
import errno
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

import test_mount as tm
from test_mount import MiB, PAGE, SLACK, rollup, smaps_vmas, value

MNT = None
DAEMON = None


def setUpModule():
    global MNT, DAEMON
    MNT = tempfile.mkdtemp(prefix="memviewfs-input-")
    os.chmod(MNT, 0o755)
    DAEMON = tm.start_daemon(MNT)
    tm.MNT = MNT  # value() and friends read through this mount


def tearDownModule():
    code = tm.stop_daemon(DAEMON, MNT)
    os.rmdir(MNT)
    assert code == 0, f"daemon exited {code}: {DAEMON.stderr.read()}"


def read(path):
    with open(f"{MNT}/{path}", "rb") as f:
        return f.read().decode("utf-8", "surrogateescape")


def summary(pid):
    return {l.split()[0]: l.split()[1] for l in read(f"{pid}/summary").splitlines()}


def mappings_total(pid):
    lines = read(f"{pid}/mappings").splitlines()
    header = lines[0].split()
    rows = [dict(zip(header, l.split())) for l in lines[1:]]
    return rows[:-1], rows[-1]


def processes():
    lines = read("processes").splitlines()
    header = lines[0].split()
    return header, {int(l.split()[0]): l.split() for l in lines[1:]}


def metric(text, name, pid):
    m = re.search(rf'^memviewfs_process_{name}\{{pid="{pid}",comm="[^"]*"\}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else None


class InputTestCase(tm.MountTestCase):
    pass


class TestExactPss(InputTestCase):
    MAPPINGS = 5000

    def test_many_one_page_shared_mappings(self):
        """Each one-page mapping shared by 3 processes has a Pss of 1365.33
        bytes, which smaps prints as 1 kB: summed per mapping, pss is 25% low.
        Every pss of the tree must be smaps_rollup's."""
        w = self.workload()
        w.do(f"pages {self.MAPPINGS}")
        w.do("fork 2")
        time.sleep(0.2)
        per_mapping = sum(v.get("Pss", 0) for _, _, v in smaps_vmas(w.pid))
        exact = rollup(w.pid)["Pss"]
        # the rounding this test is about: measurably low (~1.7 MB here)
        self.assertGreater(exact - per_mapping, self.MAPPINGS * 256)
        prom = read("metrics/memviewfs.prom")
        _, procs = processes()
        rows, total = mappings_total(w.pid)
        ours = {
            "pss": value(w.pid, "pss"),
            "summary": int(summary(w.pid)["pss"]),
            "mappings total": int(total["Pss"]),
            "processes": int(procs[w.pid][4]),
            "metrics": metric(prom, "pss_bytes", w.pid),
        }
        exact = rollup(w.pid)["Pss"]
        for where, pss in ours.items():
            self.assertLessEqual(abs(pss - exact), SLACK,
                                 f"{where}: {pss}, smaps_rollup {exact}, per-mapping sum {per_mapping}")
        # rows keep the kernel's per-mapping rounding, and say so (README)
        self.assertLess(sum(int(r["Pss"]) for r in rows), int(total["Pss"]))
        self.assertIn("EXACT PSS", read("README"))


class TestSwapPss(InputTestCase):
    SWAPFILE = "/var/tmp/memviewfs-test-swap"

    def ensure_swap(self):
        with open("/proc/meminfo") as f:
            if int(re.search(r"SwapTotal:\s+(\d+)", f.read()).group(1)) > 0:
                return
        # No swap on this machine: a 64 MiB swap file for the length of the test.
        try:
            subprocess.run(["fallocate", "-l", str(64 * MiB), self.SWAPFILE], check=True)
            os.chmod(self.SWAPFILE, 0o600)
            subprocess.run(["mkswap", self.SWAPFILE], check=True, capture_output=True)
            subprocess.run(["swapon", self.SWAPFILE], check=True, capture_output=True)
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            if os.path.exists(self.SWAPFILE):
                os.unlink(self.SWAPFILE)
            self.skipTest(f"no swap and cannot add a swap file: {e}")
        self.addCleanup(os.unlink, self.SWAPFILE)
        self.addCleanup(subprocess.run, ["swapoff", self.SWAPFILE], check=True)

    def test_swap_shared_after_fork(self):
        """A region paged out to swap, then shared by fork among 4 processes:
        swap counts it in full in each, swap_pss a quarter in each."""
        self.ensure_swap()
        size, n_children = 8 * MiB, 3
        w = self.workload()  # cleaned up (killed) before the swap file goes
        w.do(f"anon {size}")
        w.do("pageout")
        w.do("pageout")  # pages still in a per-CPU LRU batch the first time
        family = [w.pid] + [int(p) for p in w.do(f"fork {n_children}")]
        time.sleep(0.2)
        prom = read("metrics/memviewfs.prom")
        header, procs = processes()
        self.assertEqual(header[8], "swap_pss")
        for pid in family:
            direct = rollup(pid)
            # the kernel may keep a few pages it could not isolate this time
            self.assertGreaterEqual(direct["Swap"], size // 2, "MADV_PAGEOUT did not swap")
            swap_pss = value(pid, "swap_pss")
            self.assertEqual(swap_pss, direct["SwapPss"])
            # every swapped page is shared by the n + 1 processes
            self.assertLessEqual(abs(swap_pss - direct["Swap"] // (n_children + 1)), PAGE)
            self.assertEqual(value(pid, "swap"), direct["Swap"])
            self.assertEqual(int(summary(pid)["swap_pss"]), direct["SwapPss"])
            self.assertEqual(int(procs[pid][8]), direct["SwapPss"])
            self.assertEqual(metric(prom, "swap_pss_bytes", pid), direct["SwapPss"])


class TestHugetlb(InputTestCase):
    NR = "/proc/sys/vm/nr_hugepages"

    def test_map_hugetlb(self):
        with open("/proc/meminfo") as f:
            huge = int(re.search(r"Hugepagesize:\s+(\d+)", f.read()).group(1)) * 1024
        with open(self.NR) as f:
            old = int(f.read())
        with open(self.NR, "w") as f:
            f.write(str(old + 2))
        self.addCleanup(lambda: open(self.NR, "w").write(str(old)))
        with open(self.NR) as f:
            if int(f.read()) < old + 2:
                self.skipTest("could not reserve 2 huge pages")
        w = self.workload()
        before = {n: value(w.pid, n) for n in ("hugetlb", "rss", "anon_private")}
        self.assertEqual(before["hugetlb"], 0)
        w.do(f"hugetlb {2 * huge}")
        with open(f"/proc/{w.pid}/status") as f:
            status = int(re.search(r"HugetlbPages:\s+(\d+) kB", f.read()).group(1)) * 1024
        self.assertEqual(status, 2 * huge)
        self.assertEqual(value(w.pid, "hugetlb"), 2 * huge)
        # in none of the 2x2, not in rss
        self.assertLessEqual(abs(value(w.pid, "rss") - before["rss"]), SLACK)
        self.assertLessEqual(abs(value(w.pid, "anon_private") - before["anon_private"]), SLACK)
        self.assertEqual(int(summary(w.pid)["hugetlb"]), 2 * huge)
        self.assertEqual(metric(read("metrics/memviewfs.prom"), "hugetlb_bytes", w.pid), 2 * huge)
        w.close()  # before the cleanup gives the huge pages back


class TestSmallThings(InputTestCase):
    def test_summary_vsz_is_vmsize(self):
        """smaps lists [vsyscall] (4096 bytes), which VmSize does not count."""
        w = self.workload()
        with open(f"/proc/{w.pid}/status") as f:
            vmsize = int(re.search(r"VmSize:\s+(\d+) kB", f.read()).group(1)) * 1024
        self.assertEqual(value(w.pid, "vsz"), vmsize)
        self.assertEqual(int(summary(w.pid)["vsz"]), vmsize)

    def test_cmdline_is_one_line(self):
        p = subprocess.Popen([tm.WORKLOAD, "one\ntwo", "back\\slash"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stdin.close)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        p.stdout.readline()
        self.assertEqual(read(f"{p.pid}/cmdline"),
                         f"{tm.WORKLOAD} one\\012two back\\134slash\n")

    def test_empty_comm_keeps_every_column(self):
        w = self.workload()
        w.do("comm")
        self.assertEqual(read(f"{w.pid}/comm"), "\n")
        header, procs = processes()
        self.assertTrue(all(len(r) == len(header) for r in procs.values()))
        self.assertEqual(procs[w.pid][2], "-")
        self.assertEqual(int(procs[w.pid][3]), value(w.pid, "rss"))

    def test_comm_with_blanks_is_one_cell(self):
        w = self.workload()
        w.do("comm " + b"a b\tc".hex())
        _, procs = processes()
        self.assertEqual(procs[w.pid][2], "a\\040b\\011c")

    def test_prometheus_labels_survive_invalid_utf8(self):
        """A name of invalid UTF-8 (\\xff), one cut mid-character at 15 bytes
        by the kernel, and quotes/backslashes: promtool accepts the file."""
        names = [b"\xff\xfe", ("é" * 8).encode(), b'q"uo\\te']
        workloads = []
        for name in names:
            w = self.workload()
            w.do("comm " + name.hex())
            workloads.append(w)
        with open(f"{MNT}/metrics/memviewfs.prom", "rb") as f:
            text = f.read()
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        decoded = text.decode("utf-8")  # raises on invalid UTF-8
        for w, name in zip(workloads, names):
            m = re.search(rf'^memviewfs_process_rss_bytes\{{pid="{w.pid}",comm="(.*)"\}} \d+$',
                          decoded, re.M)
            self.assertIsNotNone(m, name)
            expected = name[:15].decode("utf-8", "replace").replace("\\", "\\\\").replace('"', '\\"')
            self.assertEqual(m.group(1), expected)


class TestMountpoint(unittest.TestCase):
    def test_refuses_a_mountpoint_that_holds_memviewfs(self):
        d = tempfile.mkdtemp(prefix="memviewfs-twice-")
        first = tm.start_daemon(d)
        try:
            second = subprocess.run([tm.MEMVIEWFS, "-f", d], capture_output=True, text=True,
                                    timeout=20)
            self.assertNotEqual(second.returncode, 0)
            self.assertIn("already holds a memviewfs mount", second.stderr)
            with open("/proc/self/mountinfo") as f:
                mounts = [l for l in f if l.split()[4] == d]
            self.assertEqual(len(mounts), 1, mounts)
            self.assertTrue(os.path.exists(f"{d}/self/rss"))  # the first still serves
        finally:
            self.assertEqual(tm.stop_daemon(first, d), 0)
            self.assertFalse(os.path.ismount(d))
            os.rmdir(d)

    def test_refuses_a_regular_file(self):
        fd, path = tempfile.mkstemp(prefix="memviewfs-file-")
        os.close(fd)
        try:
            r = subprocess.run([tm.MEMVIEWFS, "-f", path], capture_output=True, text=True,
                               timeout=20)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("not a directory", r.stderr)
            self.assertFalse(os.path.ismount(path))
        finally:
            if os.path.ismount(path):
                subprocess.run(["umount", path])
            os.unlink(path)


if __name__ == "__main__":
    tm.MEMVIEWFS, tm.WORKLOAD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[3:]])
