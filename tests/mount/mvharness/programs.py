# SPDX-License-Identifier: MIT
"""The programs a test module was given on its command line (meson.build's
args: the daemon, the workloads, a library), set once by main() before the
first test runs and read by the fixtures."""
import os
import sys
import types
import unittest

# memviewfs, workload, heap_workload, libspanalloc, spanalloc_stat: absolute
# paths, None for an optional one not given.
programs = types.SimpleNamespace()


def main(*names, optional=()):
    """Runs the calling module's tests. The first arguments are the paths of
    @names, in that order; then those of @optional while the next argument
    is not an option (a sanitizer build gives fewer); the rest goes to
    unittest (a test name, -k ...)."""
    args = sys.argv[1:]
    for name in names:
        setattr(programs, name, os.path.abspath(args.pop(0)))
    for name in optional:
        given = args and not args[0].startswith("-")
        setattr(programs, name, os.path.abspath(args.pop(0)) if given else None)
    unittest.main(module="__main__", argv=[sys.argv[0], *args], verbosity=2)
