# SPDX-License-Identifier: MIT
"""Readers and targets with credentials other than the test's: setpriv
prefixes for a program run as another user, and forked children that set
their uid, capabilities and namespaces themselves (a capability held only in
the permitted set survives no exec). Probes of what such a reader may
open."""
import ctypes
import json
import os
import signal
import subprocess
import sys

LIBC = ctypes.CDLL(None, use_errno=True)

# linux/capability.h, linux/prctl.h, sched.h
CAP_NET_RAW = 13
CAP_SYS_PTRACE = 19
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
SYS_CAPSET = 126  # x86_64
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# An interpreter every user may run (a version manager's lives in a home).
SYSTEM_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def as_user(uid, gid, groups=()):
    """A setpriv prefix that runs a program as @uid/@gid with @groups only."""
    groups_arg = ["--groups=" + ",".join(map(str, groups))] if groups else ["--clear-groups"]
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", *groups_arg]


NOBODY_ID = 65534  # nobody and nogroup
NOBODY = as_user(NOBODY_ID, NOBODY_ID)


def read_as(reader, path):
    """The text of @path as @reader (a setpriv prefix) reads it."""
    return subprocess.run([*reader, "cat", path], capture_output=True, text=True,
                          check=True).stdout


PROBE = r"""
import json, sys
size = int(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    try:
        with open(path, "rb") as f:
            f.read(size)
        out[path] = "ok"
    except OSError as e:
        out[path] = e.errno
print(json.dumps(out))
"""


def probe(reader, paths, size=-1, python=sys.executable, cwd=None):
    """{path: "ok" or the errno} of opening each of @paths and reading
    @size bytes of it (-1: all), as @reader (a setpriv prefix) does."""
    out = subprocess.run([*reader, python, "-c", PROBE, str(size), *paths],
                         capture_output=True, text=True, check=True, cwd=cwd).stdout
    return json.loads(out)


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def capset(effective, permitted):
    header = CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (CapData * 2)()
    for i in range(2):
        data[i].effective = (effective >> (32 * i)) & 0xffffffff
        data[i].permitted = (permitted >> (32 * i)) & 0xffffffff
    check(LIBC.syscall(SYS_CAPSET, ctypes.byref(header), data), "capset")


def prctl(option, arg):
    check(LIBC.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl {option}")


def become(uid, gid, keep_caps=False, dumpable=True):
    """Takes uid/gid like a login would. The uid change makes the process
    non-dumpable (commit_creds()); a user's processes normally are, after
    exec: so, unless told otherwise, this one is made dumpable again."""
    if keep_caps:
        prctl(PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if dumpable:
        prctl(PR_SET_DUMPABLE, 1)


def enter_user_namespace(uid, gid):
    check(LIBC.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")


def unshare_mount_namespace():
    check(LIBC.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")


def in_child(setup, work):
    """Runs setup() then work() in a forked child; returns work()'s JSON result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            setup()
            data = json.dumps(work()).encode()
            while data:
                data = data[os.write(w, data):]
        except BaseException as e:  # report anything, never return into unittest
            os.write(w, json.dumps({"error": repr(e)}).encode())
            code = 1
        os._exit(code)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks))
    if isinstance(result, dict) and "error" in result:
        raise RuntimeError(result["error"])
    return result


def pause_forever(setup):
    """A target process: forked, sets itself up, then sleeps until killed."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            setup()
            os.write(w, b"ok")
            os.close(w)
            while True:
                signal.pause()
        finally:
            os._exit(1)
    os.close(w)
    ready = os.read(r, 2)
    os.close(r)
    if ready != b"ok":
        raise RuntimeError("target setup failed")
    return pid


class Users:
    """System users @names (no home, no shell), created afresh and removed."""

    def __init__(self, names):
        self.names = names
        self.ids = {}

    def create(self):
        for name in self.names:
            subprocess.run(["userdel", name], stderr=subprocess.DEVNULL)
            subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                            "--shell", "/usr/sbin/nologin", name], check=True)
            uid = int(subprocess.run(["id", "-u", name], capture_output=True, text=True,
                                     check=True).stdout)
            gid = int(subprocess.run(["id", "-g", name], capture_output=True, text=True,
                                     check=True).stdout)
            self.ids[name] = (uid, gid)

    def remove(self):
        for name in self.ids:
            subprocess.run(["userdel", name], check=False)
