#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Container tests: build the image from contrib/container/Containerfile
with podman and run it the ways README.md describes: one memory-limited
container, the debugging sidecar (a pod sharing its PID namespace, by hand
and from contrib/kubernetes/memviewfs-sidecar.yaml), and the DaemonSet's pod
template beside node-exporter.

Every value is checked from inside the container against the kernel's own
files as the container sees them (tests/container/agent.py reads both); a
workload (tests/mount/workload.c) puts known amounts of memory in place.

Host adjustments (README.md, "Containers"): the image registry is not
reachable, so the base image is debootstrapped from Debian's archive
(contrib/container/debian-base.sh, kept between runs as
localhost/debian-base:12); podman runs with a containers.conf of its own
(runtime runc, which accepts hybrid cgroup hosts where crun does not;
ulimits the host's hard limits allow). Containers get no network (pods
--network none): node-exporter is reached on the pod's 127.0.0.1.

Run by meson (suite 'container'): test_container.py SOURCE_ROOT WORKLOAD
"""
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

SOURCE = WORKLOAD = None
CHECKS = os.path.dirname(os.path.abspath(__file__))
PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1024 * 1024
# A process's own counters (smaps_rollup) are exact: the slack is the
# kernel's between two reads, as in the mount tests.
SLACK = 8 * PAGE
# Memory cgroup counters are batched per CPU (MEMCG_CHARGE_BATCH = 64
# pages) and memory.stat is flushed lazily: a read may lag by up to 64
# pages per CPU; twice that, for the reader's own noise.
CG_SLACK = 2 * 64 * PAGE * os.cpu_count()
MNT = "/mnt/memviewfs"           # where the image's entrypoint mounts the tree
IMAGE = None                     # the image built from the Containerfile (an ID)
IMAGE_TAG = "localhost/memviewfs:test"
BASE = "localhost/debian-base:12"
NODE_EXPORTER = None             # set from its Containerfile's hash (see build_node_exporter)
TAG = f"mvtest-{os.getpid()}"    # container and pod names of this run
TMP = None
TIMES = []


def podman(*args, check=True, timeout=900, **kwargs):
    proc = subprocess.run(["podman", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, **kwargs)
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: exit {proc.returncode}\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def timed(label, func, *args):
    start = time.monotonic()
    result = func(*args)
    TIMES.append((label, time.monotonic() - start))
    print(f"{label}: {TIMES[-1][1]:.1f} s", flush=True)
    return result


def write_containers_conf():
    """runc, not crun: crun refuses hosts that mix cgroup v1 controllers with
    a v2 hierarchy. podman's default RLIMIT_NOFILE and RLIMIT_NPROC are above
    what a host may allow (runc then fails with "error setting rlimit"):
    the host's hard limits, and NPROC at most the 32768 podman 4.3 keeps for
    itself (so for the runtime it starts)."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nofile = 1048576 if nofile == resource.RLIM_INFINITY else min(nofile, 1048576)
    nproc = 32768 if nproc == resource.RLIM_INFINITY else min(nproc, 32768)
    path = os.path.join(TMP, "containers.conf")
    with open(path, "w") as f:
        f.write("[containers]\n"
                f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
                "[engine]\n"
                'runtime = "runc"\n')
    os.environ["CONTAINERS_CONF"] = path


def build_image():
    """Builds the Containerfile as it is, FROM the local base image; the
    package layer stays cached between runs. The previous run's image is
    removed (its package layer is shared with this one and stays)."""
    old = podman("image", "inspect", "--format", "{{.Id}}", IMAGE_TAG, check=False).stdout.strip()
    iidfile = os.path.join(TMP, "iid")
    podman("build", "--from", BASE, "--network", "host", "--iidfile", iidfile,
           "-t", IMAGE_TAG, "-f", os.path.join(SOURCE, "contrib/container/Containerfile"), SOURCE)
    with open(iidfile) as f:
        image = f.read().strip()
    if old and not image.endswith(old):
        podman("rmi", old, check=False)  # in use by a concurrent run: it stays
    return image


