/* SPDX-License-Identifier: MIT */
/* meminfo/zoneinfo parsers and the system model: free(1) columns against
 * the output of procps' own `free -b -w` taken from the same meminfo, the
 * MemAvailable breakdown against the kernel's MemAvailable of the same
 * moment, and hand-made zone layouts with the expected values worked out in
 * the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "model/mv-model-system.h"
#include "mv-test-fixture.h"

#define KB(n) ((guint64)(n) * 1024)
#define PAGE 4096
#define PAGES(n) ((gint64)(n) * PAGE)

static MvMeminfo
load_meminfo(const char *name)
{
  MvFixture f = mv_fixture_load(name);
  MvMeminfo m;
  g_autoptr(GError) error = NULL;

  assert_true(mv_meminfo_parse(f.data, f.len, &m, &error));
  mv_fixture_free(&f);
  return m;
}

static MvZoneinfo *
load_zoneinfo(const char *name)
{
  MvFixture f = mv_fixture_load(name);
  MvZoneinfo *z = g_new0(MvZoneinfo, 1);
  g_autoptr(GError) error = NULL;

  if (!mv_zoneinfo_parse(f.data, f.len, z, &error))
    fail_msg("%s: %s", name, error->message);
  mv_fixture_free(&f);
  return z;
}

static void
test_meminfo_parse(void **state)
{
  MvMeminfo m = load_meminfo("meminfo_here_1.txt");
  g_autofree char *ref = mv_fixture_cstr("meminfo_here_1.txt");

#define CHECK(member, key)                                                 \
  if (mv_ref_first_kb(ref, key) >= 0) {                                    \
    assert_true(MV_FIELD_PRESENT(m.present, MV_MEMINFO_FIELD_##member)); \
    assert_int_equal(m.member, KB(mv_ref_first_kb(ref, key)));             \
  } else {                                                                 \
    assert_false(MV_FIELD_PRESENT(m.present, MV_MEMINFO_FIELD_##member)); \
  }
  MV_MEMINFO_FIELDS(CHECK)
#undef CHECK
  /* "Active(file)" must not be taken for "Active" nor the other way round */
  assert_int_equal(m.active, KB(mv_ref_first_kb(ref, "Active")));
  assert_true(m.active != m.active_file);
}

