/* SPDX-License-Identifier: MIT */
/* The machine as free(1) sees it, and why MemAvailable is what it is. All
 * values are BYTES unless a name says pages. No I/O except mv_system_read()
 * and mv_free_read(), which read under the /proc root (mv-proc.h). */
#pragma once

#include <glib.h>

#include "proc/mv-proc.h"

G_BEGIN_DECLS

/* ---- free(1) ------------------------------------------------------------ */

/* The columns of `free -b -w` (procps-ng 4.0.2, library/meminfo.c), from
 * /proc/meminfo: X(member, "name", "one-line description").
 *
 *   available = MemAvailable; MemFree when the line is absent or 0 (kernels
 *               before 3.14) or when it exceeds MemTotal (a container
 *               showing the host's numbers)
 *   used      = total - available; total - free when that is negative
 *               (procps then casts a still-negative value to unsigned; here
 *               it is clamped at 0)
 *   cache     = Cached + SReclaimable
 *   swap_used = SwapTotal - SwapFree, 0 when SwapFree >= SwapTotal */
#define MV_FREE_FIELDS(X)                                                                      \
  X(total, "total", "MemTotal: usable RAM (physical minus kernel image and reserved)")         \
  X(used, "used", "total - available: memory that cannot be had without swapping")           \
  X(free, "free", "MemFree: pages nobody uses at all")                                         \
  X(shared, "shared", "Shmem: tmpfs, shared anonymous and SysV/POSIX shared memory")           \
  X(buffers, "buffers", "Buffers: page cache of block devices (filesystem metadata)")         \
  X(cache, "cache", "Cached + SReclaimable: file page cache and reclaimable slab")            \
  X(buff_cache, "buff_cache", "buffers + cache")                                               \
  X(available, "available", "MemAvailable: the kernel's estimate of memory for new work")     \
  X(swap_total, "swap_total", "SwapTotal: swap space")                                         \
  X(swap_used, "swap_used", "SwapTotal - SwapFree: swap in use")                              \
  X(swap_free, "swap_free", "SwapFree: unused swap space")                                     \
  X(dirty, "dirty", "Dirty: page cache waiting to be written back")                           \
  X(writeback, "writeback", "Writeback: page cache being written back now")

typedef struct {
#define MV_FREE_X(member, name, description) guint64 member;
  MV_FREE_FIELDS(MV_FREE_X)
#undef MV_FREE_X
} MvFree;

/* Fills @out from parsed meminfo. Fails (EIO) without MemTotal or MemFree. */
gboolean mv_free_from_meminfo(const MvMeminfo *meminfo, MvFree *out, GError **error);

/* mv_meminfo_read() then mv_free_from_meminfo(): free(1)'s values now. */
gboolean mv_free_read(MvFree *out, GError **error);

/* ---- MemAvailable, term by term --------------------------------------- */

/* The terms of the kernel's si_mem_available() (mm/show_mem.c, Linux 6.x),
 * computed in pages as the kernel does, then in bytes:
 *   X(member, "name", "one-line description").
 * Terms are SIGNED: free pages minus the reserve can be negative. */
#define MV_AVAILABLE_TERMS(X)                                                                  \
  X(mem_free, "mem_free", "MemFree: free pages")                                               \
  X(total_reserve, "total_reserve",                                                            \
    "totalreserve_pages: per zone max(lowmem_reserve) + high watermark, capped at managed")    \
  X(free_term, "free_term", "mem_free - total_reserve: free pages usable without reclaim")    \
  X(wmark_low, "wmark_low", "sum of every zone's low watermark")                              \
  X(pagecache, "pagecache", "Active(file) + Inactive(file): the file LRU")                     \
  X(pagecache_kept, "pagecache_kept",                                                          \
    "min(pagecache / 2, wmark_low): page cache assumed to stay")                               \
  X(pagecache_term, "pagecache_term", "pagecache - pagecache_kept")                            \
  X(reclaimable, "reclaimable",                                                                \
    "KReclaimable: reclaimable slab + other reclaimable kernel memory")                        \
  X(reclaimable_kept, "reclaimable_kept",                                                      \
    "min(reclaimable / 2, wmark_low): reclaimable kernel memory assumed in use")               \
  X(reclaimable_term, "reclaimable_term", "reclaimable - reclaimable_kept")                    \
  X(estimate, "estimate", "free_term + pagecache_term + reclaimable_term, at least 0")         \
  X(kernel_available, "kernel_available", "MemAvailable as the kernel printed it")             \
  X(difference, "difference", "estimate - kernel_available")

