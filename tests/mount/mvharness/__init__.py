# SPDX-License-Identifier: MIT
"""The mount tests' harness, as libfuse's test/util.py is for its tests:
everything a test case needs that is not itself a test. A test module holds
test cases only and imports its helpers from here, never from another test
module.

  programs  the paths meson gives a test (main() parses them)
  daemon    start and stop memviewfs; Mount (a mounted tree in a temporary
            directory) and MountTestCase (one mount a test class)
  workload  drivers of tests/mount/workload.c, heap-workload.c and of
            renamed copies of a program (a comm no other process has)
  procfs    the kernel's own files read directly (smaps, smaps_rollup,
            status, meminfo, vmstat, free(1)), in bytes
  cgroup    this process's memory cgroup, child cgroups, reads from inside
  creds     readers and targets with other credentials (setpriv prefixes,
            forked children that set uid, capabilities, namespaces), probes
  matrix    the access matrix: a reader's outcome of each file against the
            /proc file it comes from
  prom      Prometheus text: samples of a family, node-exporter
  heap      heap/'s reconcile table and the kernel view it is built on
  tables    the mappings table's text as the tests compare it
"""
from .programs import main, programs
from .daemon import Mount, MountTestCase, start_daemon, stop_daemon
from .workload import (HeapWorkload, HeapWorkloads, Sleepers, Workload, renamed_copy, wait_exec,
                       wait_until)
from .procfs import (LAZYFREE_LAG, MiB, PAGE, SLACK, free_bw, kernel_thread_comms, meminfo_bytes,
                     read_text, smaps, smaps_rollup, smaps_rss, smaps_vmas, status_bytes, vmstat)
from .cgroup import make_cgroup, move_to_cgroup, own_memory_cgroup, read_inside
from .creds import NOBODY, NOBODY_ID, SYSTEM_PYTHON, as_user, probe, read_as
from .prom import NodeExporter, families, metric, promtool_check, samples
from .heap import reconcile, smaps_heap_view

__all__ = [
    "main", "programs", "Mount", "MountTestCase", "start_daemon", "stop_daemon", "HeapWorkload",
    "HeapWorkloads", "Sleepers", "Workload", "renamed_copy", "wait_exec", "wait_until", "MiB",
    "LAZYFREE_LAG", "PAGE", "SLACK", "free_bw", "kernel_thread_comms", "meminfo_bytes",
    "read_text", "smaps", "smaps_rollup", "smaps_rss", "smaps_vmas", "status_bytes", "vmstat",
    "make_cgroup", "move_to_cgroup", "own_memory_cgroup", "read_inside", "NOBODY", "NOBODY_ID",
    "SYSTEM_PYTHON", "as_user", "probe", "read_as", "NodeExporter", "families", "metric",
    "promtool_check", "samples", "reconcile", "smaps_heap_view",
]
