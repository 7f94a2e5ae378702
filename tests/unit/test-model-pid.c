/* SPDX-License-Identifier: MIT */
/* The per-process model: the 2x2 against the kernel's own counters of the
 * same process (status RssAnon/RssFile/RssShmem, captured with its smaps),
 * and the mappings table against sums stated from the fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "model/mv-model-pid.h"
#include "mv-test-fixture.h"

#define KB(n) ((guint64)(n) * 1024)

static const MvMappingRow *
find_row(const MvPidSmaps *m, const char *label)
{
  for (guint i = 0; i < m->rows->len; i++) {
    const MvMappingRow *row = m->rows->pdata[i];
    if (strcmp(row->label, label) == 0)
      return row;
  }
  return NULL;
}

static void
check_rows_sorted_and_summed(const MvPidSmaps *m)
{
  MvMappingRow sum;

  memset(&sum, 0, sizeof sum);
  for (guint i = 0; i < m->rows->len; i++) {
    const MvMappingRow *row = m->rows->pdata[i];
    if (i > 0) {
      const MvMappingRow *prev = m->rows->pdata[i - 1];
      assert_true(prev->v.rss > row->v.rss ||
                  (prev->v.rss == row->v.rss && strcmp(prev->label, row->label) < 0));
    }
#define ADD(member, header) sum.v.member += row->v.member;
    MV_MAPPING_COLUMNS(ADD)
#undef ADD
    sum.n_mappings += row->n_mappings;
  }
  assert_string_equal(m->total.label, "total");
#define CHECK(member, header) assert_int_equal(m->total.v.member, sum.v.member);
  MV_MAPPING_COLUMNS(CHECK)
#undef CHECK
  assert_int_equal(m->total.n_mappings, sum.n_mappings);
}

static void
test_pid_smaps_probe(void **state)
{
  MvFixture f = mv_fixture_load("smaps_probe.txt");
  g_autofree char *ref = mv_fixture_cstr("smaps_probe.txt");
  g_autofree char *status_text = mv_fixture_cstr("status_probe.txt");
  g_autoptr(MvPidSmaps) m = mv_pid_smaps_new();
  g_autoptr(GError) error = NULL;

  assert_true(mv_pid_smaps_build(m, f.data, f.len, &error));
  const MvResident2x2 *r = &m->resident;
  guint64 rss = KB(mv_ref_sum_kb(ref, "Rss"));

  /* the four add up to Rss exactly */
  assert_int_equal(r->anon_private + r->anon_shared + r->file_private + r->file_shared, rss);
  /* against the kernel's counters for the same (idle) process:
   * RssAnon = MM_ANONPAGES = private anonymous pages, incl. COW and LazyFree */
  assert_int_equal(r->anon_private, KB(mv_ref_first_kb(status_text, "RssAnon")));
  /* the rest is page cache + shmem: RssFile + RssShmem */
  assert_int_equal(r->anon_shared + r->file_private + r->file_shared,
                   KB(mv_ref_first_kb(status_text, "RssFile") +
                      mv_ref_first_kb(status_text, "RssShmem")));
  /* the probe touched two MAP_SHARED|MAP_ANONYMOUS regions of 64 pages */
  assert_int_equal(r->anon_shared, KB(2 * 256));
  /* RssShmem = both /dev/zero + SysV + memfd + POSIX shm, 256 kB each */
  assert_int_equal(KB(mv_ref_first_kb(status_text, "RssShmem")), r->anon_shared + KB(3 * 256));

  check_rows_sorted_and_summed(m);
  assert_int_equal(m->total.v.rss, rss);
  assert_int_equal(m->total.v.size, KB(mv_ref_sum_kb(ref, "Size")));
  assert_int_equal(m->total.n_mappings, mv_ref_count_headers(ref));

  const MvMappingRow *row = find_row(m, "[anon_shared]");
  assert_non_null(row);
  assert_int_equal(row->n_mappings, 2);
  assert_int_equal(row->v.rss, KB(512));
  assert_null(find_row(m, "/dev/zero (deleted)"));
  row = find_row(m, "/tmp/probe/a path with spaces");
  assert_non_null(row);
  assert_int_equal(row->n_mappings, 2); /* one MAP_SHARED, one MAP_PRIVATE */
  row = find_row(m, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  assert_non_null(row);
  assert_int_equal(row->n_mappings, 5);
  assert_non_null(find_row(m, "/tmp/probe/new\\012line"));
  assert_non_null(find_row(m, "/SYSV1234abcd (deleted)"));
  assert_non_null(find_row(m, "[heap]"));
  row = find_row(m, "[anon]");
  assert_non_null(row);
  /* the 8 MiB THP region is the biggest unnamed private anonymous mapping */
  assert_true(row->v.rss >= KB(8192));
  /* LazyFree: the MADV_FREE'd 256 kB sit in an unnamed anonymous mapping */
  assert_int_equal(row->v.lazyfree, KB(256));
  mv_fixture_free(&f);
}

