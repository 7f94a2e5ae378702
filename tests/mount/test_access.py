#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Access matrix: memviewfs must give every reader exactly what /proc gives
that reader, file by file, process by process.

Readers (each a forked child of this test that sets its own credentials, so
that a capability held only in the permitted set survives: exec would drop
it): root; root without capabilities; an ordinary user; the same user with
capabilities in its permitted set only; the same user inside a new user
namespace (root there, with every capability of that namespace).

Targets: a root process; a non-dumpable root process without capabilities;
the user's own process; its non-dumpable one; its process holding a
capability in the permitted set; another user's; a setuid-root program run
by the user; a program with a file capability (setcap) run by the user; a
kernel thread; the daemon itself.

For every reader x target x file of <pid>/ (and the target's row of
`processes` and of `metrics/memviewfs.prom`) the reader reads the mounted
file and the /proc file it derives from; the outcomes (readable, or the
errno) must be the same. Printed: cells, leaks (memviewfs shows what /proc
refuses), over-refusals (it refuses what /proc shows), other differences.

Then a hidepid=2 /proc in a private mount namespace with the tree mounted
there: an ordinary user sees in the tree exactly the pids /proc shows it
(listing, lookup, `processes`, `metrics/`), and a member of the gid= group
sees them all.

The users are created here and removed afterwards.

