#!/bin/sh
# SPDX-License-Identifier: MIT
# Why RSS stays far above what the program says it uses (MADV_FREE),
# shown with memviewfs's demo heap, step by step: each command,
# then the daemon's rss and retained_freed (the kernel's view, from the
# mount) and heap_alloc / heap_released (the allocator's, from its published
# segment; from <pid>/heap/ when the tree has it, else spanalloc-stat), and
# the reconcile table when the tree has one.
#
# usage: demo-walkthrough.sh MOUNTPOINT [COUNT]
#   MOUNTPOINT  a memviewfs mount with demo/ (run as the daemon's user)
#   COUNT       objects of 1 KiB to allocate (default 200000, ~200 MiB)
# SPANALLOC_STAT names the spanalloc-stat binary (default: from PATH).
set -eu
mnt=${1:?usage: demo-walkthrough.sh MOUNTPOINT [COUNT]}
count=${2:-200000}
stat=${SPANALLOC_STAT:-spanalloc-stat}
[ -w "$mnt/demo/ctl" ] || { echo "$mnt/demo/ctl: not writable (not the daemon's user, or -o nodemo)" >&2; exit 1; }
daemon=$(readlink "$mnt/demo/heap" | cut -d/ -f2)

ladder() { # NAME: one value of the allocator's ladder
	if [ -r "$mnt/$daemon/heap/$1" ]; then
		cat "$mnt/$daemon/heap/$1"
	else
		"$stat" "$daemon" 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
	fi
}

mib() { awk -v b="${1:-0}" 'BEGIN { printf "%9.1f MiB", b / 1048576 }'; }

show() {
	printf '%-22s rss %s  retained_freed %s  heap_alloc %s  heap_released %s\n' "$1" \
		"$(mib "$(cat "$mnt/$daemon/rss")")" "$(mib "$(cat "$mnt/$daemon/retained_freed")")" \
		"$(mib "$(ladder heap_alloc)")" "$(mib "$(ladder heap_released)")"
	if [ -r "$mnt/$daemon/heap/reconcile" ]; then
		sed 's/^/    /' "$mnt/$daemon/heap/reconcile"
	fi
}

step() {
	echo "$1" > "$mnt/demo/ctl"
	show "$1"
	printf '    (%s)\n' "$(sed -n 's/^last_result //p' "$mnt/demo/status")"
}

echo "demo heap of memviewfs pid $daemon"
echo reset > "$mnt/demo/ctl"
show "start"
step "alloc $count 1024"  # the program allocates ...
step "free 90%"           # ... and frees most of it: the allocator keeps the pages
step "scavenge"           # MADV_FREE: heap_released grows, rss does not (LazyFree)
step "pressure"           # the kernel reclaims them (MADV_PAGEOUT): now rss drops
step "touch"              # the program allocates again: the same pages come back
step "mode dontneed"      # GODEBUG=madvdontneed=1, in spanalloc's words
step "free all"
step "scavenge"           # MADV_DONTNEED: rss drops at once, nothing is LazyFree
step "reset"
