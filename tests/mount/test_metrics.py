#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mount tests for metrics/memviewfs.prom as a fleet scrapes it: promtool
accepts it; the default file has no pid label and no kernel thread; its sums
by comm, user and cgroup equal the sums of the per-process series (-o
metrics_pids) read in the same file; every memory cgroup is exported, not the
reader's; -o metrics_gid= gives a non-root scraper in the group every
process's PSS and nothing more; the MemAvailable series add up; a real
prometheus-node-exporter on 127.0.0.1 serves the aggregated series.

Run by meson (suite 'mount'): test_metrics.py MEMVIEWFS
"""
import errno
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import mvharness  # start_daemon, stop_daemon: one place for every mount test

MEMVIEWFS = None
HEAP_WORKLOAD = LIBSPANALLOC = None  # given in a plain build only
PROM = "metrics/memviewfs.prom"
NOBODY = 65534
# A uid and a gid that no other process on the machine uses: the sleepers
# run as the uid (so its sum is theirs alone), the grant is for the gid.
TEST_UID = 40000 + random.randrange(20000)
TEST_GID = 40000 + random.randrange(20000)


def start_daemon(mountpoint, *options):
    extra = ("-o", ",".join(options)) if options else ()
    return mvharness.start_daemon(MEMVIEWFS, mountpoint, *extra)


def stop_daemon(proc, mountpoint):
    return mvharness.stop_daemon(proc, mountpoint)


class Mount:
    def __init__(self, *options):
        self.dir = tempfile.mkdtemp(prefix="memviewfs-metrics-")
        os.chmod(self.dir, 0o755)
        self.proc = start_daemon(self.dir, *options)

    def close(self):
        code = stop_daemon(self.proc, self.dir)
        os.rmdir(self.dir)
        errors = self.proc.stderr.read()
        self.proc.stderr.close()
        assert code == 0, f"daemon exited {code}: {errors}"

    def read(self, name=PROM, as_user=None):
        if as_user is None:
            with open(f"{self.dir}/{name}") as f:
                return f.read()
        return subprocess.run([*as_user, "cat", f"{self.dir}/{name}"], capture_output=True,
                              text=True, check=True).stdout


def samples(text, family):
    """{labels text: value} of one family ("" for no labels)."""
    out = {}
    for m in re.finditer(rf"^{family}(?:\{{([^}}]*)\}})? (\S+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


def families(text):
    return sorted({m.group(1) for m in re.finditer(r"^# TYPE (\S+) ", text, re.M)})


def as_user(uid, gid, groups=()):
    groups_arg = ["--groups=" + ",".join(map(str, groups))] if groups else ["--clear-groups"]
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", *groups_arg]


def kernel_thread_comms():
    """Comms that only kernel threads carry (no VmSize line in status)."""
    kernel, user = set(), set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except OSError:
            continue
        name = re.search(r"^Name:\t(.*)$", status, re.M).group(1)
        (user if "\nVmSize:" in status else kernel).add(name)
    return kernel - user


class Sleepers:
    """Copies of sleep(1) under a name no other process has, so that their
    comm (and, run as a fresh uid, their user) are theirs alone."""

    def __init__(self, count, prefix=(), cgroup_dir=None):
        self.tmp = tempfile.mkdtemp(prefix="mvm-")
        os.chmod(self.tmp, 0o755)
        self.comm = f"mvm{os.getpid() % 100000}{random.randrange(1000)}"[:15]
        exe = os.path.join(self.tmp, self.comm)
        shutil.copy("/bin/sleep", exe)
        os.chmod(exe, 0o755)
        self.procs = []
        for _ in range(count):
            p = subprocess.Popen([*prefix, exe, "1000"])
            self.procs.append(p)
            if cgroup_dir is not None:
                with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
                    f.write(str(p.pid))
        # until each has exec'd sleep (its comm is ours)
        for p in self.procs:
            for _ in range(500):
                with open(f"/proc/{p.pid}/comm") as f:
                    if f.read().strip() == self.comm:
                        break
                time.sleep(0.01)
        self.pids = [p.pid for p in self.procs]
        # until each sleeps: sleep(1) still faults pages in between its exec
        # and its nanosleep, and the tests compare its memory across reads
        for pid in self.pids:
            last = None
            for _ in range(500):
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    rollup = f.read()
                if state == "S" and rollup == last:
                    break
                last = rollup
                time.sleep(0.02)

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        shutil.rmtree(self.tmp)


def memory_cgroup_dir():
    """(mount point, this process's cgroup path, version) of the memory
    hierarchy, as mountinfo and /proc/self/cgroup say."""
    with open("/proc/self/cgroup") as f:
        lines = f.read().splitlines()
    v1 = [l.split(":", 2)[2] for l in lines if "memory" in l.split(":", 2)[1].split(",")]
    with open("/proc/self/mountinfo") as f:
        mounts = [l.split() for l in f]
    for fields in mounts:
        sep = fields.index("-")
        fstype, super_opts = fields[sep + 1], fields[sep + 3]
        if v1 and fstype == "cgroup" and "memory" in super_opts.split(","):
            return fields[4], v1[0], 1
        if not v1 and fstype == "cgroup2":
            return fields[4], [l for l in lines if l.startswith("0::")][0][3:], 2
    return None


def setUpModule():
    subprocess.run(["promtool", "--version"], capture_output=True, check=True)


class TestDefault(unittest.TestCase):
    """The file as shipped: aggregated, no pid label."""

    @classmethod
    def setUpClass(cls):
        cls.mnt = Mount()

    @classmethod
    def tearDownClass(cls):
        cls.mnt.close()

    def test_promtool_accepts_it(self):
        text = self.mnt.read()
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                               text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

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
        found = memory_cgroup_dir()
        if found is None:
            self.skipTest("no memory cgroup hierarchy mounted")
        mount_point, own, version = found
        name = f"mvm-test-{os.getpid()}"
        parent = os.path.join(mount_point, own.lstrip("/"))
        path = os.path.join(parent, name)
        try:
            os.mkdir(path)
        except OSError as e:
            self.skipTest(f"cannot create a memory cgroup: {e}")
        try:
            limit_file = "memory.limit_in_bytes" if version == 1 else "memory.max"
            try:
                with open(os.path.join(path, limit_file), "w") as f:
                    f.write(str(64 << 20))
            except OSError as e:
                self.skipTest(f"cannot limit the memory cgroup: {e}")
            label = 'cgroup="%s"' % os.path.join(own, name)
            sleepers = Sleepers(2, cgroup_dir=path)
            try:
                # read as nobody, whose own cgroup is this test's parent one
                text = self.mnt.read(as_user=as_user(NOBODY, NOBODY))
            finally:
                sleepers.close()
            self.assertEqual(samples(text, "memviewfs_cgroup_limit_bytes").get(label), 64 << 20)
            self.assertIn(label, samples(text, "memviewfs_cgroup_usage_bytes"))
            self.assertEqual(samples(text, "memviewfs_by_cgroup_processes").get(label), 2)
            self.assertGreater(samples(text, "memviewfs_scrape_cgroups")[""], 1)
        finally:
            for _ in range(100):
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.05)

    def test_node_exporter_serves_the_aggregates(self):
        sleepers = Sleepers(2)
        with socket.socket() as s:  # a free port on 127.0.0.1
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        exporter = subprocess.Popen(
            ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}",
             "--collector.disable-defaults", "--collector.textfile",
             f"--collector.textfile.directory={self.mnt.dir}/metrics"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            body = ""
            for _ in range(200):
                r = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/metrics"],
                                   capture_output=True, text=True)
                if r.returncode == 0 and "memviewfs_by_comm_rss_bytes" in r.stdout:
                    body = r.stdout
                    break
                time.sleep(0.1)
            self.assertRegex(body, r"(?m)^node_textfile_scrape_error 0$")
            self.assertEqual(samples(body, "memviewfs_by_comm_processes")
                             .get(f'comm="{sleepers.comm}"'), 2)
            self.assertIn(f'comm="{sleepers.comm}"', samples(body, "memviewfs_by_comm_pss_bytes"))
            self.assertNotRegex(body, r'(?m)^memviewfs_\w+\{[^}]*\bpid="')
            for by in ("comm", "user", "cgroup"):
                for name in ("processes", "rss_bytes", "pss_bytes"):
                    self.assertRegex(body, rf"(?m)^memviewfs_by_{by}_{name}\{{{by}=")
        finally:
            exporter.terminate()
            exporter.wait()
            sleepers.close()


class TestPerPid(unittest.TestCase):
    """-o metrics_pids: the per-process series beside the sums, in one file,
    from one scan: each sum must equal the sum of its processes."""

    @classmethod
    def setUpClass(cls):
        cls.mnt = Mount("metrics_pids")

    @classmethod
    def tearDownClass(cls):
        cls.mnt.close()

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
        found = memory_cgroup_dir()
        sleepers = Sleepers(3, prefix=as_user(TEST_UID, TEST_UID))
        try:
            text = self.mnt.read()
            with open(f"/proc/{sleepers.pids[0]}/cgroup") as f:
                cgroup = [l.split(":", 2)[2] for l in f.read().splitlines()
                          if "memory" in l.split(":", 2)[1].split(",") or
                          (found and found[2] == 2 and l.startswith("0::"))][0]
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


class TestGrant(unittest.TestCase):
    """-o metrics_gid=GID: like hidepid's gid=, for metrics/ only."""

    @classmethod
    def setUpClass(cls):
        cls.mnt = Mount(f"metrics_gid={TEST_GID}")
        cls.sleepers = Sleepers(2)  # root's: /proc hides their smaps from nobody

    @classmethod
    def tearDownClass(cls):
        cls.sleepers.close()
        cls.mnt.close()

    def test_member_sees_every_process(self):
        comm = f'comm="{self.sleepers.comm}"'
        member = as_user(NOBODY, NOBODY, groups=[TEST_GID])
        outsider = as_user(NOBODY, NOBODY)
        # what /proc lets nobody do: not read a root process's smaps_rollup
        refused = subprocess.run([*outsider, "cat", f"/proc/{self.sleepers.pids[0]}/smaps_rollup"],
                                 capture_output=True)
        self.assertNotEqual(refused.returncode, 0)

        granted = self.mnt.read(as_user=member)
        self.assertEqual(samples(granted, "memviewfs_scrape_full_view")[""], 1)
        unreadable = samples(granted, "memviewfs_scrape_processes_unreadable")[""]
        uss = sum(int(self.mnt.read(f"{pid}/uss")) for pid in self.sleepers.pids)
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
        member = as_user(NOBODY, NOBODY, groups=[TEST_GID])
        pid = self.sleepers.pids[0]
        r = subprocess.run([*member, "cat", f"{self.mnt.dir}/{pid}/pss"], capture_output=True,
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
            r = subprocess.run([MEMVIEWFS, "-f", "-o", "metrics_gid=staff", d],
                               capture_output=True, text=True, timeout=10)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("metrics_gid=staff", r.stderr)
            self.assertFalse(os.path.ismount(d))
        finally:
            os.rmdir(d)


class HeapWorkloads:
    """Copies of heap-workload (tests/mount/heap-workload.c) under a name
    no other process has, preloaded with libspanalloc-malloc.so: their
    spanalloc statistics are what they answer to "stats", which also
    publishes them; idle afterwards, the numbers stand still."""

    def __init__(self, count):
        self.tmp = tempfile.mkdtemp(prefix="mvm-heap-")
        self.comm = f"mvh{os.getpid() % 100000}{random.randrange(1000)}"[:15]
        exe = os.path.join(self.tmp, self.comm)
        shutil.copy(HEAP_WORKLOAD, exe)
        env = dict(os.environ, LD_PRELOAD=LIBSPANALLOC, SPANALLOC_SCAVENGE_MS="600000")
        env.pop("MALLOC_PERTURB_", None)
        self.procs = [subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True, bufsize=1, env=env) for _ in range(count)]
        self.pids = [int(self.reply(p).split()[1]) for p in self.procs]

    @staticmethod
    def reply(proc):
        line = proc.stdout.readline()
        assert line.startswith("ok"), line
        return line

    def do(self, proc, command):
        proc.stdin.write(command + "\n")
        return self.reply(proc).split()[1:]

    def stats(self, proc):
        return {k: int(v) for k, v in (kv.split("=") for kv in self.do(proc, "stats"))}

    def close(self):
        for p in self.procs:
            p.stdin.close()
            p.kill()
            p.wait()
            p.stdout.close()
        shutil.rmtree(self.tmp)


class TestSpanalloc(unittest.TestCase):
    """The spanalloc ladder: summed by comm by default, per pid with
    -o metrics_pids, each equal to what the allocator itself reports."""

    FIELDS = ("sys", "heap_sys", "heap_alloc", "heap_inuse", "heap_objects", "mallocs", "frees")

    def setUp(self):
        if HEAP_WORKLOAD is None:
            self.skipTest("no heap workload (sanitizer build)")
        self.heaps = HeapWorkloads(2)
        self.addCleanup(self.heaps.close)
        self.heaps.do(self.heaps.procs[0], f"alloc 1000 {64 << 10}")
        self.heaps.do(self.heaps.procs[1], "alloc 5000 100")
        self.stats = [self.heaps.stats(p) for p in self.heaps.procs]

    @staticmethod
    def family(field):
        return field + ("_total" if field in ("mallocs", "frees") else
                        "" if field == "heap_objects" else "_bytes")

    def test_summed_by_comm(self):
        mnt = Mount()
        try:
            text = mnt.read()
        finally:
            mnt.close()
        comm = f'comm="{self.heaps.comm}"'
        for field in self.FIELDS:
            got = samples(text, f"memviewfs_by_comm_spanalloc_{self.family(field)}").get(comm)
            self.assertEqual(got, sum(s[field] for s in self.stats), field)
        self.assertIn(comm, samples(text, "memviewfs_by_comm_spanalloc_statistics_age_seconds"))
        self.assertNotIn("memviewfs_process_spanalloc_", text)

    def test_per_pid_with_the_option(self):
        mnt = Mount("metrics_pids")
        try:
            text = mnt.read()
        finally:
            mnt.close()
        for pid, stats in zip(self.heaps.pids, self.stats):
            for field in self.FIELDS:
                got = samples(text, f"memviewfs_process_spanalloc_{self.family(field)}")
                self.assertEqual(got.get(f'pid="{pid}",comm="{self.heaps.comm}"'), stats[field],
                                 field)
        self.assertNotIn("memviewfs_by_comm_spanalloc_", text)


if __name__ == "__main__":
    MEMVIEWFS = os.path.abspath(sys.argv[1])
    if len(sys.argv) > 3 and not sys.argv[2].startswith("-"):
        HEAP_WORKLOAD, LIBSPANALLOC = (os.path.abspath(a) for a in sys.argv[2:4])
        del sys.argv[2:4]
    unittest.main(argv=sys.argv[:1] + sys.argv[2:], verbosity=2)