def build_node_exporter():
    """node-exporter from Debian's package, in place of the DaemonSet's
    quay.io image (no registry here); kept between runs, tagged with its
    Containerfile's hash so that a changed Containerfile builds anew."""
    global NODE_EXPORTER
    with open(os.path.join(CHECKS, "node-exporter.Containerfile"), "rb") as f:
        NODE_EXPORTER = f"localhost/memviewfs-node-exporter:{hashlib.sha256(f.read()).hexdigest()[:12]}"
    if podman("image", "exists", NODE_EXPORTER, check=False).returncode == 0:
        return
    podman("build", "--from", BASE, "--network", "host", "-t", NODE_EXPORTER,
           "-f", os.path.join(CHECKS, "node-exporter.Containerfile"), CHECKS)


def setUpModule():
    global IMAGE, TMP
    if shutil.which("podman") is None:
        raise RuntimeError("podman is not installed (dev/deps container installs it)")
    if not os.path.exists("/dev/fuse"):
        raise RuntimeError("no /dev/fuse on this host: the container cannot mount the tree")
    TMP = tempfile.mkdtemp(prefix="memviewfs-container-")
    write_containers_conf()
    timed("base image (debootstrap when missing)", subprocess.run,
          [os.path.join(SOURCE, "contrib/container/debian-base.sh")]).check_returncode()
    IMAGE = timed("podman build (Containerfile)", build_image)
    timed("node-exporter image (when missing)", build_node_exporter)


def tearDownModule():
    for label, seconds in TIMES:
        print(f"time {label}: {seconds:.1f} s")
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


