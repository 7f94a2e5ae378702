#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests of the operator's views: each new file against the kernel
file it comes from (VmHWM, oom_score, PSI, vmstat, a cgroup's peak and
events in a cgroup driven into its limit), the users and cgroups tables
against the rows of processes, and the formats' promises (every table cell
one ASCII token, every value file an integer, ls lists only what reads).

Run by meson (suite 'mount'): test_views.py MEMVIEWFS WORKLOAD
"""
import os
import re
import subprocess
import sys
import tempfile

from mvharness import (MiB, PAGE, SLACK, MountTestCase, main, make_cgroup, meminfo_bytes,
                       move_to_cgroup, own_memory_cgroup, read_inside, read_text, smaps,
                       status_bytes,
                       vmstat)

# A uid no other process on the machine has (the users test's own).
TEST_UID = 61000 + os.getpid() % 1000


class TestPidValues(MountTestCase):
    def test_rss_peak_is_vmhwm(self):
        w = self.workload()
        w.do(f"anon {32 * MiB}")
        w.do(f"madv_free {32 * MiB}")  # rss may fall later; the peak stays
        peak = self.mnt.value(f"{w.pid}/rss_peak")
        self.assertEqual(peak, status_bytes(w.pid, "VmHWM"))
        self.assertGreaterEqual(peak, 32 * MiB)
        self.assertGreaterEqual(peak, self.mnt.value(f"{w.pid}/rss"))

    def test_oom_score_follows_the_kernel(self):
        w = self.workload()
        w.do(f"anon {64 * MiB}")
        for adj in ("0", "500", "1000"):
            with open(f"/proc/{w.pid}/oom_score_adj", "w") as f:
                f.write(adj)
            self.assertEqual(self.mnt.value(f"{w.pid}/oom_score"),
                             int(read_text(f"/proc/{w.pid}/oom_score")))
        # oom_score_adj 1000 makes the badness at least 1000
        self.assertGreaterEqual(self.mnt.value(f"{w.pid}/oom_score"), 1000)


class TestSystem(MountTestCase):
    def test_pressure_listed_only_when_the_kernel_has_it(self):
        listed = "pressure" in os.listdir(f"{self.mnt}/system")
        self.assertEqual(listed, os.access("/proc/pressure/memory", os.R_OK))
        if not listed:
            return
        before = read_text("/proc/pressure/memory")
        seen = self.mnt.read("system/pressure")
        after = read_text("/proc/pressure/memory")
        total = lambda text, kind: int(re.search(rf"^{kind} .*total=(\d+)$", text, re.M).group(1))
        for kind in ("some", "full"):
            self.assertLessEqual(total(before, kind), total(seen, kind))
            self.assertLessEqual(total(seen, kind), total(after, kind))
        self.assertEqual(re.sub(r"=[\d.]+", "=", seen), re.sub(r"=[\d.]+", "=", before))

    def test_reclaim_is_vmstat_in_bytes(self):
        before = vmstat()
        seen = dict(l.split() for l in self.mnt.read("system/reclaim").splitlines())
        after = vmstat()
        expected = [k for k in before if k.startswith(("pgscan_", "pgsteal_", "workingset_refault"))
                    and k != "pgscan_direct_throttle"] + ["oom_kill"]
        self.assertEqual(sorted(seen), sorted(expected))
        for name, text in seen.items():
            unit = 1 if name == "oom_kill" else PAGE
            self.assertLessEqual(before[name] * unit, int(text), name)
            self.assertLessEqual(int(text), after[name] * unit, name)


class TestCgroupLimitReached(MountTestCase):
    """A cgroup the test makes, with a limit, driven into it: first by page
    cache (reclaim at the limit: failcnt / max events), then by anonymous
    memory (the OOM killer: oom_kill)."""

    LIMIT = 32 * MiB

    def setUp(self):
        self.own, self.version, _, _ = own_memory_cgroup()
        self.cg = make_cgroup(self, self.own, f"memviewfs-views-{os.getpid()}", self.version,
                              self.LIMIT)

    def set_limit(self, limit):
        with open(f"{self.cg}/" + ("memory.limit_in_bytes" if self.version == 1
                                   else "memory.max"), "w") as f:
            f.write(str(limit))

    def kernel_events(self):
        if self.version == 2:
            return dict(l.split() for l in read_text(f"{self.cg}/memory.events").splitlines())
        out = {"failcnt": read_text(f"{self.cg}/memory.failcnt").strip()}
        out.update(l.split() for l in read_text(f"{self.cg}/memory.oom_control").splitlines())
        return out

    def test_peak_and_events(self):
        fd, path = tempfile.mkstemp(prefix="memviewfs-data-", dir="/var/tmp")
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(64 * MiB))
            f.flush()
            os.fsync(f.fileno())
            # drop the file's pages from the cache (charged to our cgroup):
            # the workload's reads charge its own
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        w = self.workload()
        move_to_cgroup(self.cg, w.pid)
        w.do(f"file_private {path} {64 * MiB}")  # 64 MiB of cache through a 32 MiB limit
        # Room again, so that reading changes no counter: the peak and the
        # count of hits stay as the limit left them.
        self.set_limit(2 * self.LIMIT)
        peak_file = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        # the kernel's peak around the mounted read: it can still move (a
        # page charged late), never down
        peak_before = int(read_text(f"{self.cg}/{peak_file}"))
        seen = read_inside(self.mnt, self.cg, ["peak", "events", "limit", "limit_raw"])
        peak_after = int(read_text(f"{self.cg}/{peak_file}"))
        events = dict(l.split() for l in seen["events"].splitlines())
        self.assertEqual(events, self.kernel_events())
        hit = "failcnt" if self.version == 1 else "max"
        self.assertGreater(int(events[hit]), 0)
        self.assertGreaterEqual(int(seen["peak"]), peak_before)
        self.assertLessEqual(int(seen["peak"]), peak_after)
        # the kernel may overshoot by up to one charge batch per CPU
        # (MEMCG_CHARGE_BATCH, 64 pages) before it reclaims: seen up to 127
        # pages over on 2 vCPUs under load
        self.assertLessEqual(int(seen["peak"]), self.LIMIT + 64 * PAGE * os.cpu_count())
        self.assertGreater(int(seen["peak"]), self.LIMIT - 4 * MiB)
        self.assertEqual(int(seen["limit"]), 2 * self.LIMIT)
        self.assertEqual(seen["limit_raw"], f"{2 * self.LIMIT}\n")
        self.assertIn("events", seen["ls"])
        self.assertIn("peak", seen["ls"])
        self.assertEqual("pressure" in seen["ls"], self.version == 2)
        # Now past the limit with memory that cannot be reclaimed (no swap
        # for the cgroup): the OOM killer takes the workload.
        self.set_limit(self.LIMIT)
        w.proc.stdin.write(f"anon {64 * MiB}\n")
        w.proc.stdin.flush()
        self.assertEqual(w.proc.wait(timeout=30), -9)
        seen = read_inside(self.mnt, self.cg, ["events"])
        events = dict(l.split() for l in seen["events"].splitlines())
        self.assertEqual(events, self.kernel_events())
        self.assertGreaterEqual(int(events["oom_kill"]), 1)

    def test_unlimited_limit_is_memtotal(self):
        with open(f"{self.cg}/" + ("memory.limit_in_bytes" if self.version == 1
                                   else "memory.max"), "w") as f:
            f.write("-1" if self.version == 1 else "max")
        seen = read_inside(self.mnt, self.cg, ["limit", "limit_raw"])
        memtotal = meminfo_bytes("MemTotal")
        if seen["limit_raw"] == "max\n":
            self.assertEqual(int(seen["limit"]), memtotal)
        else:  # a limit above ours (a container's) binds
            self.assertEqual(seen["limit"], seen["limit_raw"])


class TestTables(MountTestCase):
    def test_processes_cgroup_column_and_user_processes(self):
        own, version, _, _ = own_memory_cgroup()
        cg = make_cgroup(self, own, f"memviewfs-views-p-{os.getpid()}", version)
        w = self.workload()
        move_to_cgroup(cg, w.pid)
        header, rows = self.mnt.table("processes")
        self.assertEqual(header[-1], "cgroup")
        self.assertEqual(header[:9], ["pid", "user", "comm", "rss", "pss", "uss", "swap",
                                      "retained_freed", "swap_pss"])
        by_pid = {int(r["pid"]): r for r in rows}
        self.assertEqual(by_pid[w.pid]["cgroup"], self.mnt.read(f"{w.pid}/cgroup").strip())
        self.assertTrue(by_pid[w.pid]["cgroup"].endswith(f"/memviewfs-views-p-{os.getpid()}"))
        _, user_rows = self.mnt.table("processes_user")
        user_pids = {int(r["pid"]) for r in user_rows}
        self.assertIn(w.pid, user_pids)
        self.assertIn(os.getpid(), user_pids)
        kthreads = [p for p in by_pid if p not in user_pids]
        self.assertIn(2, kthreads)  # kthreadd
        for pid in kthreads:
            try:
                status = read_text(f"/proc/{pid}/status")
            except (FileNotFoundError, ProcessLookupError):
                continue
            self.assertNotIn("VmSize:", status, pid)  # no address space
            self.assertNotRegex(status, r"State:\s+Z", pid)

    def test_users_rows_are_sums_of_processes_rows(self):
        prefix = ["setpriv", f"--reuid={TEST_UID}", f"--regid={TEST_UID}", "--clear-groups"]
        ws = [self.workload(prefix) for _ in range(3)]
        for i, w in enumerate(ws):
            w.do(f"anon {(i + 1) * 4 * MiB}")
        _, rows = self.mnt.table("processes")
        _, users = self.mnt.table("users")
        mine = [r for r in rows if r["user"] == str(TEST_UID)]
        self.assertEqual(sorted(int(r["pid"]) for r in mine), sorted(w.pid for w in ws))
        row = next(u for u in users if u["user"] == str(TEST_UID))
        self.assertEqual(int(row["processes"]), 3)
        for col in ("rss", "uss", "swap"):
            self.assertEqual(int(row[col]), sum(int(r[col]) for r in mine), col)
        # pss moves between the two reads as other processes map or unmap
        # the libraries the workloads share
        self.assertLessEqual(abs(int(row["pss"]) - sum(int(r["pss"]) for r in mine)), 3 * SLACK)
        self.assertGreaterEqual(int(row["uss"]), 24 * MiB)

    def test_cgroups_rows_against_processes_and_the_kernel(self):
        own, version, _, _ = own_memory_cgroup()
        cg = make_cgroup(self, own, f"memviewfs-views-c-{os.getpid()}", version, 256 * MiB)
        ws = [self.workload() for _ in range(2)]
        for w in ws:
            move_to_cgroup(cg, w.pid)
            w.do(f"anon {8 * MiB}")
        name = f"/memviewfs-views-c-{os.getpid()}"
        _, cgroups = self.mnt.table("cgroups")
        _, rows = self.mnt.table("processes")
        row = next(c for c in cgroups if c["cgroup"].endswith(name))
        self.assertEqual(int(row["processes"]), 2)
        self.assertEqual(int(row["processes"]),
                         sum(1 for r in rows if r["cgroup"] == row["cgroup"]))
        self.assertEqual(int(row["limit"]), 256 * MiB)
        usage_file = "memory.usage_in_bytes" if version == 1 else "memory.current"
        self.assertLessEqual(abs(int(row["usage"]) - int(read_text(f"{cg}/{usage_file}"))), SLACK)
        self.assertGreaterEqual(int(row["anon"]), 16 * MiB)
        # every cgroup a process is in has a row, with as many processes
        paths = {c["cgroup"]: c for c in cgroups}
        for r in rows:
            if r["cgroup"] != "-":
                self.assertIn(r["cgroup"], paths)

    def test_vmas_equal_smaps_region_by_region(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        start, end = (int(x, 16) for x in w.do("region"))
        header, rows = self.mnt.table(f"{w.pid}/vmas")
        regions = smaps(w.pid)
        self.assertEqual([r["Range"] for r in rows], [v.range for v in regions])
        for seen, kernel in zip(rows, regions):
            self.assertEqual(seen["Perms"], kernel.perms)
            self.assertEqual(int(seen["Offset"]), kernel.offset)
            for col in ("Rss", "Private_Clean", "Private_Dirty", "Anonymous", "Swap",
                        "LazyFree"):
                self.assertEqual(int(seen[col]), kernel.fields[col], (seen["Range"], col))
            self.assertEqual(int(seen["VSZ"]), kernel.fields["Size"])
            # shared pages: sharers come and go between the two reads
            self.assertEqual(int(seen["Shared_Clean"]) + int(seen["Private_Clean"]),
                             kernel.fields["Shared_Clean"] + kernel.fields["Private_Clean"])
            self.assertLessEqual(abs(int(seen["Pss"]) - kernel.fields["Pss"]), SLACK)
        mine = next(r for r in rows if r["Range"] == f"{start:x}-{end:x}")
        self.assertEqual(int(mine["Anonymous"]), 8 * MiB)


# The tables: every cell one ASCII token (same count as the header).
TABLES = ("processes", "processes_user", "users", "cgroups", "system/watermarks",
          "self/mappings", "self/vmas")
# Files whose content is one integer (the README's promise).
VALUE_FILES = {
    "self": ("rss", "rss_peak", "vsz", "pss", "uss", "swap", "swap_pss", "hugetlb",
             "retained_freed", "anon_private", "anon_shared", "file_private", "file_shared",
             "oom_score"),
    "system": ("total", "used", "free", "shared", "buffers", "cache", "buff_cache",
               "available", "swap_total", "swap_used", "swap_free", "dirty", "writeback"),
    "cgroup": ("limit", "usage", "anon", "file", "shmem", "kernel", "swap", "reclaimable",
               "available", "peak"),
}


class TestFormats(MountTestCase):
    def test_every_table_cell_is_one_ascii_token(self):
        for name in TABLES:
            text = self.mnt.read(name)
            self.assertTrue(text.isascii(), name)
            lines = text.splitlines()
            width = len(lines[0].split())
            for line in lines[1:]:
                self.assertEqual(len(line.split()), width, f"{name}: {line!r}")

    def test_summary_is_ascii_and_values_is_its_twin(self):
        w = self.workload()
        w.do(f"anon {8 * MiB}")
        summary = self.mnt.read(f"{w.pid}/summary")
        self.assertTrue(summary.isascii())
        rows = {l.split()[0]: l.split()[1] for l in summary.splitlines()[1:]}
        pairs = [l.split() for l in self.mnt.read(f"{w.pid}/values").splitlines()]
        self.assertTrue(all(len(p) == 2 and p[1].isdigit() for p in pairs))
        self.assertEqual([p[0] for p in pairs], list(rows))
        self.assertEqual(int(dict(pairs)["hugetlb"]), 0)
        self.assertRegex(summary, r"(?m)^hugetlb +0  0 B ")
        self.assertRegex(summary, r"(?m)^anon_private +\d+  \d+\.\d MiB ")

    def test_every_value_file_is_an_integer(self):
        for directory, names in VALUE_FILES.items():
            listed = set(os.listdir(f"{self.mnt}/{directory}"))
            for name in names:
                if directory == "cgroup" and name not in listed:
                    continue  # this kernel or cgroup has no such value
                self.mnt.value(f"{directory}/{name}")
        for line in self.mnt.read("system/reclaim").splitlines():
            self.assertRegex(line, r"^[a-z_]+ \d+$")

    def test_ls_lists_only_readable_files(self):
        for prefix in ([], ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]):
            script = ("import os, sys\n"
                      "bad = []\n"
                      "for d in sys.argv[1:]:\n"
                      "    for n in os.listdir(d):\n"
                      "        p = os.path.join(d, n)\n"
                      "        if os.path.isdir(p) or os.path.islink(p) or not os.access(p, os.R_OK):\n"
                      "            continue\n"
                      "        try:\n"
                      "            open(p).read()\n"
                      "        except OSError as e:\n"
                      "            bad.append(f'{p}: {e}')\n"
                      "print('\\n'.join(bad))\n")
            dirs = [self.mnt.path, f"{self.mnt}/system", f"{self.mnt}/cgroup", f"{self.mnt}/self"]
            out = subprocess.run([*prefix, sys.executable, "-c", script, *dirs],
                                 capture_output=True, text=True, check=True)
            self.assertEqual(out.stdout.strip(), "", prefix)


if __name__ == "__main__":
    main("memviewfs", "workload")
