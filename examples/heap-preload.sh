#!/bin/bash
# SPDX-License-Identifier: MIT
# A real program under LD_PRELOAD, seen through <mnt>/<pid>/heap/: python3
# (every object a C malloc: PYTHONMALLOC=malloc) allocates 60 000 objects of
# 1 KB, frees three quarters of them and goes quiet. At each step: rss,
# retained_freed, the allocator's heap_alloc and heap_released, and reconcile,
# which says where every resident byte is.
#
# usage: examples/heap-preload.sh MOUNTPOINT [LIBSPANALLOC_MALLOC]
#   LIBSPANALLOC_MALLOC defaults to the build tree's, then the installed one.
set -euo pipefail

mnt=${1:?usage: heap-preload.sh MOUNTPOINT [LIBSPANALLOC_MALLOC]}
here=$(cd "$(dirname "$0")" && pwd)
lib=${2:-}
if [ -z "$lib" ]; then
	for candidate in "$here/../build/src/spanalloc/libspanalloc-malloc.so" \
		"$(pkg-config --variable=libdir spanalloc-malloc 2>/dev/null)/libspanalloc-malloc.so"; do
		if [ -f "$candidate" ]; then
			lib=$(realpath "$candidate")
			break
		fi
	done
fi
[ -f "$lib" ] || { echo "no libspanalloc-malloc.so (build the project or pass its path)" >&2; exit 1; }

# The program: one step per line read on stdin, "ready" after each.
program='
import sys, time
objects = []
for line in sys.stdin:
    step = line.split()
    if step[0] == "alloc":
        objects += [bytes(int(step[2])) for _ in range(int(step[1]))]
    elif step[0] == "free":
        del objects[:len(objects) * int(step[1]) // 100]
    elif step[0] == "sleep":
        time.sleep(float(step[1]))
    print("ready", flush=True)
'
coproc PROGRAM { LD_PRELOAD=$lib PYTHONMALLOC=malloc exec python3 -c "$program"; }
pid=$PROGRAM_PID
trap 'kill $pid 2>/dev/null' EXIT

step() {
	echo "$*" >&"${PROGRAM[1]}"
	read -r _ <&"${PROGRAM[0]}"
}

show() {
	local h=$mnt/$pid/heap
	echo "== $1"
	printf '%-16s %12s\n' rss "$(cat "$mnt/$pid/rss")" \
		retained_freed "$(cat "$mnt/$pid/retained_freed")" \
		heap_alloc "$(cat "$h/heap_alloc")" \
		heap_released "$(cat "$h/heap_released")" \
		age_ms "$(cat "$h/age_ms")"
	cut -c1-120 "$h/reconcile"
	echo
}

step sleep 0
echo "pid $pid: allocator $(cat "$mnt/$pid/heap/allocator")"
step alloc 60000 1000
step sleep 0.5 # the background thread: the ladder within ~100 ms, the tables ~300 ms
show "after allocating 60 000 objects of 1000 bytes"
step free 75
step sleep 0.5
show "after freeing 75% of them: the pages are idle, still resident"
step sleep 2 # SPANALLOC_SCAVENGE_MS (1000 ms) passes: the scavenger releases them
show "2 s later: released with MADV_FREE, yet still resident (LazyFree) and in rss"
echo "== the size classes holding the most bytes"
tail -n +2 "$mnt/$pid/heap/classes" | sort -k7 -n -r | sed -n 1,3p
