/* SPDX-License-Identifier: MIT */
/* free(1) columns, the MemAvailable breakdown and the watermarks (see
 * mv-model-system.h). */
#include "mv-model-system.h"

#include <string.h>
#include <unistd.h>

#define HAS(meminfo, field) MV_FIELD_PRESENT((meminfo)->present, MV_MEMINFO_FIELD_##field)

gboolean
mv_free_from_meminfo(const MvMeminfo *m, MvFree *out, GError **error)
{
  memset(out, 0, sizeof *out);
  if (!HAS(m, mem_total) || !HAS(m, mem_free))
    return mv_set_errno(error, EIO, "meminfo: MemTotal and MemFree are needed for free(1)");

  out->total = m->mem_total;
  out->free = m->mem_free;
  out->shared = m->shmem;
  out->buffers = m->buffers;
  out->cache = m->cached + m->sreclaimable;
  out->buff_cache = out->buffers + out->cache;
  /* procps: "if (0 == MemAvailable) MemAvailable = MemFree" (an absent line
   * reads as 0), then the same when it exceeds MemTotal (lxc) */
  out->available = m->mem_available;
  if (out->available == 0 || out->available > out->total)
    out->available = out->free;
  /* procps: used = total - available, and total - free when negative (which
   * it can only be after the fallback above when free > total); procps then
   * stores a negative value in an unsigned long, here it is 0 */
  if (out->total >= out->available)
    out->used = out->total - out->available;
  else if (out->total >= out->free)
    out->used = out->total - out->free;
  else
    out->used = 0;
  out->swap_total = m->swap_total;
  out->swap_free = m->swap_free;
  out->swap_used = m->swap_free < m->swap_total ? m->swap_total - m->swap_free : 0;
  out->dirty = m->dirty;
  out->writeback = m->writeback;
  return TRUE;
}

/* calculate_totalreserve_pages() for one zone, in pages: the largest
 * lowmem_reserve[] (entries for zones at or below this one are 0 in the
 * kernel, so the maximum over the whole array is the kernel's maximum over
 * j >= i) plus the high watermark, capped at the zone's managed pages. The
 * high watermark is taken without its current boost: the kernel computed
 * the reserve when the watermarks were set. */
static guint64
zone_reserve_pages(const MvZone *zone)
{
  guint64 max = 0;

  for (int j = 0; j < zone->n_protection; j++)
    max = MAX(max, zone->protection[j]);
  guint64 high = zone->high >= zone->boost ? zone->high - zone->boost : 0;
  guint64 reserve = max > G_MAXUINT64 - high ? G_MAXUINT64 : max + high;
  return MIN(reserve, zone->managed);
}

static gboolean
check_page_size(guint64 page_size, GError **error)
{
  if (page_size == 0 || page_size % 1024 != 0 || page_size > (G_GUINT64_CONSTANT(1) << 30))
    return mv_set_errno(error, EINVAL, "page size %" G_GUINT64_FORMAT " is not a multiple of 1 kB",
                        page_size);
  return TRUE;
}

/* bytes -> pages, exact for meminfo values (the kernel prints pages << (PAGE_SHIFT - 10) kB) */
static gint64
to_pages(guint64 bytes, guint64 page_size)
{
  return (gint64)MIN(bytes / page_size, (guint64)G_MAXINT64);
}

/* pages -> bytes, saturating (pages come from text: a hostile zoneinfo must
 * not wrap) */
static gint64
to_bytes(gint64 pages, guint64 page_size)
{
  gint64 ps = (gint64)page_size;
  if (pages > G_MAXINT64 / ps)
    return G_MAXINT64;
  if (pages < G_MININT64 / ps)
    return G_MININT64;
  return pages * ps;
}