class Agent:
    """tests/container/agent.py running in a container, one request/answer
    per line (see there). Its source goes in as an argument (python3 -c), so
    the container needs no volume for it."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)

    def __call__(self, op, **kwargs):
        try:
            self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self.proc.kill()
            raise RuntimeError(f"agent ended: {self.proc.communicate()[1]}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"agent {op}: {answer['error']}")
        return answer

    def close(self):
        if self.proc.poll() is None:
            self.proc.communicate(timeout=60)


def agent_source():
    with open(os.path.join(CHECKS, "agent.py")) as f:
        return f.read()


def exec_agent(container):
    return Agent(["podman", "exec", "-i", container, "python3", "-c", agent_source()])


WORKLOAD_IN_CONTAINER = "/usr/local/bin/mv-workload"


def mounts():
    """The workload, bind-mounted into a test container."""
    return ["-v", f"{WORKLOAD}:{WORKLOAD_IN_CONTAINER}:ro"]


def tree_int(text):
    assert re.fullmatch(r"\d+\n", text), repr(text)
    return int(text)


def memory_cgroup_line(agent, pid):
    """The memory cgroup of PID as /proc/PID/cgroup names it: the v1
    "memory" line, else the v2 "0::" one."""
    lines = agent("read", path=f"/proc/{pid}/cgroup")["text"].splitlines()
    v1 = [line for line in lines if line.split(":")[1] == "memory"]
    return (v1 or [line for line in lines if line.startswith("0::")])[0]


class Checks:
    """Assertions shared by the container and the sidecar tests."""

    def assert_mounted(self, agent):
        info = agent("mounted", mnt=MNT)
        self.assertEqual(len(info["mountinfo"]), 1, info["mountinfo"])
        self.assertIn(" - fuse.memviewfs ", info["mountinfo"][0])
        for name in ("README", "processes", "cgroup", "system", "self"):
            self.assertIn(name, info["listing"])

    def assert_processes_are_procs(self, agent):
        """processes lists exactly the pids this container's /proc lists
        (taken again until /proc holds still around the read)."""
        for _ in range(20):
            snap = agent("processes", mnt=MNT)
            if snap["before"] == snap["after"]:
                break
        self.assertEqual(snap["before"], snap["after"], "/proc kept changing")
        self.assertEqual(snap["header"][:3], ["pid", "user", "comm"])
        listed = sorted(int(row["pid"]) for row in snap["rows"])
        self.assertEqual(listed, snap["before"], snap["text"])
        self.assertIn(snap["self"], listed)
        return snap

    def assert_exact_memory(self, agent, pid):
        """<pid>'s rss/pss/uss/swap in the tree are smaps_rollup's, read by
        the same container, when the process held still around the read."""
        for _ in range(20):
            v = agent("pid", mnt=MNT, pid=pid)
            if v["before"] == v["after"]:
                break
        self.assertEqual(v["before"], v["after"], f"{pid} kept changing")
        kernel = v["before"]
        self.assertEqual(v["tree"]["comm"], v["comm"])
        self.assertEqual(tree_int(v["tree"]["rss"]), kernel["Rss"])
        self.assertEqual(tree_int(v["tree"]["pss"]), kernel["Pss"])
        self.assertEqual(tree_int(v["tree"]["swap"]), kernel["Swap"])
        uss = kernel["Private_Clean"] + kernel["Private_Dirty"]
        self.assertEqual(tree_int(v["tree"]["uss"]), uss)
        return {name: (v["tree"][name] if name == "comm" else tree_int(v["tree"][name]))
                for name in v["tree"]}

    def assert_anon_moves_rss(self, workload_agent, reader, pid, size):
        """The workload maps and touches SIZE bytes: its rss in the reader's
        tree moves by exactly that (within SLACK)."""
        before = self.assert_exact_memory(reader, pid)
        reply = workload_agent("workload", line=f"anon {size}")["reply"]
        self.assertTrue(reply.startswith("ok"), reply)
        after = self.assert_exact_memory(reader, pid)
        self.assertAlmostEqual(after["rss"] - before["rss"], size, delta=SLACK)
        self.assertAlmostEqual(after["anon_private"] - before["anon_private"], size, delta=SLACK)


class TestContainer(unittest.TestCase, Checks):
    """podman run --memory 512m: the container's own processes and cgroup."""
    LIMIT = 512 * MiB

    @classmethod
    def setUpClass(cls):
        cls.name = f"{TAG}-run"
        podman("run", "-d", "--name", cls.name, "--memory", str(cls.LIMIT),
               "--device", "/dev/fuse", "--cap-add", "SYS_ADMIN", "--network", "none",
               *mounts(), IMAGE, "sleep", "infinity")
        cls.agent = exec_agent(cls.name)

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()
        podman("rm", "-f", "-t", "0", cls.name, check=False)

    def test_1_tree_mounted(self):
        self.assert_mounted(self.agent)

    def test_2_processes_are_the_containers(self):
        snap = self.assert_processes_are_procs(self.agent)
        comms = {row["comm"] for row in snap["rows"]}
        self.assertTrue({"memviewfs", "sleep", "python3"} <= comms, comms)
        # nothing of the host: every pid is one of the container's cgroup
        cg = self.agent("cgroup", mnt=MNT)["after"]
        self.assertTrue(set(int(r["pid"]) for r in snap["rows"]) <= set(cg["procs"]),
                        (snap["rows"], cg["procs"]))

    def test_3_cgroup_is_the_containers(self):
        cg = self.agent("cgroup", mnt=MNT)
        before, after, tree = cg["before"], cg["after"], cg["tree"]
        self.assertEqual(before["limit"], self.LIMIT)  # podman applied --memory
        self.assertEqual(tree_int(tree["limit"]), before["limit"])
        own = memory_cgroup_line(self.agent, "self").split(":", 2)[2]
        self.assertEqual(tree["path"].strip(), own)
        usage = tree_int(tree["usage"])
        self.assertGreaterEqual(usage, min(before["usage"], after["usage"]) - CG_SLACK)
        self.assertLessEqual(usage, max(before["usage"], after["usage"]) + CG_SLACK)
        # available = limit - usage + reclaimable, capped at the limit
        expected = [min(d["limit"], max(0, d["limit"] - d["usage"] + d["reclaimable"]))
                    for d in (before, after)]
        available = tree_int(tree["available"])
        self.assertGreaterEqual(available, min(expected) - 2 * CG_SLACK)
        self.assertLessEqual(available, max(expected) + 2 * CG_SLACK)
        self.assertLess(available, self.LIMIT + 1)

    def test_4_workload_moves_anon_and_rss(self):
        size = 64 * MiB
        start = self.agent("spawn", argv=[WORKLOAD_IN_CONTAINER])
        self.assertTrue(start["reply"].startswith("ok"), start)
        pid = start["pid"]
        self.assertIn(pid, self.assert_processes_are_procs(self.agent)["before"])
        cg_before = self.agent("cgroup", mnt=MNT)
        self.assert_anon_moves_rss(self.agent, self.agent, pid, size)
        cg_after = self.agent("cgroup", mnt=MNT)
        moved_tree = tree_int(cg_after["tree"]["anon"]) - tree_int(cg_before["tree"]["anon"])
        moved_kernel = cg_after["after"]["anon"] - cg_before["before"]["anon"]
        self.assertAlmostEqual(moved_tree, size, delta=CG_SLACK)
        self.assertAlmostEqual(moved_kernel, size, delta=CG_SLACK)
        print(f"workload {pid}: anon {size}: cgroup/anon moved {moved_tree}, "
              f"memory.stat moved {moved_kernel}")

    def test_5_clean_stop(self):
        """podman stop: SIGTERM reaches the entrypoint, which stops the
        command and then the daemon; the daemon unmounts and exits 0, and
        nothing needs SIGKILL (exit 137)."""
        self.agent.close()
        podman("stop", "-t", "60", self.name)
        state = podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout.strip()
        logs = podman("logs", self.name)
        log = logs.stdout + logs.stderr
        self.assertEqual(state, "143", log)  # sleep ended by SIGTERM, passed on
        self.assertIn("memviewfs-entrypoint: memviewfs exited 0", log)


