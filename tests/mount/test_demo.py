#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests of demo/: the daemon's own spanalloc heap, driven through
demo/ctl. Every command must move the daemon's rss and retained_freed (the
kernel's view, read through the mount and /proc) and the allocator's ladder
(the segment the daemon publishes, read with spanalloc-stat through /proc)
by the amount the command implies; malformed, oversized and foreign writes
are refused and change nothing.

Run by meson (suite 'mount'): test_demo.py MEMVIEWFS SPANALLOC_STAT
"""
import errno
import os
import re
import subprocess
import sys
import tempfile
import unittest

from mvharness import (NOBODY, MiB, MountTestCase, main, programs, smaps_rollup, start_daemon,
                       stop_daemon)

KiB = 1024
# The daemon's own glibc bookkeeping of the demo (16 bytes per object), FUSE
# buffers, the statistics segment's pages and the heap's growth granule
# (1 MiB, partly untouched): the slack between the kernel's and the
# allocator's numbers for one command. The allocator's numbers are exact.
SLACK = 2 * MiB
DEMO_MAX = 128 * MiB


class DemoMount(MountTestCase):
    MOUNT_OPTIONS = (f"demo_max={DEMO_MAX // MiB}M",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pid = cls.mnt.daemon.pid

    def ctl(self, command):
        fd = os.open(f"{self.mnt}/demo/ctl", os.O_WRONLY)
        try:
            self.assertEqual(os.write(fd, command.encode() + b"\n"), len(command) + 1)
        finally:
            os.close(fd)

    def status(self):
        out = {}
        with open(f"{self.mnt}/demo/status") as f:
            for line in f:
                name, _, rest = line.rstrip("\n").partition(" ")
                out[name] = int(rest) if rest.isdigit() else rest
        return out

    def ladder(self):
        out = subprocess.run([programs.spanalloc_stat, str(self.pid)], capture_output=True,
                             text=True, check=True).stdout
        values = {}
        for line in out.splitlines():
            m = re.fullmatch(r"(\w+)\s+(\d+)", line)
            if m:
                values[m.group(1)] = int(m.group(2))
        return values

    def kernel(self):
        """The daemon's rss and retained_freed through the mount, LazyFree
        and Rss from smaps_rollup directly (they must agree)."""
        rollup = smaps_rollup(self.pid)
        retained = self.mnt.value(self.pid, "retained_freed")
        self.assertEqual(retained, rollup["LazyFree"])
        return {"rss": rollup["Rss"], "retained_freed": retained}

    def snapshot(self):
        return {**self.kernel(), **self.ladder(), "status": self.status()}

    def assertNear(self, actual, expected, slack, what):
        self.assertLessEqual(abs(actual - expected), slack,
                             f"{what}: {actual} vs expected {expected} (+-{slack})")


class TestDemoCommands(DemoMount):
    def test_walkthrough_moves_kernel_and_allocator_numbers(self):
        n, size = 32768, 1024
        self.ctl("reset")
        s0 = self.snapshot()
        self.assertEqual(s0["heap_objects"], 0)
        self.assertEqual(s0["heap_alloc"], 0)

        # alloc: the ladder by exactly n objects of 1 KiB, rss by as much
        self.ctl(f"alloc {n} {size}")
        s1 = self.snapshot()
        self.assertEqual(s1["heap_objects"], n)
        self.assertEqual(s1["heap_alloc"], n * size)
        self.assertEqual(s1["mallocs"] - s0["mallocs"], n)
        self.assertEqual(s1["status"]["objects"], n)
        self.assertEqual(s1["status"]["bytes"], n * size)
        self.assertNear(s1["rss"] - s0["rss"], n * size, SLACK, "rss after alloc")
        self.assertNear(s1["retained_freed"], s0["retained_freed"], 64 * KiB, "retained_freed")

        # free 90%, spread over the spans: the ladder drops, rss does not
        self.ctl("free 90%")
        freed = n * 90 // 100
        s2 = self.snapshot()
        self.assertEqual(s2["heap_objects"], n - freed)
        self.assertEqual(s2["heap_alloc"], (n - freed) * size)
        self.assertEqual(s2["frees"] - s1["frees"], freed)
        self.assertEqual(s2["heap_released"], s1["heap_released"])
        # fragmentation is real: most freed bytes stay in in-use spans
        self.assertGreater(s2["heap_inuse"] - s2["heap_alloc"], freed * size // 2)
        self.assertNear(s2["rss"], s1["rss"], SLACK // 2, "rss after free")

        # scavenge with MADV_FREE: heap_released grows, rss stays, and the
        # released pages show up as LazyFree (retained_freed)
        self.ctl("scavenge")
        s3 = self.snapshot()
        released = s3["heap_released_free"] - s2["heap_released_free"]
        self.assertGreater(released, 4 * MiB)
        self.assertEqual(s3["heap_released_dontneed"], s2["heap_released_dontneed"])
        self.assertEqual(s3["heap_alloc"], s2["heap_alloc"])
        lazy = s3["retained_freed"] - s2["retained_freed"]
        # every released page was written by alloc, but for the untouched
        # rest of the last 1 MiB growth
        self.assertLessEqual(lazy, released)
        self.assertGreaterEqual(lazy, released - MiB - 64 * KiB)
        self.assertNear(s3["rss"], s2["rss"], SLACK // 2, "rss after MADV_FREE scavenge")

        # pressure: the kernel takes the lazily freed pages: rss drops by
        # retained_freed; the allocator's view does not change
        self.ctl("pressure")
        s4 = self.snapshot()
        self.assertLessEqual(s4["retained_freed"], 64 * KiB)
        self.assertNear(s3["rss"] - s4["rss"], lazy, SLACK // 2, "rss drop after pressure")
        self.assertEqual(s4["heap_released"], s3["heap_released"])
        self.assertEqual(s4["heap_alloc"], s3["heap_alloc"])

        # touch: what was freed is allocated again, into the same slots and
        # pages: the ladder is back where alloc left it, rss too
        self.ctl("touch")
        s5 = self.snapshot()
        self.assertEqual(s5["heap_objects"], n)
        self.assertEqual(s5["heap_alloc"], n * size)
        # the freed slots are reused: in-use spans as after alloc (give or take
        # the one empty span a central list keeps per class)
        self.assertNear(s5["heap_inuse"], s1["heap_inuse"], 64 * KiB, "heap_inuse after touch")
        self.assertLess(s5["heap_released"], s4["heap_released"])
        self.assertNear(s5["rss"], s1["rss"], SLACK, "rss after touch")

        # MADV_DONTNEED: free all then scavenge: rss drops by what is released
        self.ctl("mode dontneed")
        self.assertEqual(self.ladder()["release_mode"], 2)
        self.ctl("free all")
        s6 = self.snapshot()
        self.assertEqual(s6["heap_objects"], 0)
        self.assertEqual(s6["heap_alloc"], 0)
        self.ctl("scavenge")
        s7 = self.snapshot()
        released = s7["heap_released_dontneed"] - s6["heap_released_dontneed"]
        self.assertGreaterEqual(released, n * size - 64 * KiB)
        self.assertNear(s6["rss"] - s7["rss"], n * size, SLACK, "rss drop after DONTNEED")
        self.assertLessEqual(s7["retained_freed"], 64 * KiB)

        self.ctl("reset")
        s8 = self.snapshot()
        self.assertEqual(s8["heap_alloc"], 0)
        self.assertEqual(s8["release_mode"], 1)
        self.assertEqual(s8["status"]["mode"], "free")
        self.assertNear(s8["rss"], s0["rss"], SLACK, "rss after reset")

    def test_reset_returns_madv_free_pages_too(self):
        """reset returns the heap to its starting state: no objects, no free
        page resident, rss where it was. Pages an earlier scavenge released
        with MADV_FREE (still resident, LazyFree) are released again with
        MADV_DONTNEED: retained_freed and heap_released_free drop to 0 at
        once, no pressure needed."""
        n, size = 32768, 1024
        self.ctl("reset")
        s0 = self.snapshot()
        self.assertEqual(s0["heap_released_free"], 0)
        self.ctl(f"alloc {n} {size}")
        self.ctl("free all")
        self.ctl("scavenge")
        s1 = self.snapshot()
        self.assertGreaterEqual(s1["heap_released_free"], n * size - 64 * KiB)
        self.assertGreaterEqual(s1["retained_freed"], n * size - 64 * KiB)
        self.ctl("reset")
        s2 = self.snapshot()
        self.assertEqual(s2["heap_alloc"], 0)
        self.assertEqual(s2["heap_inuse"], 0)
        self.assertEqual(s2["heap_released_free"], 0)
        self.assertEqual(s2["heap_released"], s2["heap_released_dontneed"])
        self.assertEqual(s2["heap_idle"], s2["heap_released"])
        self.assertLessEqual(s2["retained_freed"], s0["retained_freed"])
        self.assertNear(s2["rss"], s0["rss"], SLACK, "rss after reset")
        self.assertLess(s2["rss"], s1["rss"] - n * size + SLACK)
        self.assertRegex(self.status()["last_result"], r"released \d+ bytes with MADV_DONTNEED")

    def test_free_percent_is_spread_and_exact(self):
        self.ctl("reset")
        self.ctl("alloc 1000 100")
        before = self.ladder()
        self.ctl("free 33%")
        after = self.ladder()
        self.assertEqual(before["heap_objects"] - after["heap_objects"], 330)
        self.assertEqual(self.status()["objects"], 670)
        self.ctl("free 0%")
        self.assertEqual(self.ladder()["heap_objects"], after["heap_objects"])
        self.ctl("reset")

    def refused(self, command, code=errno.EINVAL):
        before = self.ladder()
        status = self.status()
        with self.assertRaises(OSError, msg=command) as cm:
            self.ctl(command)
        self.assertEqual(cm.exception.errno, code, command)
        after = self.ladder()
        for name in ("heap_alloc", "heap_objects", "mallocs", "frees", "heap_inuse",
                     "heap_released", "release_mode"):
            self.assertEqual(after[name], before[name], f"{command}: {name}")
        now = self.status()
        self.assertEqual(now["objects"], status["objects"], command)
        self.assertEqual(now["bytes"], status["bytes"], command)
        self.assertEqual(now["refused"], status["refused"] + 1, command)
        self.assertTrue(now["last_result"].startswith("error: "), now["last_result"])
        return now["last_result"]

    def test_malformed_and_oversized_are_einval_and_change_nothing(self):
        self.ctl("reset")
        self.ctl("alloc 100 1000")
        for command in ("bogus", "", "alloc", "alloc 0 10", "alloc 10 0", "alloc -1 10",
                        "alloc 10 1k", "alloc 1 2 3", "free", "free 50", "free 101%",
                        "free -5%", "free some", "mode", "mode lazy", "touch now",
                        "scavenge 1", "reset all", "alloc 99999999999999999999 1",
                        "free 50%\nfree 50%", "alloc\x0010 10"):
            self.refused(command)
        reason = self.refused(f"alloc {DEMO_MAX // 1024 + 1} 1024")
        self.assertIn("demo_max", reason)
        self.refused(f"alloc 1 {DEMO_MAX + 1}")
        self.refused("alloc 2000000 16")  # over the object bound
        # the bound counts what is live: exactly up to demo_max is fine
        self.ctl("reset")
        self.ctl(f"alloc {DEMO_MAX // (1 << 20)} {1 << 20}")
        self.assertEqual(self.ladder()["heap_alloc"], DEMO_MAX)
        self.refused("alloc 1 16")
        self.ctl("reset")

    def test_other_users_cannot_write(self):
        self.ctl("reset")
        self.ctl("alloc 10 100")
        before, status = self.ladder(), self.status()
        st = os.stat(f"{self.mnt}/demo/ctl")
        self.assertEqual(st.st_mode & 0o777, 0o200)
        self.assertEqual(st.st_uid, os.geteuid())
        probe = ("import os,sys\n"
                 "try:\n"
                 "    fd = os.open(sys.argv[1], os.O_WRONLY)\n"
                 "    os.write(fd, b'free all\\n')\n"
                 "    print('written')\n"
                 "except OSError as e:\n"
                 "    print(e.errno)\n")
        out = subprocess.run([*NOBODY, sys.executable, "-c", probe, f"{self.mnt}/demo/ctl"],
                             capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(out, str(errno.EACCES))
        # a shell redirection (open with O_TRUNC: truncate) is refused too
        sh = subprocess.run([*NOBODY, "sh", "-c", f"echo reset > {self.mnt}/demo/ctl"],
                            capture_output=True, text=True)
        self.assertNotEqual(sh.returncode, 0)
        self.assertIn("Permission denied", sh.stderr)
        self.assertEqual(self.ladder()["heap_objects"], before["heap_objects"])
        self.assertEqual(self.status()["commands"], status["commands"])
        # ctl is write-only, even for its owner; status is for everyone
        with self.assertRaises(PermissionError):
            open(f"{self.mnt}/demo/ctl").read()
        with self.assertRaises(OSError):
            os.open(f"{self.mnt}/demo/ctl", os.O_RDWR)
        out = subprocess.run([*NOBODY, "cat", f"{self.mnt}/demo/status"], capture_output=True,
                             text=True, check=True).stdout
        self.assertIn("objects 10\n", out)
        # the owner's shell redirection works (open O_TRUNC, then one write)
        subprocess.run(["sh", "-c", f"echo 'free all' > {self.mnt}/demo/ctl"], check=True)
        self.assertEqual(self.status()["objects"], 0)
        self.ctl("reset")

    def test_example_walkthrough_runs(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                              "demo-walkthrough.sh")
        out = subprocess.run([script, self.mnt.path, "4000"], capture_output=True, text=True,
                             env={**os.environ, "SPANALLOC_STAT": programs.spanalloc_stat},
                             check=True)
        lines = out.stdout.splitlines()
        for step in ("alloc 4000 1024", "free 90%", "scavenge", "pressure", "touch",
                     "mode dontneed", "free all", "reset"):
            self.assertTrue(any(line.startswith(step) for line in lines), step)
        self.assertNotIn("error", out.stdout)
        self.assertEqual(self.status()["objects"], 0)

    def test_heap_link_and_readme(self):
        self.assertEqual(os.readlink(f"{self.mnt}/demo/heap"), f"../{self.pid}/heap")
        self.assertEqual(sorted(os.listdir(f"{self.mnt}/demo")), ["ctl", "heap", "status"])
        with open(f"{self.mnt}/README") as f:
            readme = f.read()
        for name in ("demo/ ", "demo/ctl ", "demo/status ", "demo/heap "):
            self.assertIn(f"\n  {name}", readme)
        self.assertIn("THE DEMO HEAP", readme)
        # other files stay read-only
        with self.assertRaises(OSError) as cm:
            os.open(f"{self.mnt}/demo/status", os.O_WRONLY)
        self.assertIn(cm.exception.errno, (errno.EACCES, errno.EROFS))


class TestDemoOptions(unittest.TestCase):
    def test_nodemo_removes_demo(self):
        d = tempfile.mkdtemp(prefix="memviewfs-nodemo-")
        daemon = start_daemon(programs.memviewfs, d, "-o", "nodemo")
        try:
            self.assertNotIn("demo", os.listdir(d))
            with self.assertRaises(FileNotFoundError):
                os.stat(f"{d}/demo/ctl")
            with open(f"{d}/README") as f:
                readme = f.read()
            self.assertNotIn("\n  demo/", readme)
            self.assertNotIn("THE DEMO HEAP", readme)
        finally:
            self.assertEqual(stop_daemon(daemon, d), 0)
            os.rmdir(d)

    def test_bad_demo_max_refused_at_start(self):
        for bad in ("abc", "12X", "", "99999999999999999999G"):
            out = subprocess.run([programs.memviewfs, "-f", "-o", f"demo_max={bad}",
                                  "/nonexistent"],
                                 capture_output=True, text=True)
            self.assertNotEqual(out.returncode, 0, bad)
            self.assertIn("demo_max", out.stderr, bad)


if __name__ == "__main__":
    main("memviewfs", "spanalloc_stat")