Run by meson (suite 'mount'): test_access.py MEMVIEWFS
"""
import errno
import os
import shutil
import signal
import subprocess
import tempfile

from mvharness import (MountTestCase, as_user, main, programs, start_daemon, stop_daemon,
                       wait_exec, wait_until)
from mvharness.creds import (CAP_NET_RAW, CAP_SYS_PTRACE, PR_SET_DUMPABLE, Users, become, capset,
                             enter_user_namespace, in_child, pause_forever, prctl,
                             unshare_mount_namespace)
from mvharness.matrix import (PROC_SOURCE, classify, metrics_rows, outcome, processes_rows,
                              read_cells)

# Named per run, so that two runs of the suite on one machine (two checkouts)
# never create, use or remove each other's users.
USER_A = "mva%d" % (os.getpid() % 10**6)
USER_B = "mvb%d" % (os.getpid() % 10**6)
USERS = (USER_A, USER_B)

class TestAccess(MountTestCase):
    # per-pid series in metrics/: the matrix compares their rows with /proc
    MOUNT_OPTIONS = ("metrics_pids",)

    @classmethod
    def setUpClass(cls):
        cls.users = Users(USERS)
        cls.addClassCleanup(cls.users.remove)
        cls.users.create()
        cls.tmp = tempfile.mkdtemp(prefix="memviewfs-access-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp)
        os.chmod(cls.tmp, 0o755)
        super().setUpClass()

    def spawn(self, argv):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.kill(), proc.wait()))
        return proc.pid

    def target(self, setup):
        pid = pause_forever(setup)
        self.addCleanup(lambda: (os.kill(pid, signal.SIGKILL), os.waitpid(pid, 0)))
        return pid

    def copy_program(self, name):
        path = os.path.join(self.tmp, name)
        shutil.copy(shutil.which("sleep"), path)
        os.chmod(path, 0o755)
        return path

    def targets(self):
        a_uid, a_gid = self.users.ids[USER_A]
        b_uid, b_gid = self.users.ids[USER_B]
        as_a = as_user(a_uid, a_gid)
        as_b = as_user(b_uid, b_gid)

        suid = self.copy_program("suid-sleep")
        os.chmod(suid, 0o4755)
        filecap = self.copy_program("cap-sleep")
        subprocess.run(["setcap", "cap_net_raw+ep", filecap], check=True)

        def nodump_root():
            capset(0, 0)
            prctl(PR_SET_DUMPABLE, 0)

        def user_nodump():
            become(a_uid, a_gid, dumpable=False)

        def user_permitted_cap():
            become(a_uid, a_gid, keep_caps=True)
            capset(0, 1 << CAP_NET_RAW)

        targets = {
            "root": self.spawn(["sleep", "600"]),
            "root-nodump": self.target(nodump_root),
            "user": self.spawn([*as_a, "sleep", "600"]),
            "user-nodump": self.target(user_nodump),
            "user-capprm": self.target(user_permitted_cap),
            "other-user": self.spawn([*as_b, "sleep", "600"]),
            "setuid-root": self.spawn([*as_a, suid, "600"]),
            "file-cap": self.spawn([*as_a, filecap, "600"]),
            "kthread": 2,
            "daemon": self.mnt.daemon.pid,
        }
        wait_exec(targets["setuid-root"], "suid-sleep")
        wait_exec(targets["file-cap"], "cap-sleep")
        for pid in (targets["user"], targets["other-user"]):
            wait_exec(pid, "sleep")
        return targets

    def readers(self):
        a_uid, a_gid = self.users.ids[USER_A]

        def root_nocaps():
            capset(0, 0)

        def root_other_groups():
            # root with every capability but other supplementary groups:
            # not the daemon's credentials, so it is decided and switched
            # (root with the daemon's own credentials is read as the daemon)
            os.setgroups([a_gid])

        def user():
            become(a_uid, a_gid)

        def user_permitted_caps():
            become(a_uid, a_gid, keep_caps=True)
            capset(0, (1 << CAP_SYS_PTRACE) | (1 << CAP_NET_RAW))

        def user_in_userns():
            become(a_uid, a_gid)
            enter_user_namespace(a_uid, a_gid)

        return {"root": lambda: None, "root-nocaps": root_nocaps,
                "root-groups": root_other_groups, "user": user,
                "user-capprm": user_permitted_caps, "user-in-userns": user_in_userns}

    def test_matrix(self):
        targets = self.targets()
        pids = list(targets.values())
        counts = {"same": 0, "leak": 0, "over": 0, "differs": 0}
        wrong = []
        for reader, setup in self.readers().items():
            try:
                cells = in_child(setup, lambda: read_cells(self.mnt, pids))
            except RuntimeError as e:
                raise RuntimeError(f"reader {reader}: {e}") from None
            for target, pid in targets.items():
                for name, (tree, proc) in cells[str(pid)].items():
                    kind = classify(tree, proc)
                    counts[kind] += 1
                    if kind != "same":
                        wrong.append(f"{reader:>14} {target:>12} {name:>15}: "
                                     f"memviewfs {tree}, /proc {proc} ({kind})")
        cells = sum(counts.values())
        print(f"access matrix: {len(self.readers())} readers x {len(targets)} targets x "
              f"{len(PROC_SOURCE) + 2} files = {cells} cells; leaks {counts['leak']}, "
              f"over-refusals {counts['over']}, other differences {counts['differs']}")
        for line in wrong:
            print("  " + line)
        self.assertEqual(cells, len(self.readers()) * 10 * (len(PROC_SOURCE) + 2))
        self.assertEqual(wrong, [])

    def test_o_trunc_as_proc(self):
        """open(O_RDONLY|O_TRUNC) answers as /proc answers the same reader."""
        a_uid, a_gid = self.users.ids[USER_A]
        own = self.spawn([*as_user(a_uid, a_gid), "sleep", "600"])
        wait_exec(own, "sleep")

        def trunc(path):
            try:
                os.close(os.open(path, os.O_RDONLY | os.O_TRUNC))
                return "ok"
            except OSError as e:
                return errno.errorcode[e.errno]

        def work():
            out = []
            for pid in (own, os.getpid(), 1, 2):
                for name, source in PROC_SOURCE.items():
                    out.append([f"{pid}/{name}", trunc(f"{self.mnt}/{pid}/{name}"),
                                trunc(f"/proc/{pid}/{source}")])
            out.append(["system/free", trunc(f"{self.mnt}/system/free"),
                        trunc("/proc/meminfo")])
            out.append(["processes", trunc(f"{self.mnt}/processes"), trunc("/proc/meminfo")])
            return out

        refused = 0
        for reader, setup in self.readers().items():
            for name, tree, proc in in_child(setup, work):
                self.assertEqual(tree, proc, f"{reader}: O_TRUNC on {name}")
                refused += tree != "ok"
        self.assertGreater(refused, 0)  # non-root readers are refused

    def test_reader_outside_the_daemons_pid_namespace(self):
        """A daemon in a new PID namespace sees its callers from outside as
        pid 0: they are judged by uid/gid only, never with the daemon's own
        capabilities."""
        a_uid, a_gid = self.users.ids[USER_A]
        own = self.spawn([*as_user(a_uid, a_gid), "sleep", "600"])
        root = self.spawn(["sleep", "600"])

        def with_permitted_cap():
            become(a_uid, a_gid, keep_caps=True)
            capset(0, 1 << CAP_NET_RAW)

        own_cap = self.target(with_permitted_cap)
        wait_exec(own, "sleep")
        mnt = os.path.join(self.tmp, "pidns-mnt")
        os.mkdir(mnt)
        # unshare -p -f: the daemon is pid 1 of a new PID namespace, in our
        # mount namespace and our /proc, so we reach its mount from outside.
        daemon = subprocess.Popen(["unshare", "--pid", "--fork", programs.memviewfs, "-f", "-o",
                                   "allow_other", mnt], stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: os.path.ismount(mnt))
            self.assertTrue(os.path.ismount(mnt))

            def work():
                return {str(pid): [[outcome(f"{mnt}/{pid}/{name}"),
                                    outcome(f"/proc/{pid}/{source}")]
                                   for name, source in (("pss", "smaps_rollup"),
                                                        ("mappings", "smaps"))]
                        for pid in (own, root, own_cap)}

            seen = in_child(lambda: become(a_uid, a_gid), work)
        finally:
            subprocess.run(["fusermount3", "-u", mnt], check=False)
            daemon.wait(timeout=10)
            daemon.stderr.close()
        for pid in (own, root, own_cap):
            for tree, proc in seen[str(pid)]:
                self.assertEqual(tree, proc, f"pid {pid}")
        self.assertEqual(seen[str(root)][0][0], "EACCES")
        self.assertEqual(seen[str(own_cap)][0][0], "EACCES")
        self.assertEqual(seen[str(own)][0][0], "ok")

    def run_hidepid(self, options):
        """Mounts a /proc with @options in a private mount namespace and the
        tree there; what users a (not dumpable: a setuid program, say) and
        b see of processes in /proc and in the tree."""
        a_uid, a_gid = self.users.ids[USER_A]
        b_uid, b_gid = self.users.ids[USER_B]
        own = self.spawn([*as_user(a_uid, a_gid), "sleep", "600"])
        other = self.spawn(["sleep", "600"])
        mnt = tempfile.mkdtemp(prefix="hidepid-", dir=self.tmp)
        os.chmod(mnt, 0o755)

        def listing(path):
            return sorted(int(n) for n in os.listdir(path) if n.isdigit())

        def visible_pids(daemon_pid):
            me = os.getpid()
            pids = (own, other, 1, me, daemon_pid, 2)
            return {"proc": listing("/proc"), "tree": listing(mnt),
                    "processes": sorted(processes_rows(mnt)),
                    "metrics": sorted(metrics_rows(mnt)), "me": me, "pids": pids,
                    "lookup": [os.path.exists(f"{mnt}/{pid}") for pid in pids],
                    "proc_lookup": [os.path.exists(f"/proc/{pid}") for pid in pids],
                    "cells": read_cells(mnt, pids)}

        def scenario():
            unshare_mount_namespace()
            subprocess.run(["mount", "--make-rprivate", "/"], check=True)
            subprocess.run(["mount", "-t", "proc", "-o", options.format(b_gid=b_gid), "proc",
                            "/proc"], check=True)
            daemon = start_daemon(programs.memviewfs, mnt, "-o", "metrics_pids")
            try:
                # b first: what it looked up must not stay visible to a
                # through the kernel's cache of names (shared by all readers).
                seen_b = in_child(lambda: become(b_uid, b_gid), lambda: visible_pids(daemon.pid))
                seen_a = in_child(lambda: become(a_uid, a_gid, dumpable=False),
                                  lambda: visible_pids(daemon.pid))
                return {"a": seen_a, "b": seen_b, "daemon": daemon.pid}
            finally:
                stop_daemon(daemon, mnt)

        result = in_child(lambda: None, scenario)
        # Processes that come and go while a reader lists (its own children,
        # the daemon's threads) may differ between two listings; the
        # long-lived ones may not.
        stable = {1, 2, other, own, self.mnt.daemon.pid, result["daemon"]}
        for who in ("a", "b"):
            seen = result[who]
            for view in ("tree", "processes", "metrics"):
                extra = set(seen[view]) - set(seen["proc"])
                self.assertFalse(extra & stable,
                                 f"{who}: {view} shows {sorted(extra)} that /proc hides")
                missing = set(seen["proc"]) - set(seen[view])
                self.assertFalse(missing & (stable | {seen["me"]}),
                                 f"{who}: {view} lacks {sorted(missing)} that /proc shows")
            self.assertEqual(seen["lookup"], seen["proc_lookup"], who)
            hidden = {str(pid) for pid, shown in zip(seen["pids"], seen["proc_lookup"])
                      if not shown}
            for pid, cells in seen["cells"].items():
                for name, (tree, proc) in cells.items():
                    # A pid /proc hides (stat says ENOENT) still has a dentry
                    # if anyone looked it up before: a walk through it then
                    # stops at the directory's permission check, EPERM, else
                    # ENOENT. The tree answers ENOENT either way.
                    if pid in hidden and (tree, proc) == ("ENOENT", "EPERM"):
                        continue
                    self.assertEqual(tree, proc, f"{who}: {pid}/{name} under {options}")
        a = result["a"]
        self.assertIn(own, a["tree"])
        self.assertIn(a["me"], a["proc"])
        self.assertIn(a["me"], a["tree"])
        self.assertNotIn(other, a["tree"])
        self.assertNotIn(other, a["proc"])
        return result, other

    def test_hidepid_invisible(self):
        """hidepid=2: the tree shows a user the pids /proc shows it, and
        gid= exempts its group."""
        result, other = self.run_hidepid("hidepid=2,gid={b_gid}")
        a, b = result["a"], result["b"]
        self.assertIn(other, b["tree"])  # gid= exempts b
        print(f"hidepid=2: user sees {len(a['proc'])} pids in /proc and {len(a['tree'])} in "
              f"the tree; the gid= member {len(b['proc'])} and {len(b['tree'])}")

    def test_hidepid_ptraceable(self):
        """hidepid=ptraceable: only what the reader may ptrace-read, gid= or
        not."""
        result, other = self.run_hidepid("hidepid=ptraceable,gid={b_gid}")
        self.assertNotIn(other, result["b"]["tree"])
        self.assertNotIn(other, result["b"]["proc"])


if __name__ == "__main__":
    main("memviewfs")
