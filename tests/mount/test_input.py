#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests for numbers that must be exact and input that must not break
a reader: exact PSS over many small shared mappings, swap_pss, hugetlb,
summary's vsz, cmdline and comm with awkward bytes, Prometheus labels, and
the daemon refusing mountpoints it cannot own.

Run by meson (suite 'mount'): test_input.py MEMVIEWFS WORKLOAD
"""
import os
import re
import subprocess
import tempfile
import time
import unittest

from mvharness import (MiB, PAGE, SLACK, MountTestCase, main, meminfo_bytes, metric, programs,
                       promtool_check, smaps_rollup, smaps_vmas, start_daemon, status_bytes,
                       stop_daemon)


class InputTestCase(MountTestCase):
    # per-pid series in metrics/: these tests compare them with /proc
    MOUNT_OPTIONS = ("metrics_pids",)


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
        exact = smaps_rollup(w.pid)["Pss"]
        # the rounding this test is about: measurably low (~1.7 MB here)
        self.assertGreater(exact - per_mapping, self.MAPPINGS * 256)
        prom = self.mnt.read("metrics/memviewfs.prom")
        _, procs = self.mnt.processes()
        _, rows = self.mnt.table(f"{w.pid}/mappings")
        rows, total = rows[:-1], rows[-1]
        ours = {
            "pss": self.mnt.value(w.pid, "pss"),
            "summary": int(self.mnt.summary(w.pid)["pss"]),
            "mappings total": int(total["Pss"]),
            "processes": int(procs[w.pid][4]),
            "metrics": metric(prom, "pss_bytes", w.pid),
        }
        exact = smaps_rollup(w.pid)["Pss"]
        for where, pss in ours.items():
            self.assertLessEqual(abs(pss - exact), SLACK,
                                 f"{where}: {pss}, smaps_rollup {exact}, per-mapping sum {per_mapping}")
        # rows keep the kernel's per-mapping rounding, and say so (README)
        self.assertLess(sum(int(r["Pss"]) for r in rows), int(total["Pss"]))
        self.assertIn("EXACT PSS", self.mnt.read("README"))


class TestSwapPss(InputTestCase):
    SWAPFILE = "/var/tmp/memviewfs-test-swap"

    def ensure_swap(self):
        if meminfo_bytes("SwapTotal") > 0:
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
        prom = self.mnt.read("metrics/memviewfs.prom")
        header, procs = self.mnt.processes()
        self.assertEqual(header[8], "swap_pss")
        for pid in family:
            direct = smaps_rollup(pid)
            # the kernel may keep a few pages it could not isolate this time
            self.assertGreaterEqual(direct["Swap"], size // 2, "MADV_PAGEOUT did not swap")
            swap_pss = self.mnt.value(pid, "swap_pss")
            self.assertEqual(swap_pss, direct["SwapPss"])
            # every swapped page is shared by the n + 1 processes
            self.assertLessEqual(abs(swap_pss - direct["Swap"] // (n_children + 1)), PAGE)
            self.assertEqual(self.mnt.value(pid, "swap"), direct["Swap"])
            self.assertEqual(int(self.mnt.summary(pid)["swap_pss"]), direct["SwapPss"])
            self.assertEqual(int(procs[pid][8]), direct["SwapPss"])
            self.assertEqual(metric(prom, "swap_pss_bytes", pid), direct["SwapPss"])


class TestHugetlb(InputTestCase):
    NR = "/proc/sys/vm/nr_hugepages"

    def test_map_hugetlb(self):
        huge = meminfo_bytes("Hugepagesize")
        with open(self.NR) as f:
            old = int(f.read())
        with open(self.NR, "w") as f:
            f.write(str(old + 2))
        self.addCleanup(lambda: open(self.NR, "w").write(str(old)))
        with open(self.NR) as f:
            if int(f.read()) < old + 2:
                self.skipTest("could not reserve 2 huge pages")
        w = self.workload()
        before = {n: self.mnt.value(w.pid, n) for n in ("hugetlb", "rss", "anon_private")}
        self.assertEqual(before["hugetlb"], 0)
        w.do(f"hugetlb {2 * huge}")
        status = status_bytes(w.pid, "HugetlbPages")
        self.assertEqual(status, 2 * huge)
        self.assertEqual(self.mnt.value(w.pid, "hugetlb"), 2 * huge)
        # in none of the 2x2, not in rss
        self.assertLessEqual(abs(self.mnt.value(w.pid, "rss") - before["rss"]), SLACK)
        self.assertLessEqual(abs(self.mnt.value(w.pid, "anon_private") - before["anon_private"]),
                             SLACK)
        self.assertEqual(int(self.mnt.summary(w.pid)["hugetlb"]), 2 * huge)
        self.assertEqual(metric(self.mnt.read(), "hugetlb_bytes", w.pid), 2 * huge)
        w.close()  # before the cleanup gives the huge pages back


class TestSmallThings(InputTestCase):
    def test_summary_vsz_is_vmsize(self):
        """smaps lists [vsyscall] (4096 bytes), which VmSize does not count."""
        w = self.workload()
        vmsize = status_bytes(w.pid, "VmSize")
        self.assertEqual(self.mnt.value(w.pid, "vsz"), vmsize)
        self.assertEqual(int(self.mnt.summary(w.pid)["vsz"]), vmsize)

    def test_cmdline_is_one_line(self):
        p = subprocess.Popen([programs.workload, "one\ntwo", "back\\slash"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stdin.close)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        p.stdout.readline()
        self.assertEqual(self.mnt.read(f"{p.pid}/cmdline"),
                         f"{programs.workload} one\\012two back\\134slash\n")

    def test_empty_comm_keeps_every_column(self):
        w = self.workload()
        w.do("comm")
        self.assertEqual(self.mnt.read(f"{w.pid}/comm"), "\n")
        header, procs = self.mnt.processes()
        self.assertTrue(all(len(r) == len(header) for r in procs.values()))
        self.assertEqual(procs[w.pid][2], "-")
        self.assertEqual(int(procs[w.pid][3]), self.mnt.value(w.pid, "rss"))

    def test_comm_with_blanks_is_one_cell(self):
        w = self.workload()
        w.do("comm " + b"a b\tc".hex())
        _, procs = self.mnt.processes()
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
        with open(f"{self.mnt}/metrics/memviewfs.prom", "rb") as f:
            text = f.read()
        code, said = promtool_check(text)
        self.assertEqual(code, 0, said)
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
        first = start_daemon(programs.memviewfs, d, "-o", "metrics_pids")
        try:
            second = subprocess.run([programs.memviewfs, "-f", d], capture_output=True, text=True,
                                    timeout=20)
            self.assertNotEqual(second.returncode, 0)
            self.assertIn("already holds a memviewfs mount", second.stderr)
            with open("/proc/self/mountinfo") as f:
                mounts = [l for l in f if l.split()[4] == d]
            self.assertEqual(len(mounts), 1, mounts)
            self.assertTrue(os.path.exists(f"{d}/self/rss"))  # the first still serves
        finally:
            self.assertEqual(stop_daemon(first, d), 0)
            self.assertFalse(os.path.ismount(d))
            os.rmdir(d)

    def test_refuses_a_regular_file(self):
        fd, path = tempfile.mkstemp(prefix="memviewfs-file-")
        os.close(fd)
        try:
            r = subprocess.run([programs.memviewfs, "-f", path], capture_output=True, text=True,
                               timeout=20)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("not a directory", r.stderr)
            self.assertFalse(os.path.ismount(path))
        finally:
            if os.path.ismount(path):
                subprocess.run(["umount", path])
            os.unlink(path)


if __name__ == "__main__":
    main("memviewfs", "workload")