static void
test_pid_smaps_named(void **state)
{
  /* smaps_named_anon.txt (hand-made, values in kB):
   *   [anon:private_named]      rw-p Rss 256 Anonymous 256
   *   [anon_shmem:shared_named] rw-s Rss 128
   *   /dev/zero (deleted)       rw-s Rss  64
   *   /memfd:x (deleted)        rw-s Rss  32
   *   /usr/lib/libfoo.so        rw-p Rss  40 Anonymous 12 (COW)
   *   [heap]                    rw-p Rss 100 Anonymous 100 LazyFree 20 Swap 8
   *   (unnamed)                 rw-p Rss   0 Swap 16
   * anon_private = 256 + 12 + 100 = 368; anon_shared = 128 + 64 = 192;
   * file_private = 40 - 12 = 28;        file_shared = 32. */
  MvFixture f = mv_fixture_load("smaps_named_anon.txt");
  g_autoptr(MvPidSmaps) m = mv_pid_smaps_new();

  assert_true(mv_pid_smaps_build(m, f.data, f.len, NULL));
  assert_int_equal(m->resident.anon_private, KB(368));
  assert_int_equal(m->resident.anon_shared, KB(192));
  assert_int_equal(m->resident.file_private, KB(28));
  assert_int_equal(m->resident.file_shared, KB(32));
  check_rows_sorted_and_summed(m);
  assert_int_equal(m->rows->len, 7);
  /* order: rss 256, 128, 100, 64, 40, 32, 0 */
  const char *order[] = { "[anon:private_named]", "[anon_shmem:shared_named]", "[heap]",
                          "[anon_shared]", "/usr/lib/libfoo.so", "/memfd:x (deleted)", "[anon]" };
  for (guint i = 0; i < G_N_ELEMENTS(order); i++)
    assert_string_equal(((MvMappingRow *)m->rows->pdata[i])->label, order[i]);
  assert_int_equal(m->total.v.swap, KB(8 + 16));
  assert_int_equal(m->total.v.lazyfree, KB(20));
  assert_int_equal(m->total.v.rss, KB(620));
  assert_int_equal(m->total.v.size, KB(7 * 256));
  mv_fixture_free(&f);
}