class TestSidecar(unittest.TestCase, Checks):
    """A pod sharing its PID namespace: the application's container and the
    memviewfs container; the sidecar's tree shows the application."""
    APP_LIMIT = 256 * MiB
    SIDECAR_LIMIT = 128 * MiB

    @classmethod
    def setUpClass(cls):
        cls.pod = f"{TAG}-pod"
        podman("pod", "create", "--name", cls.pod, "--share", "pid", "--network", "none")
        # the application: the workload, driven by an agent in its container
        cls.app = Agent(["podman", "run", "-i", "--rm", "--pod", cls.pod, "--name",
                         f"{cls.pod}-app", "--memory", str(cls.APP_LIMIT), *mounts(),
                         "--entrypoint", "python3", IMAGE, "-c", agent_source()])
        cls.sidecar = f"{cls.pod}-memviewfs"
        podman("run", "-d", "--pod", cls.pod, "--name", cls.sidecar,
               "--memory", str(cls.SIDECAR_LIMIT), "--device", "/dev/fuse",
               "--cap-add", "SYS_ADMIN", *mounts(), IMAGE, "sleep", "infinity")
        cls.reader = exec_agent(cls.sidecar)

    @classmethod
    def tearDownClass(cls):
        cls.reader.close()
        cls.app.close()
        podman("pod", "rm", "-f", "-t", "0", cls.pod, check=False)

    def test_sidecar_sees_the_application(self):
        self.assert_mounted(self.reader)
        start = self.app("spawn", argv=[WORKLOAD_IN_CONTAINER])
        pid = start["pid"]  # the application's pid: the pod's one namespace
        snap = self.assert_processes_are_procs(self.reader)
        row = next(r for r in snap["rows"] if int(r["pid"]) == pid)
        self.assertEqual(row["comm"], os.path.basename(WORKLOAD_IN_CONTAINER))
        # the application's process is in the application's cgroup, not ours
        self.assertNotEqual(memory_cgroup_line(self.reader, pid),
                            memory_cgroup_line(self.reader, "self"))
        self.assert_anon_moves_rss(self.app, self.reader, pid, 32 * MiB)
        values = self.assert_exact_memory(self.reader, pid)
        # cgroup/ is the reader's own: the sidecar's limit, not the app's
        cg = self.reader("cgroup", mnt=MNT)
        self.assertEqual(tree_int(cg["tree"]["limit"]), self.SIDECAR_LIMIT)
        print(f"sidecar sees application pid {pid}: {values}")
        print(snap["text"])


