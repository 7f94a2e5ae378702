#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""heap/ mount tests: a workload preloaded with spanalloc (heap-workload.c)
allocates, frees and scavenges known amounts; heap/ must equal what the
workload's own sa_stats() reported at the same quiescent moment, reconcile's
identity must hold exactly, and released pages must show where the kernel
has them. Also: the kernel's view for any process, access like /proc's smaps
and pagemap, and processes that publish a garbage segment.

Run by meson (suite 'mount'):
  test_heap.py MEMVIEWFS WORKLOAD HEAP_WORKLOAD LIBSPANALLOC
"""
import errno
import os
import re
import subprocess
import sys
import time

from mvharness import (LAZYFREE_LAG, MiB, NOBODY, PAGE, SLACK, SYSTEM_PYTHON, Mount,
                       MountTestCase, main, probe, programs, promtool_check, reconcile,
                       smaps_heap_view, smaps_rss)

# The workload's objects: 16 MiB of 1 KiB objects (2048 spans of one 8 KiB
# page), of which the oldest 75% (12 MiB, 1536 whole spans) are freed.
COUNT, SIZE, FREED_PERCENT = 16384, 1024, 75
FREED_BYTES = COUNT * SIZE * FREED_PERCENT // 100


class HeapTestCase(MountTestCase):
    # per-pid series in metrics/ (the spanalloc ladder's per process)
    MOUNT_OPTIONS = ("metrics_pids",)

    def assertLadderEquals(self, pid, stats):
        """Every ladder file and every memstats row equals the workload's own
        sa_stats() of the same moment."""
        memstats = {r["name"]: int(r["value"]) for r in self.mnt.table(f"{pid}/heap/memstats")[1]}
        for name, expected in stats.items():
            self.assertEqual(self.mnt.value(pid, "heap", name), expected, name)
            self.assertEqual(memstats[name], expected, f"memstats {name}")
        self.assertIn("age_ms", memstats)

    def assertIdentity(self, pid, reader=(), mnt=None):
        """reconcile adds up: the arena lines to arenas, arenas + neighbours
        to the smaps Rss of the arenas' mappings (identity_diff 0), and with
        the rest to the process's rss, which equals smaps read directly."""
        r = reconcile(mnt or self.mnt, pid, reader)
        direct_rss = smaps_rss(pid)
        lines = ("live_objects", "free_slots", "idle", "released_free", "released_dontneed",
                 "released_mixed", "unused", "unlisted")
        self.assertEqual(sum(r[n][0] for n in lines), r["arenas"][0], r)
        self.assertEqual(sum(r[n][1] for n in lines), r["arenas"][1], r)
        self.assertEqual(r["identity_diff"][0], 0, r)
        self.assertEqual(r["arena_mappings"][0], r["arenas"][0] + r["neighbours"][0], r)
        rest = ("other_anon_private", "anon_shared", "file_private", "file_shared")
        self.assertEqual(r["arena_mappings"][0] + sum(r[n][0] for n in rest), r["rss"][0], r)
        self.assertEqual(r["rss"][0], direct_rss, r)
        self.assertGreater(r["arenas"][0], 0, r)
        return r


class TestKernelView(HeapTestCase):
    def test_every_process_has_the_kernel_view(self):
        w = self.workload()
        kinds = ("reserved", "resident", "lazyfree", "swapped")
        before = {n: self.mnt.value(w.pid, "heap", n) for n in kinds}
        self.assertEqual(before, smaps_heap_view(w.pid))
        w.do(f"anon {8 * MiB}")
        w.do(f"madv_free {4 * MiB}")
        after = {n: self.mnt.value(w.pid, "heap", n) for n in kinds}
        self.assertEqual(after, smaps_heap_view(w.pid))
        self.assertEqual(after["reserved"] - before["reserved"], 8 * MiB)
        self.assertEqual(after["resident"] - before["resident"], 8 * MiB)
        # MADV_FREE marks pages through per-CPU batches: the kernel's slack
        self.assertLessEqual(abs(after["lazyfree"] - before["lazyfree"] - 4 * MiB), SLACK)
        self.assertEqual(self.mnt.read(f"{w.pid}/heap/allocator"), "none\n")
        self.assertEqual(self.mnt.read(f"{os.getpid()}/heap/allocator"), "none\n")

    def test_allocator_files_are_enoent_without_spanalloc(self):
        w = self.workload()
        for name in ("heap_alloc", "memstats", "classes", "spans", "reconcile", "age_ms"):
            with self.assertRaises(FileNotFoundError, msg=name):
                self.mnt.read(f"{w.pid}/heap/{name}")

    def test_readme_describes_heap(self):
        with open(f"{self.mnt}/README") as f:
            readme = f.read()
        for name in os.listdir(f"{self.mnt}/{os.getpid()}/heap"):
            self.assertIn(f"<pid>/heap/{name} ", readme)
        self.assertIn("/memory/classes/heap/released", readme)


