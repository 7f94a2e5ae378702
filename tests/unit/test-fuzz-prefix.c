/* SPDX-License-Identifier: MIT */
/* Every prefix of every fixture, and deterministic binary junk, through
 * every parser and text-level model builder. The assertion is the absence of
 * a crash (and, under -fsanitize=address,undefined, of any out-of-bounds
 * read: each prefix is copied into a buffer of exactly its length), plus
 * that a failure always comes with a GError in MV_ERRNO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "model/mv-model-pid.h"
#include "model/mv-model-system.h"
#include "mv-test-fixture.h"

static gboolean
count_mapping(const MvSmapsEntry *e, gpointer user_data)
{
  /* touch the path: it must lie inside the text */
  guint64 *sum = user_data;
  for (gsize i = 0; i < e->path_len; i++)
    *sum += (guchar)e->path[i];
  return TRUE;
}

static gboolean
count_kv(const char *key, gsize key_len, guint64 value, gpointer user_data)
{
  guint64 *sum = user_data;
  for (gsize i = 0; i < key_len; i++)
    *sum += (guchar)key[i];
  *sum += value;
  return TRUE;
}

static gboolean
count_mount(const MvMountinfoEntry *e, gpointer user_data)
{
  guint64 *sum = user_data;
  char out[4096];
  /* every string must lie inside the text; unescaping reads them whole */
  if (mv_mountinfo_unescape(e->root, e->root_len, out, sizeof out))
    *sum += strlen(out);
  if (mv_mountinfo_unescape(e->mount_point, e->mount_point_len, out, sizeof out))
    *sum += strlen(out);
  for (gsize i = 0; i < e->fstype_len; i++)
    *sum += (guchar)e->fstype[i];
  for (gsize i = 0; i < e->super_options_len; i++)
    *sum += (guchar)e->super_options[i];
  return TRUE;
}

static gboolean
count_pid(pid_t pid, gpointer user_data)
{
  *(guint64 *)user_data += (guint64)pid;
  return TRUE;
}

static void
check_result(gboolean ok, GError *error)
{
  if (ok) {
    assert_null(error);
  } else {
    assert_non_null(error);
    assert_true(error->domain == MV_ERRNO);
    assert_true(error->code > 0);
  }
}

#define RUN(call)                        \
  do {                                   \
    g_autoptr(GError) error = NULL;      \
    gboolean ok = (call);                \
    check_result(ok, error);             \
  } while (0)

static guint64
run_all_parsers(const char *text, gsize len)
{
  guint64 sum = 0;
  MvSmapsValues values;
  MvStatus status;
  MvMeminfo meminfo;
  static MvZoneinfo zoneinfo; /* 64 zones: too big for a comfortable stack */
  MvCgroupVersion version;
  char path[256];
  guint64 value;
  gboolean is_max;

  RUN(mv_smaps_parse(text, len, count_mapping, &sum, &error));
  RUN(mv_smaps_rollup_parse(text, len, &values, &error));
  RUN(mv_status_parse(text, len, &status, &error));
  RUN(mv_meminfo_parse(text, len, &meminfo, &error));
  RUN(mv_zoneinfo_parse(text, len, &zoneinfo, &error));
  RUN(mv_proc_cgroup_parse(text, len, &version, path, sizeof path, &error));
  RUN(mv_keyvalue_parse(text, len, count_kv, &sum, &error));
  RUN(mv_single_value_parse(text, len, &value, &is_max, &error));
  RUN(mv_mountinfo_parse(text, len, count_mount, &sum, &error));
  RUN(mv_pid_list_parse(text, len, count_pid, &sum, &error));
  {
    g_autoptr(MvPidSmaps) m = mv_pid_smaps_new();
    RUN(mv_pid_smaps_build(m, text, len, &error));
  }
  {
    /* the system model with the text as one input and a good capture as
     * the other, so that each parser's output reaches the model */
    static MvSystem system;
    static char *good_meminfo, *good_zoneinfo;
    if (good_meminfo == NULL) {
      good_meminfo = mv_fixture_cstr("meminfo_here_1.txt");
      good_zoneinfo = mv_fixture_cstr("zoneinfo_here_1.txt");
    }
    RUN(mv_system_build(&system, text, len, good_zoneinfo, strlen(good_zoneinfo), 4096, &error));
    RUN(mv_system_build(&system, good_meminfo, strlen(good_meminfo), text, len, 4096, &error));
  }
  return sum;
}