gboolean
mv_available_breakdown(const MvMeminfo *m, const MvZoneinfo *z, guint64 page_size,
                       MvAvailableBreakdown *out, GError **error)
{
  memset(out, 0, sizeof *out);
  if (!check_page_size(page_size, error))
    return FALSE;
  if (!HAS(m, mem_free) || !HAS(m, active_file) || !HAS(m, inactive_file) ||
      !(HAS(m, kreclaimable) || HAS(m, sreclaimable)))
    return mv_set_errno(error, EIO,
                        "meminfo: MemFree, Active(file), Inactive(file) and KReclaimable or "
                        "SReclaimable are needed for the MemAvailable breakdown");
  if (z->n_zones <= 0)
    return mv_set_errno(error, EIO, "zoneinfo: no zone");

  /* pages, signed like the kernel's "long available". The zone values come
   * from text: each is capped at 2^40 pages (4 EiB of 4 kB pages), so that
   * 64 zones cannot overflow the sums. */
  const guint64 zone_cap = G_GUINT64_CONSTANT(1) << 40;
  gint64 reserve = 0, wmark_low = 0;
  for (int i = 0; i < z->n_zones; i++) {
    reserve += (gint64)MIN(zone_reserve_pages(&z->zones[i]), zone_cap);
    wmark_low += (gint64)MIN(z->zones[i].low, zone_cap);
  }
  gint64 mem_free = to_pages(m->mem_free, page_size);
  gint64 pagecache = to_pages(m->active_file, page_size) + to_pages(m->inactive_file, page_size);
  /* KReclaimable = NR_SLAB_RECLAIMABLE_B + NR_KERNEL_MISC_RECLAIMABLE, the
   * kernel's "reclaimable" exactly; before 4.20 the kernel used the slab alone */
  gint64 reclaimable = to_pages(HAS(m, kreclaimable) ? m->kreclaimable : m->sreclaimable, page_size);

  gint64 free_term = mem_free - reserve;
  gint64 pagecache_kept = MIN(pagecache / 2, wmark_low);
  gint64 pagecache_term = pagecache - pagecache_kept;
  gint64 reclaimable_kept = MIN(reclaimable / 2, wmark_low);
  gint64 reclaimable_term = reclaimable - reclaimable_kept;
  gint64 estimate = free_term + pagecache_term + reclaimable_term;
  if (estimate < 0)
    estimate = 0;

  out->mem_free = to_bytes(mem_free, page_size);
  out->total_reserve = to_bytes(reserve, page_size);
  out->free_term = to_bytes(free_term, page_size);
  out->wmark_low = to_bytes(wmark_low, page_size);
  out->pagecache = to_bytes(pagecache, page_size);
  out->pagecache_kept = to_bytes(pagecache_kept, page_size);
  out->pagecache_term = to_bytes(pagecache_term, page_size);
  out->reclaimable = to_bytes(reclaimable, page_size);
  out->reclaimable_kept = to_bytes(reclaimable_kept, page_size);
  out->reclaimable_term = to_bytes(reclaimable_term, page_size);
  out->estimate = to_bytes(estimate, page_size);
  out->has_kernel_available = HAS(m, mem_available);
  if (out->has_kernel_available) {
    out->kernel_available = (gint64)MIN(m->mem_available, (guint64)G_MAXINT64);
    out->difference = out->estimate - out->kernel_available;
  }
  return TRUE;
}

static guint64
mul_saturating(guint64 pages, guint64 page_size)
{
  return pages > G_MAXUINT64 / page_size ? G_MAXUINT64 : pages * page_size;
}

static guint64
add_saturating(guint64 a, guint64 b)
{
  return a > G_MAXUINT64 - b ? G_MAXUINT64 : a + b;
}

gboolean
mv_watermarks_from_zoneinfo(const MvZoneinfo *z, guint64 page_size, MvWatermarks *out,
                            GError **error)
{
  memset(out, 0, sizeof *out);
  if (!check_page_size(page_size, error))
    return FALSE;
  out->sum.node = -1;
  g_strlcpy(out->sum.name, "total", sizeof out->sum.name);
  out->n_zones = MIN(z->n_zones, MV_ZONEINFO_MAX_ZONES);
  for (int i = 0; i < out->n_zones; i++) {
    const MvZone *zone = &z->zones[i];
    MvZoneWatermarks *w = &out->zones[i];
    w->node = zone->node;
    g_strlcpy(w->name, zone->name, sizeof w->name);
    w->min = mul_saturating(zone->min, page_size);
    w->low = mul_saturating(zone->low, page_size);
    w->high = mul_saturating(zone->high, page_size);
    w->boost = mul_saturating(zone->boost, page_size);
    w->managed = mul_saturating(zone->managed, page_size);
    w->reserve = mul_saturating(zone_reserve_pages(zone), page_size);
#define MV_WATERMARK_X(member, header) out->sum.member = add_saturating(out->sum.member, w->member);
    MV_WATERMARK_COLUMNS(MV_WATERMARK_X)
#undef MV_WATERMARK_X
  }
  return TRUE;
}