typedef struct {
#define MV_AVAILABLE_X(member, name, description) gint64 member;
  MV_AVAILABLE_TERMS(MV_AVAILABLE_X)
#undef MV_AVAILABLE_X
  /* FALSE when meminfo has no MemAvailable line (Linux < 3.14):
   * kernel_available and difference are then 0 and mean nothing. */
  gboolean has_kernel_available;
} MvAvailableBreakdown;

/* Computes the breakdown from meminfo (MemFree, Active(file),
 * Inactive(file), KReclaimable, or SReclaimable before Linux 4.20 which had
 * no KReclaimable) and zoneinfo (watermarks, lowmem_reserve, managed).
 * @page_size in bytes (sysconf(_SC_PAGESIZE)); EINVAL unless a multiple of
 * 1024. EIO when a needed meminfo line is missing.
 *
 * totalreserve_pages is not printed by the kernel: it is rebuilt from
 * zoneinfo as calculate_totalreserve_pages() does, with the high watermark
 * minus its current boost (the kernel computes the reserve when watermarks
 * are set, not when they are boosted). Measured on the development machine
 * (Linux 6.18, boost 0): the estimate equals MemAvailable to the page. */
gboolean mv_available_breakdown(const MvMeminfo *meminfo, const MvZoneinfo *zoneinfo,
                                guint64 page_size, MvAvailableBreakdown *out, GError **error);

/* ---- watermarks ----------------------------------------------------------- */

/* Per-zone columns of `watermarks` (bytes): X(member, "header"). */
#define MV_WATERMARK_COLUMNS(X) \
  X(min, "min")                 \
  X(low, "low")                 \
  X(high, "high")               \
  X(boost, "boost")             \
  X(managed, "managed")         \
  X(reserve, "reserve")

typedef struct {
  int node;
  char name[16]; /* "DMA", "DMA32", "Normal", ... */
  /* min/low/high as zoneinfo prints them (boost included); reserve is this
   * zone's share of totalreserve_pages */
#define MV_WATERMARK_X(member, header) guint64 member;
  MV_WATERMARK_COLUMNS(MV_WATERMARK_X)
#undef MV_WATERMARK_X
} MvZoneWatermarks;

typedef struct {
  MvZoneWatermarks zones[MV_ZONEINFO_MAX_ZONES];
  int n_zones;
  MvZoneWatermarks sum; /* node -1, name "total": every column summed */
} MvWatermarks;

gboolean mv_watermarks_from_zoneinfo(const MvZoneinfo *zoneinfo, guint64 page_size,
                                     MvWatermarks *out, GError **error);

/* ---- all of system/ --------------------------------------------------- */

typedef struct {
  MvMeminfo meminfo;
  MvZoneinfo zoneinfo;
  MvFree free;
  MvAvailableBreakdown available;
  MvWatermarks watermarks;
} MvSystem;

/* Parses meminfo and zoneinfo text and computes everything above. */
gboolean mv_system_build(MvSystem *out, const char *meminfo_text, gsize meminfo_len,
                         const char *zoneinfo_text, gsize zoneinfo_len, guint64 page_size,
                         GError **error);

/* Reads meminfo (mv_meminfo_read) and zoneinfo under the /proc root (a
 * fixture directory in tests: mv_proc_set_root) and builds @out with the
 * running system's page size. MvSystem is ~25 kB: allocate it (g_new0). */
gboolean mv_system_read(MvSystem *out, GError **error);

/* ---- reclaim (/proc/vmstat) ------------------------------------------- */

/* One counter of system/reclaim: a /proc/vmstat name and its value, in
 * BYTES for the page counters (pgscan_*, pgsteal_*, workingset_refault*:
 * the kernel counts pages), a COUNT for oom_kill. */
typedef struct {
  char name[48];
  guint64 value;
} MvReclaimCounter;

/* Picks the reclaim counters out of the text of /proc/vmstat into
 * @counters (of MvReclaimCounter), in the kernel's order: every pgscan_*
 * and pgsteal_* (pages scanned and reclaimed, by kswapd, direct reclaim,
 * khugepaged, anon, file) except pgscan_direct_throttle (a count of
 * throttling events, not pages), every workingset_refault* (pages read
 * back soon after eviction: thrashing) and oom_kill. On a malformed line
 * it fails (EIO) and leaves @counters as it was. */
gboolean mv_reclaim_from_vmstat(const char *text, gsize len, guint64 page_size,
                                GArray *counters, GError **error);

G_END_DECLS
