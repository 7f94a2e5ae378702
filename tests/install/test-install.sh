#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# meson install into a temporary DESTDIR lands the binary, the man page, the
# systemd unit, the allocator's library, header and pkg-config file where a
# distribution expects them. Usage: test-install.sh BUILD_DIR
set -euo pipefail
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
libdir=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')
root=$dest$prefix
fail=0
expect() {
  if [ -e "$1" ]; then echo "ok   ${1#$dest}"; else echo "MISSING ${1#$dest}"; fail=1; fi
}
expect "$root/bin/memviewfs"
expect "$root/share/man/man1/memviewfs.1"
expect "$root/lib/systemd/system/memviewfs.service"
expect "$root/$libdir/libspanalloc.so"
expect "$root/$libdir/libspanalloc.a"
expect "$root/$libdir/pkgconfig/spanalloc.pc"
expect "$root/$libdir/libspanalloc-malloc.so"
expect "$root/$libdir/pkgconfig/spanalloc-malloc.pc"
expect "$root/$libdir/libspanalloc-stats.so"
expect "$root/$libdir/libspanalloc-stats.a"
expect "$root/$libdir/pkgconfig/spanalloc-stats.pc"
expect "$root/include/spanalloc.h"
expect "$root/include/spanalloc-stats.h"
[ "$fail" = 0 ] || exit 1

# The installed pieces work: the binary runs, the unit points at it, the
# man page renders, and pkg-config resolves the allocator.
"$root/bin/memviewfs" --version | grep -q memviewfs
grep -q "^ExecStart=$prefix/bin/memviewfs " "$root/lib/systemd/system/memviewfs.service"
man -l "$root/share/man/man1/memviewfs.1" 2>/dev/null | grep -q "available_breakdown"
PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$root/$libdir/pkgconfig \
  pkg-config --libs spanalloc | grep -q -- "-lspanalloc"
# linking the sa_* API never brings the malloc replacement in; the malloc
# library is the one that exports malloc
PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$root/$libdir/pkgconfig \
  pkg-config --libs spanalloc | grep -qv -- "-lspanalloc-malloc"
PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$root/$libdir/pkgconfig \
  pkg-config --libs spanalloc-malloc | grep -q -- "-lspanalloc-malloc"
PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$root/$libdir/pkgconfig \
  pkg-config --libs spanalloc-stats | grep -q -- "-lspanalloc-stats"
nm -D --defined-only "$root/$libdir/libspanalloc.so" | grep -qw malloc && { echo "libspanalloc.so exports malloc"; exit 1; }
nm -D --defined-only "$root/$libdir/libspanalloc-stats.so" | grep -qw malloc && { echo "libspanalloc-stats.so exports malloc"; exit 1; }
nm -D --defined-only "$root/$libdir/libspanalloc-malloc.so" | grep -qw malloc || { echo "libspanalloc-malloc.so lacks malloc"; exit 1; }
# End to end: a program built with `pkg-config --cflags --libs spanalloc`
# gets the sa_* API and keeps its libc's malloc; one built with
# spanalloc-malloc gets spanalloc's malloc.
cat > "$dest/probe.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spanalloc.h>
int main(void)
{
	void *p = sa_malloc(100);
	struct sa_stats s;
	if (!p || sa_stats(&s) != 0 || s.heap_objects < 1)
		return 1;
	sa_free(p);
	Dl_info info;
	if (!dladdr((void *)malloc, &info) || !info.dli_fname)
		return 2;
	const char *slash = strrchr(info.dli_fname, '/');
	puts(slash ? slash + 1 : info.dli_fname);
	return 0;
}
EOF
pc() { PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$root/$libdir/pkgconfig pkg-config "$@"; }
cc -D_GNU_SOURCE -o "$dest/probe-api" "$dest/probe.c" $(pc --cflags --libs spanalloc) -ldl
cc -D_GNU_SOURCE -o "$dest/probe-malloc" "$dest/probe.c" $(pc --cflags --libs spanalloc-malloc) -ldl
api_malloc=$(LD_LIBRARY_PATH=$root/$libdir "$dest/probe-api")
malloc_malloc=$(LD_LIBRARY_PATH=$root/$libdir "$dest/probe-malloc")
echo "malloc of a program linked with spanalloc: $api_malloc; with spanalloc-malloc: $malloc_malloc"
case $api_malloc in libc.so*) ;; *) echo "pkg-config spanalloc replaced malloc"; exit 1;; esac
case $malloc_malloc in libspanalloc-malloc.so*) ;; *) echo "spanalloc-malloc did not"; exit 1;; esac
echo "install layout ok"
