#!/bin/bash
# SPDX-License-Identifier: MIT
# The first seed's story in a minute, with the daemon's own demo heap
# (<mnt>/demo/: ctl, status, heap -> <daemon pid>/heap): allocate, free most
# of it, let the allocator release the pages with MADV_FREE (rss stays,
# retained_freed and heap_released grow), put the kernel under pressure (rss
# drops), then the same with MADV_DONTNEED (rss drops at once).
# Each step prints the command, then rss, retained_freed, heap_released,
# heap_alloc and the arena lines of reconcile.
#
# usage: examples/demo-walkthrough.sh MOUNTPOINT
# (run as the user who mounted memviewfs: demo/ctl is the daemon owner's)
set -euo pipefail

mnt=${1:?usage: demo-walkthrough.sh MOUNTPOINT}
demo=$mnt/demo
[ -w "$demo/ctl" ] || { echo "$demo/ctl is not writable (mounted with -o nodemo, or another user's)" >&2; exit 1; }
heap=$demo/heap # a link to the daemon's <pid>/heap
proc=$heap/..   # the daemon's <pid>/

# A value, or "-" while the daemon's spanalloc has published nothing yet
# (its heap/ allocator files are ENOENT until the first demo command).
value() {
	cat "$1" 2>/dev/null || echo -
}

show() {
	printf '  %-16s %12s\n' rss "$(value "$proc/rss")" \
		retained_freed "$(value "$proc/retained_freed")" \
		heap_released "$(value "$heap/heap_released")" \
		heap_alloc "$(value "$heap/heap_alloc")"
	if [ -r "$heap/reconcile" ] && reconcile=$(cat "$heap/reconcile" 2>/dev/null); then
		# the arena lines: resident and virtual bytes per page state
		awk 'NR > 1 && NR <= 10 { printf "  %-18s %12s %12s\n", $1, $2, $3 }' <<<"$reconcile"
	fi
	sed 's/^/  status: /' "$demo/status"
	echo
}

run() {
	echo "\$ echo '$1' > demo/ctl"
	if ! (echo "$1" >"$demo/ctl") 2>/dev/null; then
		echo "  refused (EINVAL): see status"
	fi
	sleep "${2:-0.2}" # the segment is republished within ~100 ms
	show
}

echo "== before"
show
run reset
run "mode free"
run "alloc 200000 1024"
run "free 90%"
run scavenge
echo "-- released with MADV_FREE: rss has not moved, retained_freed holds the pages"
run pressure
echo "-- the kernel took the lazily freed pages back: rss dropped"
run reset
run "mode dontneed"
run "alloc 200000 1024"
run "free 90%"
run scavenge
echo "-- released with MADV_DONTNEED: rss dropped at once, retained_freed stays 0"
run "alloc 99999999999 1024"
echo "-- over the bound: EINVAL, the reason in status, nothing changed"
run reset