/* Everything of @out computed from its parsed meminfo and zoneinfo. */
static gboolean
system_compute(MvSystem *out, guint64 page_size, GError **error)
{
  return mv_free_from_meminfo(&out->meminfo, &out->free, error) &&
         mv_available_breakdown(&out->meminfo, &out->zoneinfo, page_size, &out->available,
                                error) &&
         mv_watermarks_from_zoneinfo(&out->zoneinfo, page_size, &out->watermarks, error);
}

gboolean
mv_system_build(MvSystem *out, const char *meminfo_text, gsize meminfo_len,
                const char *zoneinfo_text, gsize zoneinfo_len, guint64 page_size, GError **error)
{
  memset(out, 0, sizeof *out);
  return mv_meminfo_parse(meminfo_text, meminfo_len, &out->meminfo, error) &&
         mv_zoneinfo_parse(zoneinfo_text, zoneinfo_len, &out->zoneinfo, error) &&
         system_compute(out, page_size, error);
}

gboolean
mv_system_read(MvSystem *out, GError **error)
{
  g_autoptr(GString) zoneinfo = g_string_new(NULL);
  long page_size = sysconf(_SC_PAGESIZE);

  if (page_size <= 0)
    return mv_set_errno(error, EINVAL, "sysconf(_SC_PAGESIZE) failed");
  memset(out, 0, sizeof *out);
  return mv_meminfo_read(&out->meminfo, error) &&
         mv_read_file_at(mv_proc_root_fd(), "zoneinfo", zoneinfo, error) &&
         mv_zoneinfo_parse(zoneinfo->str, zoneinfo->len, &out->zoneinfo, error) &&
         system_compute(out, (guint64)page_size, error);
}

gboolean
mv_free_read(MvFree *out, GError **error)
{
  MvMeminfo meminfo;

  return mv_meminfo_read(&meminfo, error) && mv_free_from_meminfo(&meminfo, out, error);
}

typedef struct {
  GArray *counters;
  guint64 page_size;
} ReclaimPick;

static gboolean
pick_reclaim(const char *key, gsize key_len, guint64 value, gpointer user_data)
{
  static const char *const page_prefixes[] = { "pgscan_", "pgsteal_", "workingset_refault" };
  ReclaimPick *pick = user_data;
  MvReclaimCounter counter = { { 0 } };
  gboolean is_pages = FALSE, is_count;

  if (key_len >= sizeof counter.name)
    return TRUE;
  memcpy(counter.name, key, key_len);
  for (gsize i = 0; i < G_N_ELEMENTS(page_prefixes); i++)
    if (g_str_has_prefix(counter.name, page_prefixes[i]))
      is_pages = TRUE;
  if (strcmp(counter.name, "pgscan_direct_throttle") == 0)
    is_pages = FALSE;
  is_count = strcmp(counter.name, "oom_kill") == 0;
  if (!is_pages && !is_count)
    return TRUE;
  counter.value = is_pages ? mul_saturating(value, pick->page_size) : value;
  g_array_append_val(pick->counters, counter);
  return TRUE;
}

gboolean
mv_reclaim_from_vmstat(const char *text, gsize len, guint64 page_size, GArray *counters,
                       GError **error)
{
  g_autoptr(GArray) picked = g_array_new(FALSE, FALSE, sizeof(MvReclaimCounter));
  ReclaimPick pick = { picked, page_size };

  if (!check_page_size(page_size, error) ||
      !mv_keyvalue_parse(text, len, pick_reclaim, &pick, error))
    return FALSE; /* @counters unchanged */
  g_array_append_vals(counters, picked->data, picked->len);
  return TRUE;
}