static void
test_meminfo_malformed(void **state)
{
  static const char *names[] = { "meminfo_no_memtotal.txt", "meminfo_bad_number.txt",
                                 "meminfo_overflow.txt" };
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
    MvFixture f = mv_fixture_load(names[i]);
    MvMeminfo m;
    g_autoptr(GError) error = NULL;
    assert_false(mv_meminfo_parse(f.data, f.len, &m, &error));
    assert_true(g_error_matches(error, MV_ERRNO, EIO));
    mv_fixture_free(&f);
  }
  MvMeminfo m;
  g_autoptr(GError) error = NULL;
  assert_false(mv_meminfo_parse("", 0, &m, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));

  /* cut inside "Active(file):": the lines before it stand, it does not */
  m = load_meminfo("meminfo_cut.txt");
  assert_true(MV_FIELD_PRESENT(m.present, MV_MEMINFO_FIELD_active_anon));
  assert_false(MV_FIELD_PRESENT(m.present, MV_MEMINFO_FIELD_active_file));
  g_autofree MvZoneinfo *z = load_zoneinfo("zoneinfo_here_1.txt");
  MvAvailableBreakdown b;
  g_clear_error(&error);
  assert_false(mv_available_breakdown(&m, z, PAGE, &b, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
}

/* The "Mem:" and "Swap:" rows of `free -b -w` (procps-ng 4.0.2). */
typedef struct {
  unsigned long long total, used, free, shared, buffers, cache, available;
  unsigned long long swap_total, swap_used, swap_free;
} FreeOutput;

static FreeOutput
read_free_output(const char *name)
{
  g_autofree char *text = mv_fixture_cstr(name);
  FreeOutput o;
  const char *mem = strstr(text, "\nMem:");
  const char *swap = strstr(text, "\nSwap:");

  memset(&o, 0, sizeof o);
  assert_non_null(mem);
  assert_non_null(swap);
  assert_int_equal(sscanf(mem, "\nMem: %llu %llu %llu %llu %llu %llu %llu", &o.total, &o.used,
                          &o.free, &o.shared, &o.buffers, &o.cache, &o.available),
                   7);
  assert_int_equal(sscanf(swap, "\nSwap: %llu %llu %llu", &o.swap_total, &o.swap_used, &o.swap_free),
                   3);
  return o;
}

static void
test_free_matches_procps(void **state)
{
  /* meminfo_free_N.txt and free_bw_N.txt were captured back to back (cat
   * /proc/meminfo; free -b -w; cat /proc/meminfo) and kept only when both
   * meminfo reads agreed on every line free uses */
  for (int n = 1; n <= 3; n++) {
    g_autofree char *mname = g_strdup_printf("meminfo_free_%d.txt", n);
    g_autofree char *fname = g_strdup_printf("free_bw_%d.txt", n);
    MvMeminfo m = load_meminfo(mname);
    FreeOutput o = read_free_output(fname);
    MvFree f;
    g_autoptr(GError) error = NULL;

    assert_true(mv_free_from_meminfo(&m, &f, &error));
    assert_int_equal(f.total, o.total);
    assert_int_equal(f.used, o.used);
    assert_int_equal(f.free, o.free);
    assert_int_equal(f.shared, o.shared);
    assert_int_equal(f.buffers, o.buffers);
    assert_int_equal(f.cache, o.cache);
    assert_int_equal(f.buff_cache, o.buffers + o.cache);
    assert_int_equal(f.available, o.available);
    assert_int_equal(f.swap_total, o.swap_total);
    assert_int_equal(f.swap_used, o.swap_used);
    assert_int_equal(f.swap_free, o.swap_free);
  }
}

static void
test_free_fallbacks(void **state)
{
  MvMeminfo m;
  MvFree f;

  memset(&m, 0, sizeof m);
  m.present = (G_GUINT64_CONSTANT(1) << MV_MEMINFO_FIELD_mem_total) |
              (G_GUINT64_CONSTANT(1) << MV_MEMINFO_FIELD_mem_free);
  m.mem_total = KB(1000);
  m.mem_free = KB(300);
  m.swap_total = KB(100);
  m.swap_free = KB(40);
  /* no MemAvailable (Linux < 3.14): procps uses MemFree */
  assert_true(mv_free_from_meminfo(&m, &f, NULL));
  assert_int_equal(f.available, KB(300));
  assert_int_equal(f.used, KB(700));
  assert_int_equal(f.swap_used, KB(60));
  /* MemAvailable above MemTotal (lxc): MemFree again */
  m.mem_available = KB(5000);
  assert_true(mv_free_from_meminfo(&m, &f, NULL));
  assert_int_equal(f.available, KB(300));
  /* swap accounting torn: SwapFree > SwapTotal gives 0 used, not a wrap */
  m.swap_free = KB(200);
  assert_true(mv_free_from_meminfo(&m, &f, NULL));
  assert_int_equal(f.swap_used, 0);
  /* free above total as well: used 0 rather than procps' wrapped value */
  m.mem_free = KB(2000);
  m.mem_available = 0;
  assert_true(mv_free_from_meminfo(&m, &f, NULL));
  assert_int_equal(f.used, 0);
  /* MemFree missing */
  m.present = G_GUINT64_CONSTANT(1) << MV_MEMINFO_FIELD_mem_total;
  g_autoptr(GError) error = NULL;
  assert_false(mv_free_from_meminfo(&m, &f, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
}

/* Independent reading of zoneinfo: sscanf over lines. */
static void
ref_zone_sums(const char *text, guint *n_zones, guint64 *low_sum, guint64 *min_sum)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  *n_zones = 0;
  *low_sum = *min_sum = 0;
  for (char **l = lines; *l != NULL; l++) {
    unsigned long long v;
    char word[16];
    int node;
    if (sscanf(*l, "Node %d, zone %15s", &node, word) == 2)
      (*n_zones)++;
    else if (sscanf(*l, " low %llu", &v) == 1)
      *low_sum += v;
    else if (sscanf(*l, " min %llu", &v) == 1)
      *min_sum += v;
  }
}

static void
test_zoneinfo_parse_here(void **state)
{
  g_autofree MvZoneinfo *z = load_zoneinfo("zoneinfo_here_1.txt");
  g_autofree char *ref = mv_fixture_cstr("zoneinfo_here_1.txt");
  guint n;
  guint64 low_sum = 0, min_sum = 0, low_ref, min_ref;

  ref_zone_sums(ref, &n, &low_ref, &min_ref);
  assert_int_equal(z->n_zones, n);
  for (int i = 0; i < z->n_zones; i++) {
    low_sum += z->zones[i].low;
    min_sum += z->zones[i].min;
    assert_int_equal(z->zones[i].n_protection, 5); /* this kernel: 5 zone types */
    assert_int_equal(z->zones[i].node, 0);
  }
  assert_int_equal(low_sum, low_ref);
  assert_int_equal(min_sum, min_ref);
  assert_string_equal(z->zones[0].name, "DMA");
  assert_string_equal(z->zones[1].name, "DMA32");
  assert_string_equal(z->zones[2].name, "Normal");
  /* DMA's protection is "(0, x, y, y, y)": lowmem_reserve for DMA32.. */
  assert_int_equal(z->zones[0].protection[0], 0);
  assert_true(z->zones[0].protection[1] > 0);
}

static void
test_zoneinfo_pagesets_high_ignored(void **state)
{
  /* zoneinfo_numa2.txt has "high:  1234" in each pageset: a per-cpu list
   * limit, not the zone's high watermark */
  g_autofree MvZoneinfo *z = load_zoneinfo("zoneinfo_numa2.txt");

  assert_int_equal(z->n_zones, 8);
  assert_int_equal(z->zones[0].high, 14);
  assert_int_equal(z->zones[2].boost, 50);
  assert_int_equal(z->zones[4].node, 1);
  assert_string_equal(z->zones[4].name, "DMA");
  assert_int_equal(z->zones[6].pages_free, 300000);
  assert_int_equal(z->zones[6].protection[3], 4000);
}

static void
test_zoneinfo_malformed(void **state)
{
  static const char *names[] = { "zoneinfo_cut.txt", "zoneinfo_bad_protection.txt",
                                 "zoneinfo_bad_low.txt" };
  MvZoneinfo *z = g_new0(MvZoneinfo, 1);
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
    MvFixture f = mv_fixture_load(names[i]);
    g_autoptr(GError) error = NULL;
    assert_false(mv_zoneinfo_parse(f.data, f.len, z, &error));
    assert_true(g_error_matches(error, MV_ERRNO, EIO));
    mv_fixture_free(&f);
  }
  g_autoptr(GError) error = NULL;
  assert_false(mv_zoneinfo_parse("", 0, z, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
  g_clear_error(&error);
  /* more zones than MV_ZONEINFO_MAX_ZONES: refused, not truncated */
  g_autoptr(GString) many = g_string_new(NULL);
  for (int i = 0; i <= MV_ZONEINFO_MAX_ZONES; i++)
    g_string_append_printf(many,
                           "Node %d, zone   Normal\n  pages free 1\n min 1\n low 1\n high 1\n"
                           " spanned 1\n present 1\n managed 1\n protection: (0)\n",
                           i);
  assert_false(mv_zoneinfo_parse(many->str, many->len, z, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
  g_free(z);
}

/* The captured pair: zoneinfo and meminfo read at the same moment on the
 * development machine (Linux 6.18, every boost 0). The watermarks and
 * reserves are static; every changing term comes from the one meminfo read;
 * so the rebuilt estimate must equal MemAvailable exactly. Tolerance: 0
 * pages (measured: 0 on both captures). */
#define HERE_TOLERANCE_PAGES 0

static void
test_available_here(void **state)
{
  for (int n = 1; n <= 2; n++) {
    g_autofree char *mname = g_strdup_printf("meminfo_here_%d.txt", n);
    g_autofree char *zname = g_strdup_printf("zoneinfo_here_%d.txt", n);
    MvMeminfo m = load_meminfo(mname);
    g_autofree MvZoneinfo *z = load_zoneinfo(zname);
    MvAvailableBreakdown b;
    g_autoptr(GError) error = NULL;

    assert_true(mv_available_breakdown(&m, z, PAGE, &b, &error));
    assert_true(b.has_kernel_available);
    assert_int_equal(b.kernel_available, (gint64)m.mem_available);
    assert_true(ABS(b.difference) <= HERE_TOLERANCE_PAGES * PAGE);
    /* the terms add up */
    assert_int_equal(b.free_term, b.mem_free - b.total_reserve);
    assert_int_equal(b.estimate, b.free_term + b.pagecache_term + b.reclaimable_term);
    assert_int_equal(b.pagecache, (gint64)(m.active_file + m.inactive_file));
    assert_int_equal(b.reclaimable, (gint64)m.kreclaimable);
  }
}

static void
test_available_numa2(void **state)
{
  /* zoneinfo_numa2.txt, pages (reserve = min(max(protection) + high - boost,
   * managed)):
   *   node 0 DMA     prot max 2500 + high 14          = 2514  (managed 3840)
   *   node 0 DMA32   1800 + 700                        = 2500
   *   node 0 Normal  300 + (1450 - boost 50)           = 1700
   *   node 0 Movable 0 + 30 = 30, capped at managed 20 = 20
   *   node 1 DMA     empty                              = 0
   *   node 1 DMA32   0 + 7, capped at managed 0         = 0
   *   node 1 Normal  4000 + 3000                        = 7000
   *   node 1 Movable 0 + 150                            = 150
   *   total_reserve = 13884
   *   wmark_low = 12 + 600 + 1250 + 25 + 0 + 6 + 2500 + 125 = 4518
   * meminfo_numa2.txt: MemFree 609000 pages, file LRU 10000 + 5000,
   * KReclaimable 3000 (SReclaimable 2800 is not used when KReclaimable is
   * there):
   *   free_term      = 609000 - 13884               = 595116
   *   pagecache_kept = min(15000 / 2, 4518)         = 4518 -> term 10482
   *   reclaim_kept   = min(3000 / 2, 4518)          = 1500 -> term 1500
   *   estimate       = 595116 + 10482 + 1500        = 607098 pages
   *                  = 2428392 kB = MemAvailable of the fixture */
  MvMeminfo m = load_meminfo("meminfo_numa2.txt");
  g_autofree MvZoneinfo *z = load_zoneinfo("zoneinfo_numa2.txt");
  MvAvailableBreakdown b;

  assert_true(mv_available_breakdown(&m, z, PAGE, &b, NULL));
  assert_int_equal(b.total_reserve, PAGES(13884));
  assert_int_equal(b.wmark_low, PAGES(4518));
  assert_int_equal(b.mem_free, PAGES(609000));
  assert_int_equal(b.free_term, PAGES(595116));
  assert_int_equal(b.pagecache, PAGES(15000));
  assert_int_equal(b.pagecache_kept, PAGES(4518));
  assert_int_equal(b.pagecache_term, PAGES(10482));
  assert_int_equal(b.reclaimable, PAGES(3000));
  assert_int_equal(b.reclaimable_kept, PAGES(1500));
  assert_int_equal(b.reclaimable_term, PAGES(1500));
  assert_int_equal(b.estimate, PAGES(607098));
  assert_int_equal(b.kernel_available, KB(2428392));
  assert_int_equal(b.difference, 0);

  /* watermarks: sums of min/low/high over the 8 zones, in bytes
   *   min  = 10 + 500 + 1050 + 20 + 0 + 5 + 2000 + 100 = 3685 pages
   *   high = 14 + 700 + 1450 + 30 + 0 + 7 + 3000 + 150 = 5351 pages */
  MvWatermarks w;
  assert_true(mv_watermarks_from_zoneinfo(z, PAGE, &w, NULL));
  assert_int_equal(w.n_zones, 8);
  assert_int_equal(w.sum.min, PAGES(3685));
  assert_int_equal(w.sum.low, PAGES(4518));
  assert_int_equal(w.sum.high, PAGES(5351));
  assert_int_equal(w.sum.boost, PAGES(50));
  assert_int_equal(w.sum.reserve, PAGES(13884));
  assert_int_equal(w.zones[3].reserve, PAGES(20));
  assert_int_equal(w.zones[6].node, 1);
  assert_string_equal(w.zones[6].name, "Normal");
  assert_string_equal(w.sum.name, "total");
}

static void
test_available_nodma(void **state)
{
  /* zoneinfo_nodma.txt: no DMA zone.
   *   DMA32   max(protection) 6000 + high 1200 = 7200
   *   Normal  0 + 6000                          = 6000
   *   Movable empty                             = 0     -> reserve 13200
   *   wmark_low = 1000 + 5000 + 0 = 6000
   * meminfo_nodma.txt: MemFree 3000 pages (below the reserve), file LRU
   * 30000 + 50000, no KReclaimable line (Linux < 4.20): SReclaimable 4000.
   *   free_term   = 3000 - 13200                  = -10200 (negative, kept)
   *   pagecache   = 80000 - min(40000, 6000)     = 74000
   *   reclaimable = 4000 - min(2000, 6000)       = 2000
   *   estimate    = -10200 + 74000 + 2000        = 65800 pages = 263200 kB */
  MvMeminfo m = load_meminfo("meminfo_nodma.txt");
  g_autofree MvZoneinfo *z = load_zoneinfo("zoneinfo_nodma.txt");
  MvAvailableBreakdown b;

  assert_int_equal(z->n_zones, 3);
  assert_true(mv_available_breakdown(&m, z, PAGE, &b, NULL));
  assert_int_equal(b.total_reserve, PAGES(13200));
  assert_int_equal(b.wmark_low, PAGES(6000));
  assert_int_equal(b.free_term, PAGES(-10200));
  assert_int_equal(b.pagecache_term, PAGES(74000));
  assert_int_equal(b.reclaimable, PAGES(4000));
  assert_int_equal(b.reclaimable_term, PAGES(2000));
  assert_int_equal(b.estimate, PAGES(65800));
  assert_int_equal(b.difference, 0);

  /* the same zones with nearly nothing free or cached: the kernel clamps
   * the estimate at 0 */
  m.mem_free = KB(4 * 10);
  m.active_file = m.inactive_file = 0;
  m.sreclaimable = 0;
  m.present &= ~(G_GUINT64_CONSTANT(1) << MV_MEMINFO_FIELD_mem_available);
  assert_true(mv_available_breakdown(&m, z, PAGE, &b, NULL));
  assert_int_equal(b.free_term, PAGES(10 - 13200));
  assert_int_equal(b.estimate, 0);
  assert_false(b.has_kernel_available);
  assert_int_equal(b.difference, 0);

  /* a page size that is not whole kB */
  g_autoptr(GError) error = NULL;
  assert_false(mv_available_breakdown(&m, z, 1000, &b, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EINVAL));
}

static void
write_file(const char *dir, const char *name, const char *fixture)
{
  g_autofree char *text = mv_fixture_cstr(fixture);
  g_autofree char *path = g_build_filename(dir, name, NULL);
  assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void
test_system_read(void **state)
{
  g_autofree MvSystem *s = g_new0(MvSystem, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp("mvsys-XXXXXX", NULL);

  assert_non_null(dir);
  write_file(dir, "meminfo", "meminfo_numa2.txt");
  write_file(dir, "zoneinfo", "zoneinfo_numa2.txt");
  assert_true(mv_proc_set_root(dir, NULL));
  if (sysconf(_SC_PAGESIZE) == PAGE) {
    assert_true(mv_system_read(s, &error));
    assert_int_equal(s->available.estimate, PAGES(607098));
    assert_int_equal(s->free.total, KB(4 * 3603840));
    assert_int_equal(s->free.cache, KB(70000 + 4 * 2800));
    assert_int_equal(s->watermarks.n_zones, 8);
  }
  g_autofree char *m = g_build_filename(dir, "meminfo", NULL);
  g_autofree char *zp = g_build_filename(dir, "zoneinfo", NULL);
  g_unlink(zp);
  assert_false(mv_system_read(s, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
  g_unlink(m);
  g_rmdir(dir);

  /* the live system: the same rebuild from /proc now. meminfo and zoneinfo
   * are two reads; only boosts (and a rare watermark recalculation between
   * the reads) can move the terms apart: tolerance = the boosts' sum + 16
   * pages */
  g_clear_error(&error);
  assert_true(mv_proc_set_root("/proc", NULL));
  assert_true(mv_system_read(s, &error));
  gint64 tolerance = (gint64)s->watermarks.sum.boost + 16 * (gint64)sysconf(_SC_PAGESIZE);
  print_message("live: estimate %" G_GINT64_FORMAT " MemAvailable %" G_GINT64_FORMAT
                " difference %" G_GINT64_FORMAT " bytes\n",
                s->available.estimate, s->available.kernel_available, s->available.difference);
  assert_true(ABS(s->available.difference) <= tolerance);
}

/* system/reclaim: the reclaim counters picked out of vmstat, pages made
 * bytes, oom_kill kept a count, pgscan_direct_throttle (events) left out;
 * a malformed line fails and adds nothing. */
static void
test_reclaim_from_vmstat(void **state)
{
  static const char vmstat[] = "nr_free_pages 999\n"
                               "workingset_refault_file 5\n"
                               "pgsteal_direct 2\n"
                               "pgscan_kswapd 10\n"
                               "pgscan_direct_throttle 3\n"
                               "oom_kill 1\n"
                               "pgfault 77\n";
  static const char bad[] = "pgscan_kswapd 10\npgsteal_direct x\n";
  g_autoptr(GArray) counters = g_array_new(FALSE, FALSE, sizeof(MvReclaimCounter));
  g_autoptr(GError) error = NULL;
  const MvReclaimCounter *c;

  assert_true(mv_reclaim_from_vmstat(vmstat, strlen(vmstat), 4096, counters, &error));
  assert_int_equal(counters->len, 4);
  c = (const MvReclaimCounter *) counters->data;
  assert_string_equal(c[0].name, "workingset_refault_file");
  assert_int_equal(c[0].value, 5 * 4096);
  assert_string_equal(c[1].name, "pgsteal_direct");
  assert_int_equal(c[1].value, 2 * 4096);
  assert_string_equal(c[2].name, "pgscan_kswapd");
  assert_int_equal(c[2].value, 10 * 4096);
  assert_string_equal(c[3].name, "oom_kill");
  assert_int_equal(c[3].value, 1);

  assert_false(mv_reclaim_from_vmstat(bad, strlen(bad), 4096, counters, &error));
  assert_non_null(error);
  assert_int_equal(counters->len, 4);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_meminfo_parse),
    cmocka_unit_test(test_meminfo_malformed),
    cmocka_unit_test(test_free_matches_procps),
    cmocka_unit_test(test_free_fallbacks),
    cmocka_unit_test(test_zoneinfo_parse_here),
    cmocka_unit_test(test_zoneinfo_pagesets_high_ignored),
    cmocka_unit_test(test_zoneinfo_malformed),
    cmocka_unit_test(test_available_here),
    cmocka_unit_test(test_available_numa2),
    cmocka_unit_test(test_available_nodma),
    cmocka_unit_test(test_system_read),
    cmocka_unit_test(test_reclaim_from_vmstat),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
