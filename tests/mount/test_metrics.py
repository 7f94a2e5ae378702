#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests for metrics/memviewfs.prom as a fleet scrapes it: promtool
accepts it; the default file has no pid label and no kernel thread; its sums
by comm, user and cgroup equal the sums of the per-process series (-o
metrics_pids) read in the same file; every memory cgroup is exported, not the
reader's; -o metrics_gid= gives a non-root scraper in the group every
process's PSS and nothing more; the MemAvailable series add up; a real
prometheus-node-exporter on 127.0.0.1 serves the aggregated series.

Run by meson (suite 'mount'): test_metrics.py MEMVIEWFS [HEAP_WORKLOAD LIBSPANALLOC]
"""
import os
import random
import re
import subprocess
import tempfile
import unittest

from mvharness import (NOBODY, NOBODY_ID, HeapWorkloads, Mount, MountTestCase, NodeExporter,
                       Sleepers, as_user, families, kernel_thread_comms, main, make_cgroup,
                       own_memory_cgroup, programs, promtool_check, samples)

# A uid and a gid that no other process on the machine uses: the sleepers
# run as the uid (so its sum is theirs alone), the grant is for the gid.
TEST_UID = 40000 + random.randrange(20000)
TEST_GID = 40000 + random.randrange(20000)


def setUpModule():
    subprocess.run(["promtool", "--version"], capture_output=True, check=True)


class TestDefault(MountTestCase):
    """The file as shipped: aggregated, no pid label."""

    def test_promtool_accepts_it(self):
        text = self.mnt.read()
        code, said = promtool_check(text)
        self.assertEqual(code, 0, said)

    def test_no_pid_label_and_no_kernel_thread(self):
        kernel = kernel_thread_comms()
        self.assertIn("kthreadd", kernel)  # a kernel thread this test can name
        text = self.mnt.read()
        self.assertNotRegex(text, r'(?m)^memviewfs_\w+\{[^}]*\bpid="')
        self.assertNotIn("memviewfs_process_", text)
        comms = {m.group(1) for m in re.finditer(r'^memviewfs_by_comm_\w+\{comm="([^"]*)"\}',
                                                 text, re.M)}
        self.assertTrue(comms)
        self.assertEqual(comms & kernel, set())
        # kernel threads are counted, not exported
        self.assertGreater(samples(text, "memviewfs_scrape_kernel_threads")[""], 0)
        self.assertGreater(samples(text, "memviewfs_scrape_duration_seconds")[""], 0)

    def test_scraper_self_series(self):
        text = self.mnt.read()
        processes = samples(text, "memviewfs_scrape_processes")[""]
        kthreads = samples(text, "memviewfs_scrape_kernel_threads")[""]
        by_comm = sum(samples(text, "memviewfs_by_comm_processes").values())
        # every process read is either a kernel thread or in one comm's sum
        # (minus those that exited between the scan and the sums: none here
        # for by_comm, which needs nothing more than the scan)
        self.assertEqual(processes, kthreads + by_comm)
        self.assertEqual(sum(samples(text, "memviewfs_by_user_processes").values()), by_comm)
        # no metrics_gid=: even root reads with its own credentials
        self.assertEqual(samples(text, "memviewfs_scrape_full_view")[""], 0)

    def test_available_series_add_up(self):
        text = self.mnt.read()
        one = lambda name: samples(text, f"memviewfs_system_available_{name}_bytes")[""]
        terms = samples(text, "memviewfs_system_available_estimate_terms_bytes")
        self.assertEqual(sorted(terms), ['term="free"', 'term="pagecache"', 'term="reclaimable"'])
        self.assertEqual(terms['term="free"'], one("mem_free") - one("total_reserve"))
        self.assertEqual(terms['term="pagecache"'], one("pagecache") - one("pagecache_kept"))
        self.assertEqual(max(sum(terms.values()), 0), one("estimate"))
        # no metric carries terms of opposite signs under one name any more
        self.assertNotIn("memviewfs_system_available_breakdown_bytes", text)
        self.assertRegex(text, r"(?m)^# HELP memviewfs_system_available_bytes .*"
                               r"node_memory_MemAvailable_bytes")

    def test_every_memory_cgroup_not_the_readers(self):
        cgroup = own_memory_cgroup(missing_ok=True)
        if cgroup is None:
            self.skipTest("no memory cgroup hierarchy mounted")
        name = f"mvm-test-{os.getpid()}"
        try:
            path = make_cgroup(self, cgroup.dir, name, cgroup.version, 64 << 20)
        except OSError as e:
            self.skipTest(f"cannot create a limited memory cgroup: {e}")
        label = 'cgroup="%s"' % os.path.join(cgroup.path, name)
        sleepers = Sleepers(2, cgroup_dir=path)
        try:
            # read as nobody, whose own cgroup is this test's parent one
            text = self.mnt.read(as_user=NOBODY)
        finally:
            sleepers.close()
        self.assertEqual(samples(text, "memviewfs_cgroup_limit_bytes").get(label), 64 << 20)
        self.assertIn(label, samples(text, "memviewfs_cgroup_usage_bytes"))
        self.assertEqual(samples(text, "memviewfs_by_cgroup_processes").get(label), 2)
        self.assertGreater(samples(text, "memviewfs_scrape_cgroups")[""], 1)

    def test_node_exporter_serves_the_aggregates(self):
        sleepers = Sleepers(2)
        exporter = NodeExporter(f"{self.mnt}/metrics")
        try:
            body = exporter.scrape("memviewfs_by_comm_rss_bytes")
            self.assertRegex(body, r"(?m)^node_textfile_scrape_error 0$")
            self.assertEqual(samples(body, "memviewfs_by_comm_processes")
                             .get(f'comm="{sleepers.comm}"'), 2)
            self.assertIn(f'comm="{sleepers.comm}"', samples(body, "memviewfs_by_comm_pss_bytes"))
            self.assertNotRegex(body, r'(?m)^memviewfs_\w+\{[^}]*\bpid="')
            for by in ("comm", "user", "cgroup"):
                for name in ("processes", "rss_bytes", "pss_bytes"):
                    self.assertRegex(body, rf"(?m)^memviewfs_by_{by}_{name}\{{{by}=")
        finally:
            exporter.close()
            sleepers.close()


class TestPerPid(MountTestCase):
    """-o metrics_pids: the per-process series beside the sums, in one file,
    from one scan: each sum must equal the sum of its processes."""

    MOUNT_OPTIONS = ("metrics_pids",)

    def test_sums_by_comm_equal_the_per_pid_series(self):
        text = self.mnt.read()
        names = [f[len("memviewfs_process_"):] for f in families(text)
                 if f.startswith("memviewfs_process_") and "spanalloc" not in f]
        self.assertIn("pss_bytes", names)
        checked = 0
        for name in names:
            per_pid = {}
            for m in re.finditer(rf'^memviewfs_process_{name}\{{pid="(\d+)",comm="((?:[^"\\]|\\.)*)"\}} (\d+)$',
                                 text, re.M):
                per_pid.setdefault(m.group(2), 0)
                per_pid[m.group(2)] += int(m.group(3))
            sums = {k[len('comm="'):-1]: v
                    for k, v in samples(text, f"memviewfs_by_comm_{name}").items()}
            for comm, total in sums.items():
                self.assertEqual(total, per_pid.get(comm), f"{name} of {comm}")
                checked += 1
        self.assertGreater(checked, 20)

    def test_sums_by_user_and_cgroup_of_known_processes(self):
        found = own_memory_cgroup(missing_ok=True)
        sleepers = Sleepers(3, prefix=as_user(TEST_UID, TEST_UID))
        try:
            text = self.mnt.read()
            with open(f"/proc/{sleepers.pids[0]}/cgroup") as f:
                cgroup = [l.split(":", 2)[2] for l in f.read().splitlines()
                          if "memory" in l.split(":", 2)[1].split(",") or
                          (found and found.version == 2 and l.startswith("0::"))][0]
        finally:
            sleepers.close()
        user = f'user="{TEST_UID}"'  # no passwd entry: the number
        self.assertEqual(samples(text, "memviewfs_by_user_processes").get(user), 3)
        for name in ("rss_bytes", "pss_bytes", "uss_bytes", "vsz_bytes", "anon_private_bytes"):
            per_pid = 0
            for pid in sleepers.pids:
                m = re.search(rf'^memviewfs_process_{name}\{{pid="{pid}",comm="[^"]*"\}} (\d+)$',
                              text, re.M)
                per_pid += int(m.group(1))
            self.assertGreater(per_pid, 0)
            self.assertEqual(samples(text, f"memviewfs_by_user_{name}").get(user), per_pid, name)
        # the cgroup's sum holds the sleepers' (and whatever else lives there)
        by_cgroup = samples(text, "memviewfs_by_cgroup_processes").get(f'cgroup="{cgroup}"')
        self.assertGreaterEqual(by_cgroup, 3)


class TestGrant(MountTestCase):
    """-o metrics_gid=GID: like hidepid's gid=, for metrics/ only."""

    MOUNT_OPTIONS = (f"metrics_gid={TEST_GID}",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sleepers = Sleepers(2)  # root's: /proc hides their smaps from nobody
        cls.addClassCleanup(cls.sleepers.close)

    def test_member_sees_every_process(self):
        comm = f'comm="{self.sleepers.comm}"'
        member = as_user(NOBODY_ID, NOBODY_ID, groups=[TEST_GID])
        outsider = NOBODY
        # what /proc lets nobody do: not read a root process's smaps_rollup
        refused = subprocess.run([*outsider, "cat", f"/proc/{self.sleepers.pids[0]}/smaps_rollup"],
                                 capture_output=True)
        self.assertNotEqual(refused.returncode, 0)

        # the sleepers' USS can move by a page while another process maps
        # one of their pages for a moment (seen once under the sanitizers: a
        # page less during the scrape only, the reads before and after
        # equal): compare within a window where the reads before and after
        # the scrape and the scrape agree; a sum that is wrong never does
        for _ in range(20):
            uss = sum(int(self.mnt.read(f"{pid}/uss")) for pid in self.sleepers.pids)
            granted = self.mnt.read(as_user=member)
            if (sum(int(self.mnt.read(f"{pid}/uss")) for pid in self.sleepers.pids) == uss and
                    samples(granted, "memviewfs_by_comm_uss_bytes").get(comm) == uss):
                break
        self.assertEqual(samples(granted, "memviewfs_scrape_full_view")[""], 1)
        unreadable = samples(granted, "memviewfs_scrape_processes_unreadable")[""]
        self.assertGreater(uss, 0)
        self.assertEqual(samples(granted, "memviewfs_by_comm_uss_bytes").get(comm), uss)
        self.assertGreater(samples(granted, "memviewfs_by_comm_pss_bytes").get(comm, 0), 0)
        self.assertGreater(samples(granted, "memviewfs_by_user_pss_bytes").get('user="root"', 0), 0)

        plain = self.mnt.read(as_user=outsider)
        self.assertEqual(samples(plain, "memviewfs_scrape_full_view")[""], 0)
        # the processes /proc hides from nobody (every root one) are counted
        self.assertGreater(samples(plain, "memviewfs_scrape_processes_unreadable")[""],
                           unreadable + 1)
        self.assertNotIn(comm, samples(plain, "memviewfs_by_comm_pss_bytes"))
        self.assertNotIn('user="root"', samples(plain, "memviewfs_by_user_pss_bytes"))
        self.assertEqual(samples(plain, "memviewfs_by_comm_processes").get(comm), 2)

    def test_grant_is_for_metrics_only(self):
        member = as_user(NOBODY_ID, NOBODY_ID, groups=[TEST_GID])
        pid = self.sleepers.pids[0]
        r = subprocess.run([*member, "cat", f"{self.mnt.path}/{pid}/pss"], capture_output=True,
                           text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)
        rows = self.mnt.read("processes", as_user=member).splitlines()
        header = rows[0].split()
        row = [r.split() for r in rows[1:] if r.split()[0] == str(pid)][0]
        self.assertEqual(row[header.index("pss")], "-")

    def test_bad_gid_is_refused(self):
        d = tempfile.mkdtemp(prefix="memviewfs-metrics-bad-")
        try:
            r = subprocess.run([programs.memviewfs, "-f", "-o", "metrics_gid=staff", d],
                               capture_output=True, text=True, timeout=10)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("metrics_gid=staff", r.stderr)
            self.assertFalse(os.path.ismount(d))
        finally:
            os.rmdir(d)


class TestSpanalloc(unittest.TestCase):
    """The spanalloc ladder: summed by comm by default, per pid with
    -o metrics_pids, each equal to what the allocator itself reports."""

    FIELDS = ("sys", "heap_sys", "heap_alloc", "heap_inuse", "heap_objects", "mallocs", "frees")

    def setUp(self):
        if programs.heap_workload is None:
            self.skipTest("no heap workload (sanitizer build)")
        self.heaps = HeapWorkloads(programs.heap_workload, programs.libspanalloc, 2)
        self.addCleanup(self.heaps.close)
        self.heaps.workloads[0].do(f"alloc 1000 {64 << 10}")
        self.heaps.workloads[1].do("alloc 5000 100")
        self.stats = [w.stats() for w in self.heaps.workloads]

    @staticmethod
    def family(field):
        return field + ("_total" if field in ("mallocs", "frees") else
                        "" if field == "heap_objects" else "_bytes")

    def test_summed_by_comm(self):
        with Mount() as mnt:
            text = mnt.read()
        comm = f'comm="{self.heaps.comm}"'
        for field in self.FIELDS:
            got = samples(text, f"memviewfs_by_comm_spanalloc_{self.family(field)}").get(comm)
            self.assertEqual(got, sum(s[field] for s in self.stats), field)
        self.assertIn(comm, samples(text, "memviewfs_by_comm_spanalloc_statistics_age_seconds"))
        self.assertNotIn("memviewfs_process_spanalloc_", text)

    def test_per_pid_with_the_option(self):
        with Mount("metrics_pids") as mnt:
            text = mnt.read()
        for pid, stats in zip(self.heaps.pids, self.stats):
            for field in self.FIELDS:
                got = samples(text, f"memviewfs_process_spanalloc_{self.family(field)}")
                self.assertEqual(got.get(f'pid="{pid}",comm="{self.heaps.comm}"'), stats[field],
                                 field)
        self.assertNotIn("memviewfs_by_comm_spanalloc_", text)


if __name__ == "__main__":
    main("memviewfs", optional=("heap_workload", "libspanalloc"))
