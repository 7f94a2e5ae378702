/* SPDX-License-Identifier: MIT */
/* The tree against a fixture /proc (mv_proc_set_root) and a fixture cgroup
 * mount (mv_cgroup_set_root), without a live kernel: captured text under
 * made-up pids, a process whose smaps_rollup is hostile (no Rss line), one
 * whose smaps_rollup vanished; cgroup/, cgroups and <pid>/cgroup served
 * from the hand-made v2 tree cgroup_v2/. Expected values are computed from
 * the same fixture text the tree reads.
 *
 * usage: test-tree-fixture FIXTURE_DIR (tests/unit/fixtures, given by
 * meson at run time) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "tree/mv-tree.h"

static const char *fixture_dir;
static char *proc_root;
static char *cgroup_mount; /* the fixture's memory hierarchy mount */

/* the v2 fixture tree: its proc/ files and its mount */
#define CGROUP_TREE "cgroup_v2"
#define CGROUP_PID_FILE CGROUP_TREE "/proc/5343/cgroup"

enum { PID_PROBE = 4242, PID_HOSTILE = 4243, PID_VANISHED = 4244, PID_ABSENT = 4245 };

static void
put(const char *dir, const char *name, const char *fixture)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  g_autofree char *from = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  if (fixture != NULL) {
    from = g_build_filename(fixture_dir, fixture, NULL);
    assert_true(g_file_get_contents(from, &text, &len, NULL));
  }
  assert_true(g_file_set_contents(path, text != NULL ? text : "", (gssize) len, NULL));
}

/* <root>/<pid>/ with status, stat (mv_pid_unpin looks it up) and, when
 * given, smaps and smaps_rollup */
static void
make_pid(pid_t pid, const char *smaps, const char *rollup)
{
  g_autofree char *dir = g_strdup_printf("%s/%d", proc_root, (int) pid);

  assert_int_equal(g_mkdir(dir, 0755), 0);
  put(dir, "status", "status_probe.txt");
  put(dir, "cgroup", CGROUP_PID_FILE);
  put(dir, "stat", NULL);
  if (smaps != NULL)
    put(dir, "smaps", smaps);
  if (rollup != NULL)
    put(dir, "smaps_rollup", rollup);
}

static int
setup(void **state)
{
  g_autofree char *not_a_pid = NULL;
  g_autofree char *self = NULL;

  proc_root = g_dir_make_tmp("mv-fixture-proc-XXXXXX", NULL);
  assert_non_null(proc_root);
  make_pid(PID_PROBE, "smaps_probe.txt", "smaps_rollup_probe.txt");
  make_pid(PID_HOSTILE, NULL, "smaps_rollup_no_rss.txt");
  make_pid(PID_VANISHED, NULL, NULL);
  not_a_pid = g_build_filename(proc_root, "sys", NULL);
  assert_int_equal(g_mkdir(not_a_pid, 0755), 0);
  put(proc_root, "meminfo", "meminfo_here_1.txt");
  /* self/: the daemon's own cgroup and mounts (the reader of these tests) */
  self = g_build_filename(proc_root, "self", NULL);
  assert_int_equal(g_mkdir(self, 0755), 0);
  put(self, "cgroup", CGROUP_PID_FILE);
  put(self, "mountinfo", CGROUP_TREE "/proc/self/mountinfo");
  cgroup_mount = g_build_filename(fixture_dir, CGROUP_TREE, "sys", "fs", "cgroup", NULL);
  return mv_proc_set_root(proc_root, NULL) && mv_cgroup_set_root(cgroup_mount, NULL) ? 0 : -1;
}

static void
remove_tree(const char *path)
{
  GDir *dir = g_dir_open(path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      remove_tree(child);
    }
    g_dir_close(dir);
  }
  g_remove(path);
}

static int
teardown(void **state)
{
  remove_tree(proc_root);
  g_free(proc_root);
  g_free(cgroup_mount);
  return 0;
}

/* The "<key>: <n> kB" value of the fixture @name, in bytes. */
static guint64
fixture_kb(const char *name, const char *key)
{
  g_autofree char *path = g_build_filename(fixture_dir, name, NULL);
  g_autofree char *text = NULL;
  g_autofree char *prefix = g_strconcat("\n", key, ":", NULL);
  const char *line;
  guint64 kb = 0;

  assert_true(g_file_get_contents(path, &text, NULL, NULL));
  line = strstr(text, prefix);
  assert_non_null(line);
  assert_int_equal(sscanf(line + strlen(prefix), " %" G_GUINT64_FORMAT " kB", &kb), 1);
  return kb * 1024;
}

/* Renders @path as the daemon (no reader): TRUE with the text in @out, or
 * FALSE with the errno in @errnum. */