class TestAllocatorView(HeapTestCase):
    def run_release_mode(self, mode):
        w = self.heap_workload()
        w.do(f"mode {mode}")
        w.do(f"alloc {COUNT} {SIZE}")
        stats = w.stats()
        allocator = self.mnt.read(f"{w.pid}/heap/allocator")
        self.assertEqual(allocator, "spanalloc %d\n" %
                         int(re.match(r"spanalloc (\d+)", allocator).group(1)))
        self.assertLadderEquals(w.pid, stats)
        self.assertGreaterEqual(stats["heap_alloc"], COUNT * SIZE)
        rss_allocated = self.mnt.value(w.pid, "heap", "resident")
        # 2048 spans of 1 KiB objects: more than the segment's span table
        # holds; the pages past it are split by the ladder of the same
        # publication, so nothing stays unlisted and the objects handed out
        # (live, or in the thread cache) add up to the ladder.
        self.assertLess(len(self.mnt.table(f"{w.pid}/heap/spans")[1]), COUNT * SIZE // 8192,
                        "the span table holds every span: nothing past it to test")
        r = self.assertIdentity(w.pid)
        self.assertEqual(r["unlisted"], (0, 0), r)
        self.assertEqual(r["live_objects"][1], stats["heap_alloc"] + stats["tcache_bytes"], r)
        self.assertEqual(r["live_objects"][1] + r["free_slots"][1], stats["heap_inuse"], r)
        self.assertGreaterEqual(r["live_objects"][0], COUNT * SIZE, r)

        self.assertEqual(int(w.do(f"free {FREED_PERCENT}")[0]), COUNT * FREED_PERCENT // 100)
        released = int(w.do("scavenge")[0])
        stats = w.stats()
        self.assertLadderEquals(w.pid, stats)
        self.assertGreaterEqual(released, FREED_BYTES)
        self.assertEqual(stats["heap_released"], stats["heap_released_free"] +
                         stats["heap_released_dontneed"])
        classes = {int(r["size"]): r for r in self.mnt.table(f"{w.pid}/heap/classes")[1]}
        self.assertGreaterEqual(int(classes[SIZE]["objects"]), COUNT - COUNT * FREED_PERCENT // 100)
        self.assertEqual(int(classes[SIZE]["bytes"]), int(classes[SIZE]["objects"]) * SIZE)

        r = self.assertIdentity(w.pid)
        spans = self.mnt.table(f"{w.pid}/heap/spans")[1]
        # After a scavenge the thread cache is empty and the table is whole:
        # the live objects are heap_alloc exactly, the in-use spans heap_inuse.
        self.assertEqual(r["unlisted"][0], 0, r)
        self.assertEqual(r["live_objects"][1], stats["heap_alloc"], r)
        self.assertEqual(r["live_objects"][1] + r["free_slots"][1], stats["heap_inuse"], r)
        self.assertEqual(r["idle"][1], stats["heap_idle"] - stats["heap_released"], r)
        lazyfree = self.mnt.value(w.pid, "heap", "lazyfree")
        if mode == "free":
            # Why RSS stays above what a program uses: released, yet resident and in rss until pressure.
            self.assertEqual(r["released_free"][1], stats["heap_released_free"], r)
            # the freed objects fill whole spans but for the two at either end
            self.assertGreaterEqual(r["released_free"][0], FREED_BYTES - 2 * 8192, r)
            # the kernel's lazyfree: the resident released pages, but for
            # those still in a per-CPU batch (the scavenge's last few)
            self.assertLessEqual(lazyfree, r["released_free"][0])
            self.assertGreaterEqual(lazyfree, r["released_free"][0] - LAZYFREE_LAG)
            with open(f"{self.mnt}/{w.pid}/retained_freed") as f:
                self.assertEqual(int(f.read()), lazyfree)
            self.assertLessEqual(abs(self.mnt.value(w.pid, "heap", "resident") - rss_allocated),
                                 8 * PAGE)
            # Pressure: the kernel takes the lazily freed pages back.
            for s in spans:
                if s["state"] == "released_free":
                    w.do(f"pageout {s['start']} {int(s['pages']) * 8192}")
            r = self.assertIdentity(w.pid)
            self.assertEqual(r["released_free"][0], 0, r)
            self.assertEqual(self.mnt.value(w.pid, "heap", "lazyfree"), 0)
            self.assertLessEqual(self.mnt.value(w.pid, "heap", "resident"),
                                 rss_allocated - FREED_BYTES + 2 * 8192)
        else:
            self.assertEqual(r["released_dontneed"][1], stats["heap_released_dontneed"], r)
            self.assertGreaterEqual(r["released_dontneed"][1], FREED_BYTES - 2 * 8192, r)
            self.assertEqual(r["released_dontneed"][0], 0, r)
            self.assertEqual(lazyfree, 0)
            self.assertLessEqual(self.mnt.value(w.pid, "heap", "resident"),
                                 rss_allocated - FREED_BYTES + 8 * PAGE)
        states = {s["state"] for s in spans}
        self.assertIn("in_use", states)
        self.assertIn("released_" + mode, states)

    def test_madv_free(self):
        self.run_release_mode("free")

    def test_madv_dontneed(self):
        self.run_release_mode("dontneed")

    def test_zero_page_is_not_resident(self):
        """Pages only ever read map the kernel's zero page: pagemap calls them
        present, smaps does not count them, nor does reconcile."""
        w = self.heap_workload()
        w.do(f"alloc 1000 {SIZE}")
        address = int(w.do(f"peek {4 * MiB}")[0], 16)
        w.stats()
        with open(f"/proc/{w.pid}/pagemap", "rb") as f:
            f.seek(address // PAGE * 8)
            entries = [int.from_bytes(f.read(8), "little") for _ in range(4 * MiB // PAGE)]
        self.assertGreater(sum(e >> 63 for e in entries), 4 * MiB // PAGE // 2,
                           "the peeked pages are not mapped at all")
        r = self.assertIdentity(w.pid)
        self.assertLess(r["live_objects"][0], r["live_objects"][1] - 4 * MiB + PAGE, r)

    def test_zero_page_is_not_resident_for_an_unprivileged_reader(self):
        """pagemap hides page frames from a reader without CAP_SYS_ADMIN, so
        the zero page cannot be recognised by its frame: it is the present
        entry that is neither exclusive nor a file page, when no page of the
        arenas is shared with another process. The identity stays exact."""
        w = self.heap_workload(NOBODY)
        w.do(f"alloc 1000 {SIZE}")
        w.do(f"peek {4 * MiB}")
        w.stats()
        root_view = self.assertIdentity(w.pid)
        r = self.assertIdentity(w.pid, NOBODY)
        self.assertLess(r["live_objects"][0], r["live_objects"][1] - 4 * MiB + PAGE, r)
        self.assertEqual(r["arenas"], root_view["arenas"])

    def test_zero_page_after_an_unprivileged_first_reader(self):
        """The daemon learns the zero page's frame once, from its own
        pagemap: with its own credentials, even when the first reconcile it
        serves is an unprivileged reader's (who would see no frames, and
        every later reader would have had identity_diff < 0)."""
        mnt = Mount("metrics_pids", prefix="memviewfs-heap-first-")
        self.addCleanup(mnt.close)
        w = self.heap_workload(NOBODY)
        w.do(f"alloc 1000 {SIZE}")
        w.do(f"peek {4 * MiB}")
        w.stats()
        self.assertIdentity(w.pid, NOBODY, mnt)
        r = self.assertIdentity(w.pid, (), mnt)
        self.assertLess(r["live_objects"][0], r["live_objects"][1] - 4 * MiB + PAGE, r)

    def test_python_under_preload(self):
        """A real program: python3 under LD_PRELOAD, 30000 objects of 1000
        bytes, idle. The identity is exact for root reading root's process,
        and for nobody reading nobody's, and root reading nobody's."""
        program = ("import sys, time; x = [bytes(1000) for i in range(30000)]; "
                   "print('ready', flush=True); time.sleep(60)")
        env = dict(os.environ, LD_PRELOAD=programs.libspanalloc)
        env.pop("MALLOC_PERTURB_", None)
        for runner, reader in (((), ()), (NOBODY, NOBODY), (NOBODY, ())):
            p = subprocess.Popen([*runner, SYSTEM_PYTHON, "-c", program], stdout=subprocess.PIPE,
                                 text=True, env=env, cwd="/")
            self.addCleanup(p.stdout.close)
            self.addCleanup(p.wait)
            self.addCleanup(p.kill)
            self.assertEqual(p.stdout.readline(), "ready\n")
            time.sleep(0.3)  # the background thread's first tables
            r = self.assertIdentity(p.pid, reader)
            self.assertGreater(r["live_objects"][0], 30000 * 1000, (runner, reader, r))

    def test_age_ms(self):
        w = self.heap_workload()
        w.do(f"alloc 1000 {SIZE}")
        w.stats()
        first = self.mnt.value(w.pid, "heap", "age_ms")
        time.sleep(0.3)
        later = self.mnt.value(w.pid, "heap", "age_ms")
        # No publication since: the age grows with the clock. (A background
        # publisher that republishes unchanged numbers resets it.)
        self.assertTrue(later >= first + 250 or later < 250, (first, later))


class TestMetrics(HeapTestCase):
    def test_allocator_ladder_in_prometheus_text(self):
        w = self.heap_workload()
        plain = self.workload()
        w.do(f"alloc 1000 {SIZE}")
        stats = w.stats()
        with open(f"{self.mnt}/metrics/memviewfs.prom", "rb") as f:
            text = f.read()
        code, said = promtool_check(text)
        self.assertEqual(code, 0, said)
        samples = dict(re.findall(
            rf'^memviewfs_process_spanalloc_(\w+)\{{pid="{w.pid}",comm="heap-workload"\}} (\S+)$',
            text.decode(), re.M))
        self.assertEqual(int(samples["heap_alloc_bytes"]), stats["heap_alloc"])
        self.assertEqual(int(samples["heap_released_free_bytes"]), stats["heap_released_free"])
        self.assertEqual(int(samples["mallocs_total"]), stats["mallocs"])
        self.assertEqual(int(samples["meta_sys_bytes"]), stats["meta_sys"])
        self.assertLess(float(samples["statistics_age_seconds"]), 60)
        self.assertNotIn(f'pid="{plain.pid}"'.encode(),
                         b"\n".join(l for l in text.splitlines() if b"spanalloc" in l))


class TestAccess(HeapTestCase):
    def targets(self):
        """Heap workloads with published statistics: root's, nobody's, and
        nobody's made non-dumpable."""
        root_w = self.heap_workload()
        own_w = self.heap_workload(NOBODY)
        nodump_w = self.heap_workload(NOBODY)
        for w in (root_w, own_w, nodump_w):
            w.do(f"alloc 100 {SIZE}")
            w.stats()
        nodump_w.do("nodump")
        return root_w, own_w, nodump_w

    def test_unprivileged_reader_answers_like_smaps_and_pagemap(self):
        root_w, own_w, nodump_w = self.targets()
        names = ("reserved", "resident", "allocator", "heap_alloc", "memstats", "classes", "spans",
                 "reconcile")
        for w, expected in ((root_w, errno.EACCES), (own_w, "ok"), (nodump_w, errno.EACCES)):
            paths = [f"{self.mnt}/{w.pid}/heap/{n}" for n in names]
            paths += [f"/proc/{w.pid}/smaps", f"/proc/{w.pid}/pagemap"]
            out = probe(NOBODY, paths, size=8)
            self.assertEqual(out[f"/proc/{w.pid}/smaps"], expected)
            self.assertEqual(out[f"/proc/{w.pid}/pagemap"], expected)
            for n in names:
                self.assertEqual(out[f"{self.mnt}/{w.pid}/heap/{n}"], expected, f"{w.pid} {n}")

    def test_every_heap_file_for_readers_with_capabilities(self):
        """Every file of heap/, for nobody with no capability, with
        CAP_SYS_ADMIN (it opens /proc/<pid>/map_files, where spanalloc's
        reader finds the segment, but may not read another user's smaps) and
        with CAP_SYS_PTRACE (it may read every smaps, and the segment through
        /proc/<pid>/mem): each answers as /proc/<pid>/smaps and pagemap do.
        The allocator files never borrow the daemon's privileges."""
        root_w, own_w, nodump_w = self.targets()
        names = sorted(os.listdir(f"{self.mnt}/{root_w.pid}/heap"))
        self.assertIn("reconcile", names)
        self.assertIn("age_ms", names)

        def with_caps(caps):
            if not caps:
                return NOBODY
            plus = ",".join("+" + c for c in caps.split(","))
            return [*NOBODY, f"--inh-caps={plus}", f"--ambient-caps={plus}"]

        answers = {}
        for caps in ("", "sys_admin,dac_read_search", "sys_ptrace"):
            for w in (root_w, own_w, nodump_w):
                paths = [f"{self.mnt}/{w.pid}/heap/{n}" for n in names]
                paths += [f"/proc/{w.pid}/smaps", f"/proc/{w.pid}/pagemap"]
                out = probe(with_caps(caps), paths, size=8, python=SYSTEM_PYTHON, cwd="/")
                # pagemap is mode 0400 where smaps is 0444: a reader may pass
                # one and not the other. reconcile reads both, the other
                # files smaps (or maps, with the same rule) only.
                smaps, pagemap = out[f"/proc/{w.pid}/smaps"], out[f"/proc/{w.pid}/pagemap"]
                for n in names:
                    expected = smaps if n != "reconcile" or pagemap == "ok" else pagemap
                    self.assertIn(expected, ("ok", errno.EACCES), (caps, w.pid))
                    self.assertEqual(out[f"{self.mnt}/{w.pid}/heap/{n}"], expected,
                                     f"caps {caps or 'none'}: {w.pid} {n}")
                answers[caps, w.pid] = (smaps, pagemap)
        # the cases that matter were met: the kernel refused smaps to the
        # plain reader and granted it with each capability set
        self.assertEqual(answers["", root_w.pid][0], errno.EACCES)
        self.assertEqual(answers["", own_w.pid], ("ok", "ok"))
        self.assertEqual(answers["sys_ptrace", root_w.pid][0], "ok")
        # CAP_SYS_ADMIN with CAP_DAC_READ_SEARCH: every file of root's process
        r = reconcile(self.mnt, root_w.pid, with_caps("sys_admin,dac_read_search"))
        self.assertEqual(r["identity_diff"][0], 0, r)


# A process that maps a memfd named like spanalloc's segment, filled with
# garbage: bytes, then a valid magic with a bad layout, then a header that
# stays mid-write (odd seqlock) for ever, then one rewritten while it is read.
HOSTILE = r"""
import mmap, os, struct, sys, time
kind = sys.argv[1]
size = 1 << 18
fd = os.memfd_create("spanalloc-stats")
os.ftruncate(fd, size)
m = mmap.mmap(fd, size)
if kind == "garbage":
    m[:] = os.urandom(size)
elif kind == "layout":
    m[0:16] = struct.pack("<QII", 0x5350414e53544154, 1, 12345)
elif kind == "torn":
    m[:] = bytes(size)
    m[0:12] = struct.pack("<QI", 0x5350414e53544154, 1)
elif kind == "churn":
    # rewritten all the time, while the daemon reads it
    import threading
    def churn():
        header = struct.pack("<QI", 0x5350414e53544154, 2)
        while True:
            m[0:4096] = os.urandom(4096)
            m[0:12] = header
    threading.Thread(target=churn, daemon=True).start()
print("ready", flush=True)
time.sleep(60)
"""


class TestHostile(HeapTestCase):
    def test_garbage_segments_are_invalid_and_harm_nobody(self):
        good = self.heap_workload()
        good.do(f"alloc 100 {SIZE}")
        good.stats()
        for kind in ("garbage", "layout", "torn", "churn"):
            p = subprocess.Popen([sys.executable, "-c", HOSTILE, kind], stdout=subprocess.PIPE,
                                 text=True)
            self.addCleanup(p.stdout.close)
            self.addCleanup(p.wait)
            self.addCleanup(p.kill)
            self.assertEqual(p.stdout.readline(), "ready\n")
            self.assertRegex(self.mnt.read(f"{p.pid}/heap/allocator"), r"^invalid: \S.*\n$", kind)
            for name in ("heap_alloc", "memstats", "spans", "reconcile"):
                with self.assertRaises(OSError, msg=f"{kind} {name}") as cm:
                    self.mnt.read(f"{p.pid}/heap/{name}")
                self.assertEqual(cm.exception.errno, errno.EIO, f"{kind} {name}")
            self.assertGreater(self.mnt.value(p.pid, "heap", "resident"), 0)
            self.assertRegex(self.mnt.read(f"{good.pid}/heap/allocator"), r"^spanalloc \d+\n$")
            self.assertGreater(self.mnt.value(good.pid, "heap", "heap_alloc"), 0)
            self.assertIsNone(self.mnt.daemon.poll(), "daemon died")


if __name__ == "__main__":
    main("memviewfs", "workload", "heap_workload", "libspanalloc")
