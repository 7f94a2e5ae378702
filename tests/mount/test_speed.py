#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests for reading fast and in bounded memory: a process with a huge
address space (60,000 mappings) read through `summary` and `mappings` agrees
with its smaps and costs the daemon memory bounded by its distinct paths,
not by the size of its smaps; every read is fresh; partial, odd-sized and
concurrent reads see one whole text; a process exiting mid-read.

Run by meson (suite 'mount'): test_speed.py MEMVIEWFS WORKLOAD
"""
import os
import subprocess
import threading
import time

from mvharness import (MiB, PAGE, SLACK, MountTestCase, Workload, main, programs, smaps_vmas,
                       status_bytes)
from mvharness.tables import PSS_COLUMN, mapping_rows, without_pss

HUGE_MAPPINGS = 60000
# What 8 concurrent readers of a huge process's `mappings` may add to the
# daemon's RSS (issue target; the whole smaps text is ~60 MB per reader).
READERS_BOUND = 16 * MiB


class SpeedTestCase(MountTestCase):
    # the tree as test_mount.py mounts it
    MOUNT_OPTIONS = ("metrics_pids",)


class TestHugeAddressSpace(SpeedTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.big = Workload(programs.workload)
        cls.big.do(f"pages {HUGE_MAPPINGS}")

    @classmethod
    def tearDownClass(cls):
        cls.big.close()

    def test_summary_and_mappings_agree_with_smaps(self):
        pid = self.big.pid
        direct = smaps_vmas(pid)
        self.assertGreater(len(direct), HUGE_MAPPINGS)
        rows = mapping_rows(self.mnt.read(f"{pid}/mappings"))
        total = rows["total"]
        # columns: Private_Clean Private_Dirty Shared_Clean Shared_Dirty Rss Pss Swap LazyFree VSZ
        self.assertEqual(total[4], sum(v.get("Rss", 0) for _, _, v in direct))
        self.assertEqual(total[8], sum(e - s for s, e, _ in direct))
        self.assertEqual(total[1], sum(v.get("Private_Dirty", 0) for _, _, v in direct))
        summary = {l.split()[0]: int(l.split()[1])
                   for l in self.mnt.read(f"{pid}/summary").splitlines()
                   if len(l.split()) >= 2 and l.split()[1].isdigit()}
        self.assertEqual(summary["rss"], total[4])
        # every one of the pages is a private dirty anonymous page
        self.assertGreaterEqual(summary["anon_private"], HUGE_MAPPINGS * PAGE)

    def test_daemon_memory_bounded_under_concurrent_readers(self):
        with open(f"/proc/{self.mnt.daemon.pid}/maps") as f:
            if "libasan" in f.read():
                # ASan keeps freed memory in quarantine (256 MB) instead of
                # reusing it: the daemon's RSS then measures ASan, not us.
                self.skipTest("daemon built with AddressSanitizer")
        pid = self.big.pid
        self.mnt.read(f"{pid}/mappings")  # the daemon's steady state (threads, arenas)
        before = status_bytes(self.mnt.daemon.pid, "VmRSS")
        peak = before
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, status_bytes(self.mnt.daemon.pid, "VmRSS"))
                time.sleep(0.001)

        sampler = threading.Thread(target=sample)
        sampler.start()
        readers = [subprocess.Popen(["cat", f"{self.mnt}/{pid}/mappings"], stdout=subprocess.PIPE)
                   for _ in range(8)]
        outputs = [r.communicate()[0] for r in readers]
        done.set()
        sampler.join()
        self.assertTrue(all(r.returncode == 0 for r in readers))
        for out in outputs:
            self.assertIn(b"total", out)
        self.assertLess(peak - before, READERS_BOUND,
                        f"daemon RSS {before} -> peak {peak} bytes under 8 readers")


class TestReads(SpeedTestCase):
    def test_fresh_at_every_read(self):
        w = self.workload()
        before = self.mnt.value(w.pid, "rss")
        w.do(f"anon {4 * MiB}")
        time.sleep(0.001)
        after = self.mnt.value(w.pid, "rss")
        self.assertGreaterEqual(after - before, 4 * MiB - SLACK)
        w.do(f"anon {4 * MiB}")
        time.sleep(0.001)
        self.assertGreaterEqual(self.mnt.value(w.pid, "rss") - after, 4 * MiB - SLACK)

    def test_partial_and_odd_sized_reads_see_one_text(self):
        w = self.workload()
        w.do(f"pages 300")
        path = f"{self.mnt}/{w.pid}/mappings"
        whole = self.mnt.read(path).encode()
        for size in (1, 5, 7, 4095, 4097):
            with open(path, "rb", buffering=0) as f:
                parts = []
                while chunk := f.read(size):
                    parts.append(chunk)
            self.assertEqual(without_pss(b"".join(parts)), without_pss(whole),
                             f"reads of {size} bytes")
        with open(path, "rb", buffering=0) as f:
            f.seek(10)
            self.assertEqual(f.read(20), whole[10:30])
            self.assertEqual(f.seek(0, os.SEEK_SET), 0)
            self.assertEqual(without_pss(f.read()), without_pss(whole))
        for cmd in (["head", "-c", "37", path], ["dd", f"if={path}", "bs=5", "status=none"],
                    ["tail", "-n", "3", path], ["wc", "-c", path]):
            out = subprocess.run(cmd, capture_output=True, check=True).stdout
            expected = {"head": whole[:37], "dd": whole,
                        "tail": b"".join(whole.splitlines(keepends=True)[-3:]),
                        "wc": f"{len(whole)} {path}\n".encode()}[cmd[0]]
            if cmd[0] in ("dd", "tail"):
                out, expected = without_pss(out), without_pss(expected)
            self.assertEqual(out, expected, cmd)

    def test_concurrent_readers_of_one_file(self):
        w = self.workload()
        w.do("pages 2000")
        path = f"{self.mnt}/{w.pid}/mappings"
        expected = mapping_rows(self.mnt.read(path))["total"]
        del expected[PSS_COLUMN]
        results = []

        def reader():
            for _ in range(5):
                with open(path, "rb", buffering=0) as f:
                    parts = []
                    while chunk := f.read(777):
                        parts.append(chunk)
                total = mapping_rows(b"".join(parts).decode())["total"]
                del total[PSS_COLUMN]
                results.append(total)

        threads = [threading.Thread(target=reader) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 40)
        for total in results:
            self.assertEqual(total, expected)

    def test_process_exiting_mid_read(self):
        w = self.workload()
        w.do("pages 500")
        path = f"{self.mnt}/{w.pid}/mappings"
        with open(path, "rb", buffering=0) as f:
            head = f.read(100)
            w.proc.kill()
            w.proc.wait()
            rest = f.read()
        text = (head + rest).decode()
        # the text rendered at open(), whole, though the process has gone
        self.assertEqual(text.splitlines()[-1].split()[-1], "total")
        self.assertGreaterEqual(mapping_rows(text)["total"][8], 500 * PAGE)
        with self.assertRaises(FileNotFoundError):
            self.mnt.read(path)


if __name__ == "__main__":
    main("memviewfs", "workload")