class TestSidecarSpec(unittest.TestCase, Checks):
    """contrib/kubernetes/memviewfs-sidecar.yaml with podman play kube; only
    the images (local ones here) and the pod's name (per run) replaced."""

    def test_spec_plays(self):
        with open(os.path.join(SOURCE, "contrib/kubernetes/memviewfs-sidecar.yaml")) as f:
            spec = yaml.safe_load(f)
        self.assertTrue(spec["spec"]["shareProcessNamespace"])
        name = f"{TAG}-spec"
        spec["metadata"]["name"] = name
        images = {"memviewfs:latest": IMAGE, "docker.io/library/debian:12": BASE}
        for c in spec["spec"]["containers"]:
            c["image"] = images[c["image"]]
        path = os.path.join(TMP, "sidecar.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(spec, f)
        reader = None
        try:
            podman("play", "kube", "--network", "none", path)
            reader = exec_agent(f"{name}-memviewfs")
            self.assert_mounted(reader)
            snap = self.assert_processes_are_procs(reader)
            own = memory_cgroup_line(reader, "self")
            apps = [int(r["pid"]) for r in snap["rows"] if r["comm"] == "sleep"
                    and memory_cgroup_line(reader, int(r["pid"])) != own]
            self.assertEqual(len(apps), 1, snap["text"])
            values = self.assert_exact_memory(reader, apps[0])
            self.assertGreater(values["rss"], 0)
            print(f"sidecar (from the spec) sees the application's sleep {apps[0]}: {values}")
        finally:
            if reader:
                reader.close()
            podman("play", "kube", "--down", path, check=False)


class TestDaemonSet(unittest.TestCase):
    """contrib/kubernetes/memviewfs-daemonset.yaml: podman (4.3) plays Pods
    and Deployments but not DaemonSets, so its pod template is played as a
    Pod; podman 4.3 also ignores hostPID, which test_host_pid checks with
    podman run --pid host instead.
    Changed for this host, and only that: the images (local ones), the
    container ports (with --network none the pod has only a loopback, where
    podman refuses port mappings; node-exporter listens all the same), and
    the emptyDir (a hostPath on a shared mount instead: this host's / is
    not a shared mount, as kubelet's nodes' is, so mount propagation from
    the memviewfs container to node-exporter needs one)."""

    def setUp(self):
        with open(os.path.join(SOURCE, "contrib/kubernetes/memviewfs-daemonset.yaml")) as f:
            self.ds = yaml.safe_load(f)
        self.shared = None

    def tearDown(self):
        # the bind mount, and what propagated onto it from the pod (by
        # mountinfo: a dead FUSE mount's stat() fails, so ismount() is False)
        def mounted():
            with open("/proc/self/mountinfo") as f:
                return any(line.split()[4] == self.shared for line in f)
        for _ in range(10):
            if not (self.shared and mounted()):
                break
            subprocess.run(["umount", "-l", self.shared], check=True)
        else:
            self.fail(f"{self.shared} still mounted")

    def test_manifest(self):
        """What the API server would check first: kind, selector matching the
        template's labels, one image per container, the volume mounted."""
        ds = self.ds
        self.assertEqual((ds["apiVersion"], ds["kind"]), ("apps/v1", "DaemonSet"))
        labels = ds["spec"]["template"]["metadata"]["labels"]
        for key, value in ds["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(labels.get(key), value)
        spec = ds["spec"]["template"]["spec"]
        volumes = {v["name"] for v in spec["volumes"]}
        for c in spec["containers"]:
            self.assertTrue(c["image"])
            for m in c["volumeMounts"]:
                self.assertIn(m["name"], volumes)

    def test_host_pid(self):
        """The DaemonSet's container as podman run gives it the node's PID
        namespace (hostPID, privileged): the tree shows the node's processes.
        They come and go: every pid /proc holds before AND after the read
        must be listed, and the host's pid 1 among them."""
        name = f"{TAG}-hostpid"
        podman("run", "-d", "--name", name, "--pid", "host", "--privileged", "--network", "none",
               IMAGE, "sleep", "infinity")
        agent = exec_agent(name)
        try:
            snap = agent("processes", mnt=MNT)
        finally:
            agent.close()
            podman("rm", "-f", "-t", "0", name, check=False)
        listed = {int(row["pid"]) for row in snap["rows"]}
        stayed = set(snap["before"]) & set(snap["after"])
        self.assertEqual(stayed - listed, set(), snap["text"])
        self.assertIn(1, listed)
        self.assertIn(os.getpid(), listed)  # this test, on the host
        print(f"hostPID: {len(listed)} processes of the node listed")

    def test_node_exporter_serves_memviewfs(self):
        template = self.ds["spec"]["template"]
        name = f"{TAG}-ds"
        self.shared = os.path.join(TMP, "memviewfs-volume")
        os.mkdir(self.shared)
        subprocess.run(["mount", "--bind", self.shared, self.shared], check=True)
        subprocess.run(["mount", "--make-shared", self.shared], check=True)
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "labels": template["metadata"]["labels"]},
               "spec": template["spec"]}
        images = {"memviewfs:latest": IMAGE,
                  "quay.io/prometheus/node-exporter:latest": NODE_EXPORTER}
        memviewfs_limit = None
        for c in pod["spec"]["containers"]:
            c["image"] = images[c["image"]]
            c.pop("ports", None)
            if c["name"] == "memviewfs":
                memviewfs_limit = c["resources"]["limits"]["memory"]
        pod["spec"]["volumes"] = [{"name": v["name"], "hostPath": {"path": self.shared,
                                                                   "type": "Directory"}}
                                  for v in pod["spec"]["volumes"]]
        path = os.path.join(TMP, "daemonset-pod.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(pod, f)
        agent = None
        try:
            podman("play", "kube", "--network", "none", path)
            agent = exec_agent(f"{name}-memviewfs")
            for _ in range(100):  # node-exporter starts listening
                try:
                    metrics = agent("fetch", url="http://127.0.0.1:9100/metrics")["body"]
                    break
                except RuntimeError:
                    time.sleep(0.1)
            else:
                self.fail("node-exporter did not answer on 127.0.0.1:9100")
            prom = agent("read", path="/memviewfs/metrics/memviewfs.prom")["text"]
        finally:
            if agent:
                agent.close()
            podman("play", "kube", "--down", path, check=False)

        def families(text):
            return {m.group(1) for m in re.finditer(r"^(memviewfs_\w+)[{ ]", text, re.M)}

        served = families(metrics)
        self.assertIn("node_textfile_scrape_error 0\n", metrics)
        self.assertTrue(served)
        self.assertEqual(served, families(prom))
        # the memviewfs container's own limit, from the manifest's resources
        self.assertEqual(memviewfs_limit, "128Mi")
        limit = re.search(r"^memviewfs_cgroup_limit_bytes\{[^}]*\} (\S+)$", metrics, re.M)
        self.assertEqual(float(limit.group(1)), 128 * MiB)
        # the daemon's own series (podman 4.3 ignores hostPID: the pod has
        # its own PID namespace here; test_host_pid covers the node's view)
        # summed by comm (no pid label by default); node-exporter (nobody,
        # group 9100 = metrics_gid) gets the daemon's full view: the
        # daemon's own PSS, which /proc shows only to root
        self.assertRegex(metrics, r'(?m)^memviewfs_by_comm_rss_bytes\{comm="memviewfs"\} ')
        self.assertRegex(metrics, r'(?m)^memviewfs_by_comm_pss_bytes\{comm="memviewfs"\} [1-9]')
        self.assertIn("memviewfs_scrape_full_view 1\n", metrics)
        self.assertNotRegex(metrics, r'(?m)^memviewfs_\w+\{[^}]*\bpid="')
        comms = {m.group(1) for m in re.finditer(r'^memviewfs_by_comm_\w+\{comm="([^"]*)"',
                                                 metrics, re.M)}
        print(f"node-exporter served {len(served)} memviewfs families for {len(comms)} commands")


if __name__ == "__main__":
    SOURCE, WORKLOAD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)  # then test names