static gsize
common_prefix(const MvFixture *a, const MvFixture *b)
{
  gsize n = MIN(a->len, b->len), i = 0;
  while (i < n && a->data[i] == b->data[i])
    i++;
  return i;
}

/* Every fixture file under @dir (relative names), the generator scripts
 * excepted: captured text, hand-made variants and the cgroup trees. */
static void
collect_fixtures(const char *base, const char *rel, GPtrArray *names)
{
  g_autofree char *path = g_build_filename(base, rel, NULL);
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *name;

  assert_non_null(dir);
  while ((name = g_dir_read_name(dir)) != NULL) {
    g_autofree char *child_rel = rel[0] != '\0' ? g_build_filename(rel, name, NULL) : g_strdup(name);
    g_autofree char *child = g_build_filename(base, child_rel, NULL);
    if (g_file_test(child, G_FILE_TEST_IS_DIR))
      collect_fixtures(base, child_rel, names);
    else if (!g_str_has_suffix(name, ".py") && !g_str_has_suffix(name, ".md"))
      g_ptr_array_add(names, g_steal_pointer(&child_rel));
  }
}

static void
test_every_prefix(void **state)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GArray) done = g_array_new(FALSE, FALSE, sizeof(MvFixture));
  guint64 n_prefixes = 0;

  collect_fixtures(MV_FIXTURE_DIR, "", names);
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  assert_true(names->len >= 10);

  run_all_parsers(NULL, 0);
  for (guint n = 0; n < names->len; n++) {
    MvFixture f = mv_fixture_load(names->pdata[n]);
    /* the malformed variants share their start with the captured original:
     * a prefix already fed (same bytes) is not fed again */
    gsize from = 0;
    for (guint k = 0; k < done->len; k++)
      from = MAX(from, common_prefix(&f, &g_array_index(done, MvFixture, k)));
    for (gsize len = from; len <= f.len; len++) {
      /* an exact-size copy: one byte past len is outside the allocation */
      char *copy = malloc(len > 0 ? len : 1);
      assert_non_null(copy);
      memcpy(copy, f.data, len);
      run_all_parsers(copy, len);
      free(copy);
      n_prefixes++;
    }
    g_array_append_val(done, f);
  }
  for (guint k = 0; k < done->len; k++)
    mv_fixture_free(&g_array_index(done, MvFixture, k));
  print_message("%" G_GUINT64_FORMAT " prefixes of %u fixtures\n", n_prefixes, names->len);
}

/* xorshift64*: deterministic junk, the same on every run */
static guint64
next_random(guint64 *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * G_GUINT64_CONSTANT(2685821657736338717);
}

static void
test_binary_junk(void **state)
{
  guint64 seed = 0x6d656d7669657766ULL;

  for (int round = 0; round < 2000; round++) {
    gsize len = (gsize)(next_random(&seed) % 512);
    char *junk = malloc(len > 0 ? len : 1);
    /* mostly bytes that matter to the parsers, some of anything */
    static const char alphabet[] = "0123456789abcdef-: \t\n()kB,x/[]Node zone Rss";
    for (gsize i = 0; i < len; i++) {
      guint64 r = next_random(&seed);
      junk[i] = (r & 3) == 0 ? (char)(r >> 8) : alphabet[(r >> 8) % (sizeof alphabet - 1)];
    }
    run_all_parsers(junk, len);
    free(junk);
  }
}

static void
test_mutated_fixtures(void **state)
{
  /* flip bytes of real text: the parsers see plausible-but-wrong lines */
  static const char *names[] = { "smaps_probe.txt", "smaps_rollup_probe.txt", "status_probe.txt",
                                 "meminfo_free_1.txt", "zoneinfo_here_1.txt", "zoneinfo_numa2.txt" };
  guint64 seed = 42;

  for (gsize n = 0; n < G_N_ELEMENTS(names); n++) {
    g_autofree char *path = g_build_filename(MV_FIXTURE_DIR, names[n], NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
      continue;
    MvFixture f = mv_fixture_load(names[n]);
    for (int round = 0; round < 200 && f.len > 0; round++) {
      char *copy = malloc(f.len);
      memcpy(copy, f.data, f.len);
      for (int k = 0; k < 4; k++) {
        guint64 r = next_random(&seed);
        copy[r % f.len] = (char)(r >> 32);
      }
      run_all_parsers(copy, f.len);
      free(copy);
    }
    mv_fixture_free(&f);
  }
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_prefix),
    cmocka_unit_test(test_binary_junk),
    cmocka_unit_test(test_mutated_fixtures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