static gboolean
render(const char *path, GString *out, int *errnum)
{
  g_autoptr(GError) error = NULL;
  MvContext ctx = { 0 };
  const MvNode *node;

  g_string_truncate(out, 0);
  if (!mv_tree_resolve(path, &ctx, &node, &error) || !mv_tree_render(node, &ctx, out, &error)) {
    *errnum = mv_error_errno(error);
    return FALSE;
  }
  return TRUE;
}

static void
collect_pid(pid_t pid, gpointer user_data)
{
  g_array_append_val((GArray *) user_data, pid);
}

static gint
compare_pids(gconstpointer a, gconstpointer b)
{
  return *(const pid_t *) a - *(const pid_t *) b;
}

static void
test_pids_come_from_the_root(void **state)
{
  g_autoptr(GArray) pids = g_array_new(FALSE, FALSE, sizeof(pid_t));

  mv_foreach_pid(collect_pid, pids);
  g_array_sort(pids, compare_pids);
  assert_int_equal(pids->len, 3);
  assert_int_equal(g_array_index(pids, pid_t, 0), PID_PROBE);
  assert_int_equal(g_array_index(pids, pid_t, 1), PID_HOSTILE);
  assert_int_equal(g_array_index(pids, pid_t, 2), PID_VANISHED);
}

static void
test_values_from_the_fixture_text(void **state)
{
  g_autoptr(GString) out = g_string_new(NULL);
  g_autofree char *pss = NULL, *rss = NULL, *uss = NULL;
  int errnum = 0;

  pss = g_strdup_printf("%" G_GUINT64_FORMAT "\n", fixture_kb("smaps_rollup_probe.txt", "Pss"));
  rss = g_strdup_printf("%" G_GUINT64_FORMAT "\n", fixture_kb("status_probe.txt", "VmRSS"));
  uss = g_strdup_printf("%" G_GUINT64_FORMAT "\n",
                        fixture_kb("smaps_rollup_probe.txt", "Private_Clean") +
                          fixture_kb("smaps_rollup_probe.txt", "Private_Dirty"));
  assert_true(render("/4242/pss", out, &errnum));
  assert_string_equal(out->str, pss);
  assert_true(render("/4242/rss", out, &errnum));
  assert_string_equal(out->str, rss);
  assert_true(render("/4242/uss", out, &errnum));
  assert_string_equal(out->str, uss);
}

/* summary: the 2x2 from the fixture's smaps add up to its rss line. */
static void
test_summary_adds_up(void **state)
{
  g_autoptr(GString) out = g_string_new(NULL);
  g_auto(GStrv) lines = NULL;
  guint64 rss = 0, four = 0;
  int errnum = 0, seen = 0;

  assert_true(render("/4242/summary", out, &errnum));
  lines = g_strsplit(out->str, "\n", -1);
  for (char **l = lines; *l != NULL; l++) {
    char name[32];
    guint64 bytes;
    if (sscanf(*l, "%31s %" G_GUINT64_FORMAT, name, &bytes) != 2)
      continue;
    if (strcmp(name, "rss") == 0) {
      rss = bytes;
      seen++;
    } else if (strcmp(name, "anon_private") == 0 || strcmp(name, "anon_shared") == 0 ||
               strcmp(name, "file_private") == 0 || strcmp(name, "file_shared") == 0) {
      four += bytes;
      seen++;
    }
  }
  assert_int_equal(seen, 5);
  assert_true(rss > 0);
  assert_int_equal(four, rss);
}

static void
test_hostile_text_is_eio(void **state)
{
  g_autoptr(GString) out = g_string_new(NULL);
  int errnum = 0;

  assert_false(render("/4243/pss", out, &errnum));
  assert_int_equal(errnum, EIO);
  assert_int_equal(out->len, 0); /* never half a file */
}

static void
test_vanished_files_are_enoent(void **state)
{
  g_autoptr(GString) out = g_string_new(NULL);
  int errnum = 0;

  assert_false(render("/4244/pss", out, &errnum));
  assert_int_equal(errnum, ENOENT);
  assert_false(render("/4245/pss", out, &errnum));
  assert_int_equal(errnum, ENOENT);
}

/* The text of @rel (a file of the fixture mount), or NULL. */
static char *
mount_text(const char *rel)
{
  g_autofree char *path = g_build_filename(cgroup_mount, rel, NULL);
  char *text = NULL;

  return g_file_get_contents(path, &text, NULL, NULL) ? text : NULL;
}

/* The cgroup's path as the fixture's <pid>/cgroup names it ("0::<path>"). */
static char *
fixture_cgroup_path(void)
{
  g_autofree char *path = g_build_filename(fixture_dir, CGROUP_PID_FILE, NULL);
  g_autofree char *text = NULL;

  assert_true(g_file_get_contents(path, &text, NULL, NULL));
  assert_true(g_str_has_prefix(text, "0::"));
  return g_strstrip(g_strdup(text + 3));
}

