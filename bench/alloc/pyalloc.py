# SPDX-License-Identifier: MIT
# Allocation-heavy Python workload for run-alloc-bench. Run it with
# PYTHONMALLOC=malloc (and without -I/-E, which would ignore that variable) so
# that every object goes through the C malloc under test.
#
# usage: pyalloc.py RECORDS
# Records are built and dropped in generations of GENERATION records: each
# record is a tuple holding an int, a 2-element list and a 1-key dict (3
# containers, tracked by the cyclic GC, which stays enabled as in a real
# program), plus one formatted str per 3 records. A generation is kept alive as
# a whole, then released at once, so the allocator sees both a growing heap and
# mass frees. Output is deterministic (independent of hash seeds and allocator).
import sys

GENERATION = 500_000  # records alive at once


def main():
    records = int(sys.argv[1])
    built = 0
    checksum = 0
    while built < records:
        count = min(GENERATION, records - built)
        objs = [(i, [i, i + 1], {"k": i}) for i in range(built, built + count)]
        strs = ["s%d" % i for i in range(built, built + count, 3)]
        checksum = (checksum * 31 + sum(o[1][1] for o in objs[::97]) + sum(map(len, strs))) % (1 << 61)
        built += count
        del objs, strs
    print("records=%d checksum=%d" % (built, checksum))


if __name__ == "__main__":
    main()
