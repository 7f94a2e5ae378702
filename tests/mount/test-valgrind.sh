#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The daemon under valgrind: every kind of file read (as root and as an
# unprivileged user), unknown paths, a vanished process, then a clean
# unmount: no memory error, nothing definitely or indirectly lost.
# Usage: test-valgrind.sh MEMVIEWFS [LIBSPANALLOC_MALLOC]
# With the library, heap/ is read for a process running spanalloc and for
# one that maps a garbage segment too.
set -euo pipefail
memviewfs=$1
preload=${2:-}
mnt=$(mktemp -d)
log=$(mktemp)
cleanup() {
  # a background job still alive would hold the test's output pipe open and
  # keep meson waiting until its timeout: none survives the script
  kill $(jobs -p) 2>/dev/null || true
  fusermount3 -u "$mnt" 2>/dev/null || true
  rmdir "$mnt" || echo "cannot remove $mnt"
  rm -f "$log"
}
# Background children inherit the EXIT trap: only the script itself cleans up.
trap '[ "$BASHPID" = "$$" ] && cleanup' EXIT

G_SLICE=always-malloc valgrind --quiet --leak-check=full \
  --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=99 --log-file="$log" "$memviewfs" -f -o allow_other "$mnt" &
daemon=$!
for _ in $(seq 300); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt"

heap_pids=()
if [ -n "$preload" ]; then
  python=$(command -v /usr/bin/python3 || command -v python3)
  env LD_PRELOAD="$preload" PYTHONMALLOC=malloc "$python" -c \
    'import time; a = [bytes(1000) for i in range(20000)]; del a[::2]; time.sleep(60)' &
  heap_pids+=($!)
  python3 -c 'import mmap, os, time
fd = os.memfd_create("spanalloc-stats"); os.ftruncate(fd, 1 << 18)
m = mmap.mmap(fd, 1 << 18); m[:] = os.urandom(1 << 18); time.sleep(60)' &
  heap_pids+=($!)
  sleep 1
  grep -q '^spanalloc ' "$mnt/${heap_pids[0]}/heap/allocator"
  grep -q '^invalid: ' "$mnt/${heap_pids[1]}/heap/allocator"
fi
# killed below; long enough to outlive a round under valgrind on a loaded
# machine, short enough to end by itself well inside the test's timeout
sleep 120 & short=$!
for round in 1 2; do
  # the demo heap: every command, a refused one, a foreign writer
  for c in 'alloc 2000 1000' 'free 50%' scavenge pressure touch 'mode dontneed' \
           'free all' scavenge reset; do echo "$c" > "$mnt/demo/ctl"; done
  echo bogus > "$mnt/demo/ctl" 2>/dev/null && exit 1
  setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo reset > $mnt/demo/ctl" \
    2>/dev/null && exit 1
  cat "$mnt/demo/status" >/dev/null
  for pid in "${heap_pids[@]}" $$; do
    cat "$mnt/$pid"/heap/* >/dev/null 2>&1 || true
  done
  cat "$mnt"/demo/heap/* >/dev/null 2>&1 || true  # the daemon's own heap/
  cat "$mnt"/README "$mnt"/processes "$mnt"/self/* "$mnt"/$$/* "$mnt"/1/* "$mnt"/system/* \
      "$mnt"/cgroup/* "$mnt"/metrics/memviewfs.prom >/dev/null 2>&1 || true
  ls -lR "$mnt"/$$ "$mnt"/system >/dev/null
  cat "$mnt"/nosuch "$mnt"/$$/nosuch 2>/dev/null && exit 1
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    cat "$mnt"/1/pss "$mnt"/processes "$mnt"/$$/mappings >/dev/null 2>&1 || true
  exec 3<"$mnt/$short/mappings"   # open, then the process vanishes
  kill "$short"; wait "$short" 2>/dev/null || true
  cat <&3 >/dev/null; exec 3<&-
  cat "$mnt/$short/pss" 2>/dev/null && exit 1
  sleep 120 & short=$!
done
kill "$short" "${heap_pids[@]}"
# close() does not wait for FUSE's RELEASE: give the last ones time to arrive
# before the unmount, or their handles look leaked
sleep 1
kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
if [ "$status" != 0 ] || [ -s "$log" ]; then
  cat "$log"
  echo "valgrind: daemon exit status $status"
  exit 1
fi
echo "valgrind: no errors, no leaks"
