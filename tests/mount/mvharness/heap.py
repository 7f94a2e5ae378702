# SPDX-License-Identifier: MIT
"""heap/: the reconcile table, and the kernel view of heap/ computed here
from smaps by its documented rule."""
from .procfs import smaps


def reconcile(mnt, pid, reader=()):
    """<pid>/heap/reconcile of the tree @mnt as {name: (resident, bytes)},
    None for "-"; read by @reader (a setpriv prefix) or by us."""
    num = lambda s: None if s == "-" else int(s)
    _, rows = mnt.table(f"{pid}/heap/reconcile", as_user=reader)
    return {r["name"]: (num(r["resident"]), num(r["bytes"])) for r in rows}


def smaps_heap_view(pid):
    """heap/'s kernel view computed from /proc/<pid>/smaps: [heap] and
    private anonymous mappings (unnamed or [anon:...]), not [stack]."""
    out = {"reserved": 0, "resident": 0, "lazyfree": 0, "swapped": 0}
    for vma in smaps(pid):
        if vma.perms[3] != "p" or not (vma.path in ("", "[heap]") or
                                       vma.path.startswith("[anon:")):
            continue
        out["reserved"] += vma.end - vma.start
        for field, key in (("Rss", "resident"), ("LazyFree", "lazyfree"), ("Swap", "swapped")):
            out[key] += vma.fields.get(field, 0)
    return out