static void
test_pid_smaps_errors(void **state)
{
  MvFixture f = mv_fixture_load("smaps_bad_number.txt");
  g_autoptr(MvPidSmaps) m = mv_pid_smaps_new();
  g_autoptr(GError) error = NULL;

  assert_false(mv_pid_smaps_build(m, f.data, f.len, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
  mv_fixture_free(&f);
}

static void
test_label(void **state)
{
  MvSmapsEntry e;
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

  memset(&e, 0, sizeof e);
  strcpy(e.perms, "rw-p");
  e.path = "";
  a = mv_mapping_label(&e);
  assert_string_equal(a, "[anon]");
  strcpy(e.perms, "rw-s");
  e.path = "/dev/zero (deleted)";
  e.path_len = strlen(e.path);
  b = mv_mapping_label(&e);
  assert_string_equal(b, "[anon_shared]");
  /* a private mapping of /dev/zero is ordinary private anonymous memory but
   * keeps the path the kernel prints */
  strcpy(e.perms, "rw-p");
  e.path = "/dev/zero";
  e.path_len = strlen(e.path);
  c = mv_mapping_label(&e);
  assert_string_equal(c, "/dev/zero");
  /* path_len bounds the label: no NUL needed in the smaps text */
  e.path = "[stack]XXXX";
  e.path_len = 7;
  d = mv_mapping_label(&e);
  assert_string_equal(d, "[stack]");
}

static void
test_rollup_model(void **state)
{
  MvFixture f = mv_fixture_load("smaps_rollup_probe.txt");
  g_autofree char *ref = mv_fixture_cstr("smaps_rollup_probe.txt");
  MvSmapsValues v;
  MvPidRollup r;

  assert_true(mv_smaps_rollup_parse(f.data, f.len, &v, NULL));
  mv_pid_rollup_from_values(&v, &r);
  assert_int_equal(r.rss, KB(mv_ref_first_kb(ref, "Rss")));
  assert_int_equal(r.pss, KB(mv_ref_first_kb(ref, "Pss")));
  assert_int_equal(r.uss, KB(mv_ref_first_kb(ref, "Private_Clean") +
                             mv_ref_first_kb(ref, "Private_Dirty")));
  assert_int_equal(r.uss, KB(512 + 11380)); /* as printed in the fixture */
  assert_int_equal(r.swap, 0);
  assert_int_equal(r.retained_freed, KB(256));
  mv_fixture_free(&f);
}

/* Every process this test may read, live: the model built from its smaps
 * text must account for every resident page of that text in the 2x2, and
 * agree with the kernel's own RssAnon / RssFile + RssShmem counters of the
 * same process within a tolerance (two reads a moment apart; the counters
 * are also per-cpu cached: up to 64 pages per counter on SMP, see
 * SPLIT_RSS_COUNTING / percpu_counter batch). */
#define LIVE_TOLERANCE_BYTES ((guint64)256 * 4096)

static void
test_pid_smaps_live(void **state)
{
  g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
  const char *name;
  guint n_checked = 0;

  assert_non_null(proc);
  while ((name = g_dir_read_name(proc)) != NULL) {
    char *end;
    long pid = strtol(name, &end, 10);
    if (*end != '\0' || pid <= 0)
      continue;
    g_autoptr(GString) smaps = g_string_new(NULL);
    g_autoptr(GString) status = g_string_new(NULL);
    if (!mv_proc_read((pid_t)pid, "smaps", smaps, NULL) ||
        !mv_proc_read((pid_t)pid, "status", status, NULL) || smaps->len == 0)
      continue; /* gone, kernel thread, or not ours to read */
    g_autoptr(MvPidSmaps) m = mv_pid_smaps_new();
    g_autoptr(GError) error = NULL;
    if (!mv_pid_smaps_build(m, smaps->str, smaps->len, &error))
      fail_msg("pid %ld: %s", pid, error->message);
    const MvResident2x2 *r = &m->resident;
    assert_int_equal(r->anon_private + r->anon_shared + r->file_private + r->file_shared,
                     m->total.v.rss);
    MvStatus st;
    if (!mv_status_parse(status->str, status->len, &st, NULL) || !st.has_mm)
      continue;
    guint64 anon = st.rss_anon;
    guint64 rest = st.rss_file + st.rss_shmem;
    guint64 d1 = r->anon_private > anon ? r->anon_private - anon : anon - r->anon_private;
    guint64 other = r->anon_shared + r->file_private + r->file_shared;
    guint64 d2 = other > rest ? other - rest : rest - other;
    if (d1 > LIVE_TOLERANCE_BYTES || d2 > LIVE_TOLERANCE_BYTES)
      fail_msg("pid %ld (%s): anon_private %" G_GUINT64_FORMAT " vs RssAnon %" G_GUINT64_FORMAT
               ", file+shared %" G_GUINT64_FORMAT " vs RssFile+RssShmem %" G_GUINT64_FORMAT,
               pid, st.name, r->anon_private, anon, other, rest);
    n_checked++;
  }
  print_message("%u live processes checked\n", n_checked);
  assert_true(n_checked >= 1); /* at least this test itself */
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pid_smaps_probe),
    cmocka_unit_test(test_pid_smaps_named),
    cmocka_unit_test(test_pid_smaps_errors),
    cmocka_unit_test(test_label),
    cmocka_unit_test(test_rollup_model),
    cmocka_unit_test(test_pid_smaps_live),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