/* cgroup/ of the reader (the daemon: self), read from the fixture mount:
 * the limit in effect is the smallest memory.max from the cgroup up to the
 * mount's top, usage is memory.current, procs and pressure the files. */
static void
test_cgroup_from_the_fixture_mount(void **state)
{
  g_autoptr(GString) out = g_string_new(NULL);
  g_autofree char *cgroup_path = fixture_cgroup_path();
  g_autofree char *expected_path = g_strconcat(cgroup_path, "\n", NULL);
  guint64 smallest = G_MAXUINT64;
  int errnum = 0;

  assert_true(render("/cgroup/path", out, &errnum));
  assert_string_equal(out->str, expected_path);
  assert_true(render("/4242/cgroup", out, &errnum));
  assert_string_equal(out->str, expected_path);

  /* walk up from the cgroup to the mount's top, as the kernel enforces */
  g_autofree char *level = g_strdup(cgroup_path + 1);
  for (;;) {
    g_autofree char *rel = g_build_filename(level, "memory.max", NULL);
    g_autofree char *max = mount_text(rel);
    if (max != NULL && !g_str_has_prefix(max, "max"))
      smallest = MIN(smallest, g_ascii_strtoull(max, NULL, 10));
    char *slash = strrchr(level, '/');
    if (slash == NULL)
      break;
    *slash = '\0';
  }
  assert_true(smallest < G_MAXUINT64); /* the fixture has a limit somewhere */
  g_autofree char *limit = g_strdup_printf("%" G_GUINT64_FORMAT "\n", smallest);
  assert_true(render("/cgroup/limit", out, &errnum));
  assert_string_equal(out->str, limit);

  struct { const char *node, *file; } same[] = {
    { "/cgroup/usage", "memory.current" },
    { "/cgroup/peak", "memory.peak" },
    { "/cgroup/swap", "memory.swap.current" },
    { "/cgroup/procs", "cgroup.procs" },
    { "/cgroup/pressure", "memory.pressure" },
    { "/cgroup/events", "memory.events" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(same); i++) {
    g_autofree char *rel = g_build_filename(cgroup_path + 1, same[i].file, NULL);
    g_autofree char *text = mount_text(rel);
    assert_non_null(text);
    assert_true(render(same[i].node, out, &errnum));
    assert_string_equal(out->str, text);
  }
}

/* The directories at and below @path. */
static guint
count_dirs(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *name;
  guint n = 1;

  assert_non_null(dir);
  while ((name = g_dir_read_name(dir)) != NULL) {
    g_autofree char *child = g_build_filename(path, name, NULL);
    if (g_file_test(child, G_FILE_TEST_IS_DIR))
      n += count_dirs(child);
  }
  return n;
}

/* cgroups: one row per directory of the fixture mount, parents first, the
 * top named "/" (the mount's root in its mountinfo line). */
static void
test_cgroups_walk_the_fixture_mount(void **state)
{
  g_autoptr(GString) out = g_string_new(NULL);
  g_autofree char *cgroup_path = fixture_cgroup_path();
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  int errnum = 0;

  assert_true(render("/cgroups", out, &errnum));
  lines = g_strsplit(out->str, "\n", -1);
  for (char **l = lines + 1; *l != NULL && **l != '\0'; l++)
    g_ptr_array_add(names, g_strdup(strrchr(*l, ' ') + 1));
  assert_int_equal(names->len, count_dirs(cgroup_mount));
  assert_string_equal(g_ptr_array_index(names, 0), "/");
  assert_string_equal(g_ptr_array_index(names, names->len - 1), cgroup_path);
  /* the leaf's row carries the same usage as cgroup/usage */
  g_autofree char *usage_rel = g_build_filename(cgroup_path + 1, "memory.current", NULL);
  g_autofree char *usage = g_strstrip(mount_text(usage_rel));
  assert_non_null(strstr(lines[names->len], usage));
}

int
main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pids_come_from_the_root),
    cmocka_unit_test(test_values_from_the_fixture_text),
    cmocka_unit_test(test_summary_adds_up),
    cmocka_unit_test(test_hostile_text_is_eio),
    cmocka_unit_test(test_vanished_files_are_enoent),
    cmocka_unit_test(test_cgroup_from_the_fixture_mount),
    cmocka_unit_test(test_cgroups_walk_the_fixture_mount),
  };

  if (argc != 2) {
    fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
    return 2;
  }
  fixture_dir = argv[1];
  return cmocka_run_group_tests(tests, setup, teardown);
}
