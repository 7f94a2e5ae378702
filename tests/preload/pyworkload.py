# SPDX-License-Identifier: MIT
# Preload-suite Python workload: run with PYTHONMALLOC=malloc (and without
# -I/-E, which would ignore it) so that every object is a C malloc of the
# allocator under test. Builds and drops millions of objects (tuples, lists,
# dicts, strs, bytes) in generations, with the cyclic GC on, and prints a digest
# of what it computed: the same bytes under every correct allocator.
#
# usage: pyworkload.py RECORDS
# stdout: records=<n> live_peak=<n> digest=<sha256 hex>
# stderr: "mapped: <line>" for each /proc/self/maps line naming spanalloc
import hashlib
import json
import sys

GENERATION = 250_000  # records alive at once


def report_mappings():
    # The preloaded library and spanalloc's statistics memfd (created when its
    # malloc first publishes statistics) appear here only if spanalloc really
    # is this process's malloc.
    with open("/proc/self/maps") as maps:
        for line in maps:
            if "spanalloc" in line:
                print("mapped: %s" % line.rstrip("\n"), file=sys.stderr)


def generation(start, count, digest):
    records = [(i, [i, i + 1, "v%d" % i], {"k": i, "s": str(i * 7)}) for i in range(start, start + count)]
    index = {r[1][2]: r for r in records}
    words = sorted(("w%x" % ((i * 2654435761) % (1 << 32)) for i in range(start, start + count, 2)), reverse=True)
    blob = b"".join(w.encode() for w in words[::50])
    sample = [records[j] for j in range(0, count, 997)]
    digest.update(json.dumps(sample, sort_keys=True).encode())
    digest.update(blob)
    digest.update(("%d %d %d" % (len(index), len(words), sum(r[2]["k"] for r in records[::13]))).encode())
    return len(records) + len(index) + len(words)


def main():
    records = int(sys.argv[1])
    digest = hashlib.sha256()
    built = 0
    live_peak = 0
    while built < records:
        count = min(GENERATION, records - built)
        live_peak = max(live_peak, generation(built, count, digest))
        built += count
    print("records=%d live_peak=%d digest=%s" % (built, live_peak, digest.hexdigest()))
    report_mappings()


if __name__ == "__main__":
    main()
