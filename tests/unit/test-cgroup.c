/* SPDX-License-Identifier: MIT */
/* cgroup parsers and the cgroup model on fixture trees: cgroup_v1/ is this
 * machine's memory cgroup as captured (v1), the others are hand-made from it
 * or from scratch (see fixtures/make-cgroup-fixtures.py). Expected values
 * come from reading the fixture files with sscanf here, or are stated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/mv-model-cgroup.h"
#include "mv-test-fixture.h"

#define PID 5343
#define LEAF "c487825ea3fb6b69cf6175b87836d5f3"
#define V1_DIR "/sys/fs/cgroup/memory/process_api/" LEAF

/* where each fixture tree has its memory hierarchy mounted (as its
 * proc/self/mountinfo says) */
#define V1_MOUNT "sys/fs/cgroup/memory"
#define V2_MOUNT "sys/fs/cgroup"

static char *
tree(const char *name)
{
  return g_build_filename(MV_FIXTURE_DIR, name, NULL);
}

/* Points the I/O seam at the fixture tree @name: its proc/ is the /proc
 * root, its @mount the cgroup root. Returns the tree's directory. */
static char *
use_tree(const char *name, const char *mount)
{
  char *root = tree(name);
  g_autofree char *proc = g_build_filename(root, "proc", NULL);
  g_autofree char *cgroup = g_build_filename(root, mount, NULL);

  assert_true(mv_proc_set_root(proc, NULL));
  assert_true(mv_cgroup_set_root(cgroup, NULL));
  return root;
}

/* The number in a one-number file of a fixture tree. */
static guint64
ref_number(const char *tree_name, const char *path)
{
  g_autofree char *file = g_build_filename(MV_FIXTURE_DIR, tree_name, path, NULL);
  g_autofree char *text = NULL;
  unsigned long long v;

  assert_true(g_file_get_contents(file, &text, NULL, NULL));
  assert_int_equal(sscanf(text, "%llu", &v), 1);
  return v;
}

/* "key value" from a memory.stat of a fixture tree. */
static guint64
ref_stat(const char *tree_name, const char *dir, const char *key)
{
  g_autofree char *file = g_build_filename(MV_FIXTURE_DIR, tree_name, dir, "memory.stat", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  assert_true(g_file_get_contents(file, &text, NULL, NULL));
  lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l != NULL; l++) {
    char k[64];
    unsigned long long v;
    if (sscanf(*l, "%63s %llu", k, &v) == 2 && strcmp(k, key) == 0)
      return v;
  }
  fail_msg("no %s in %s", key, file);
  return 0;
}

/* ---- parsers ----------------------------------------------------------- */

static void
test_proc_cgroup_parse(void **state)
{
  char path[128];
  MvCgroupVersion version;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = tree("cgroup_v1");
  g_autofree char *file = g_build_filename(dir, "proc", "5343", "cgroup", NULL);
  g_autofree char *text = NULL;
  gsize len;

  /* captured: hybrid host, memory on v1 ("4:memory:/process_api/...") and
   * an empty v2 ("0::/"): v1 wins */
  assert_true(g_file_get_contents(file, &text, &len, NULL));
  assert_true(mv_proc_cgroup_parse(text, len, &version, path, sizeof path, &error));
  assert_int_equal(version, MV_CGROUP_V1);
  assert_string_equal(path, "/process_api/" LEAF);

  const char v2[] = "0::/user.slice/a:b.service\n";
  assert_true(mv_proc_cgroup_parse(v2, sizeof v2 - 1, &version, path, sizeof path, &error));
  assert_int_equal(version, MV_CGROUP_V2);
  assert_string_equal(path, "/user.slice/a:b.service"); /* ':' inside the path kept */

  const char joined[] = "5:cpu,memory,pids:/x\n";
  assert_true(mv_proc_cgroup_parse(joined, sizeof joined - 1, &version, path, sizeof path, &error));
  assert_int_equal(version, MV_CGROUP_V1);
  assert_string_equal(path, "/x");

  const char none[] = "3:cpu:/\n2:memoryless:/\n";
  assert_false(mv_proc_cgroup_parse(none, sizeof none - 1, &version, path, sizeof path, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
  g_clear_error(&error);

  char tiny[8];
  assert_false(mv_proc_cgroup_parse(v2, sizeof v2 - 1, &version, tiny, sizeof tiny, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENAMETOOLONG));
  g_clear_error(&error);

  const char bad[] = "x:memory:/a\n";
  assert_false(mv_proc_cgroup_parse(bad, sizeof bad - 1, &version, path, sizeof path, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
  g_clear_error(&error);
  /* cut inside the path: the line is not trusted */
  assert_false(mv_proc_cgroup_parse(v2, sizeof v2 - 5, &version, path, sizeof path, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
}

static gboolean
sum_kv(const char *key, gsize key_len, guint64 value, gpointer user_data)
{
  guint64 *acc = user_data;
  acc[0]++;
  acc[1] += value;
  return TRUE;
}

static void
test_keyvalue_parse(void **state)
{
  MvFixture f;
  g_autofree char *text = NULL;
  g_autofree char *file = g_build_filename(MV_FIXTURE_DIR, "cgroup_v1", V1_DIR, "memory.stat", NULL);
  gsize len;
  guint64 acc[2] = { 0, 0 }, n = 0, sum = 0;

  assert_true(g_file_get_contents(file, &text, &len, NULL));
  f.data = text;
  f.len = len;
  assert_true(mv_keyvalue_parse(f.data, f.len, sum_kv, acc, NULL));
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l != NULL; l++) {
    char k[64];
    unsigned long long v;
    if (sscanf(*l, "%63s %llu", k, &v) == 2) {
      n++;
      sum += v;
    }
  }
  assert_int_equal(acc[0], n);
  assert_int_equal(acc[1], sum);

  g_autoptr(GError) error = NULL;
  const char bad[] = "anon 12\nfile 1x\n";
  assert_false(mv_keyvalue_parse(bad, sizeof bad - 1, sum_kv, acc, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
  g_clear_error(&error);
  const char big[] = "anon 99999999999999999999\n";
  assert_false(mv_keyvalue_parse(big, sizeof big - 1, sum_kv, acc, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
}

static void
test_single_value_parse(void **state)
{
  guint64 v;
  gboolean is_max;
  g_autoptr(GError) error = NULL;

  assert_true(mv_single_value_parse("max\n", 4, &v, &is_max, NULL));
  assert_true(is_max);
  assert_true(mv_single_value_parse("9223372036854771712\n", 20, &v, &is_max, NULL));
  assert_false(is_max);
  assert_int_equal(v, 9223372036854771712ULL);
  assert_true(mv_single_value_parse("0\n", 2, &v, &is_max, NULL));
  assert_int_equal(v, 0);
  static const char *const bad[] = { "", "\n", "12a\n", "-1\n", "99999999999999999999\n",
                                     "123", "1\n2\n", "maxi\n" };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    assert_false(mv_single_value_parse(bad[i], strlen(bad[i]), &v, &is_max, &error));
    assert_true(g_error_matches(error, MV_ERRNO, EIO));
    g_clear_error(&error);
  }
}

typedef struct {
  guint n, n_cgroup_memory;
  char memory_mount[256];
} MountCount;

static gboolean
count_mount(const MvMountinfoEntry *e, gpointer user_data)
{
  MountCount *c = user_data;
  c->n++;
  if (e->fstype_len == 6 && memcmp(e->fstype, "cgroup", 6) == 0 && e->super_options_len >= 6 &&
      memcmp(e->super_options + e->super_options_len - 6, "memory", 6) == 0) {
    c->n_cgroup_memory++;
    assert_true(mv_mountinfo_unescape(e->mount_point, e->mount_point_len, c->memory_mount,
                                      sizeof c->memory_mount));
  }
  return TRUE;
}

static void
test_mountinfo_parse(void **state)
{
  g_autofree char *file = g_build_filename(MV_FIXTURE_DIR, "cgroup_v1", "proc", "self", "mountinfo", NULL);
  g_autofree char *text = NULL;
  gsize len;
  MountCount c;

  memset(&c, 0, sizeof c);
  assert_true(g_file_get_contents(file, &text, &len, NULL));
  assert_true(mv_mountinfo_parse(text, len, count_mount, &c, NULL));
  guint lines = 0;
  for (gsize i = 0; i < len; i++)
    lines += text[i] == '\n';
  assert_int_equal(c.n, lines);
  assert_int_equal(c.n_cgroup_memory, 1);
  assert_string_equal(c.memory_mount, "/sys/fs/cgroup/memory");

  char out[64];
  assert_true(mv_mountinfo_unescape("/a\\040b\\011c\\134d", 17, out, sizeof out));
  assert_string_equal(out, "/a b\tc\\d");
  assert_false(mv_mountinfo_unescape("/a\\000", 6, out, sizeof out)); /* a NUL */
  assert_false(mv_mountinfo_unescape("/abcdef", 7, out, 4));         /* too long */

  g_autoptr(GError) error = NULL;
  const char bad[] = "36 35 98:0 /root /mnt rw,noatime master:1 ext3 /dev/root rw\n"; /* no "-" */
  memset(&c, 0, sizeof c);
  assert_false(mv_mountinfo_parse(bad, sizeof bad - 1, count_mount, &c, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
}

static gboolean
collect_pid(pid_t pid, gpointer user_data)
{
  g_array_append_val((GArray *)user_data, pid);
  return TRUE;
}

static void
test_pid_list_parse(void **state)
{
  g_autoptr(GArray) pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
  g_autoptr(GError) error = NULL;

  assert_true(mv_pid_list_parse("1\n22\n333\n", 9, collect_pid, pids, NULL));
  assert_int_equal(pids->len, 3);
  assert_int_equal(g_array_index(pids, pid_t, 2), 333);
  assert_false(mv_pid_list_parse("1\nx\n", 4, collect_pid, pids, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
}

/* ---- the model ----------------------------------------------------------- */

static void
test_v1_captured(void **state)
{
  g_autofree char *root = use_tree("cgroup_v1", V1_MOUNT);
  g_autoptr(MvCgroup) cg = mv_cgroup_new();
  g_autoptr(GError) error = NULL;
  const char *t = "cgroup_v1";

  assert_true(mv_cgroup_read(cg, PID, &error));
  assert_int_equal(cg->location.version, MV_CGROUP_V1);
  assert_string_equal(cg->location.cgroup_path, "/process_api/" LEAF);
  assert_string_equal(cg->location.mount_root, "/");
  assert_string_equal(cg->location.mount_point, "/sys/fs/cgroup/memory");
  assert_string_equal(cg->location.dir, V1_DIR);

  /* no limit on this machine: the kernel's own hierarchical_memory_limit
   * says so too */
  assert_true(mv_cgroup_has(cg, MV_CGROUP_FIELD_limit));
  assert_true(cg->limit_is_max);
  assert_true(ref_stat(t, V1_DIR, "hierarchical_memory_limit") >= (G_GUINT64_CONSTANT(1) << 62));
  assert_int_equal(cg->usage, ref_number(t, V1_DIR "/memory.usage_in_bytes"));
  assert_int_equal(cg->anon, ref_stat(t, V1_DIR, "total_rss"));
  assert_int_equal(cg->file, ref_stat(t, V1_DIR, "total_cache"));
  assert_int_equal(cg->shmem, ref_stat(t, V1_DIR, "total_shmem"));
  assert_int_equal(cg->kernel, ref_number(t, V1_DIR "/memory.kmem.usage_in_bytes"));
  assert_int_equal(cg->reclaimable,
                   ref_stat(t, V1_DIR, "total_inactive_file") + ref_stat(t, V1_DIR, "total_active_file"));
  /* captured memsw (49659904) below usage (49672192): two reads a moment
   * apart; swap is 0, not a wrapped difference */
  assert_true(mv_cgroup_has(cg, MV_CGROUP_FIELD_swap));
  guint64 memsw = ref_number(t, V1_DIR "/memory.memsw.usage_in_bytes");
  guint64 usage = ref_number(t, V1_DIR "/memory.usage_in_bytes");
  assert_int_equal(cg->swap, memsw > usage ? memsw - usage : 0);
  /* no limit: available is the system's MemAvailable */
  g_autofree char *meminfo = g_build_filename(root, "proc", "meminfo", NULL);
  g_autofree char *meminfo_text = NULL;
  assert_true(g_file_get_contents(meminfo, &meminfo_text, NULL, NULL));
  assert_true(cg->available_from_system);
  assert_int_equal(cg->available, 1024 * (guint64)mv_ref_first_kb(meminfo_text, "MemAvailable"));
  assert_null(cg->pressure); /* v1 has no PSI file */
  assert_non_null(cg->procs);
  {
    g_autofree char *procs_file = g_build_filename(root, V1_DIR, "cgroup.procs", NULL);
    g_autofree char *procs_text = NULL;
    guint lines = 0;
    assert_true(g_file_get_contents(procs_file, &procs_text, NULL, NULL));
    for (const char *p = procs_text; *p != '\0'; p++)
      lines += *p == '\n';
    assert_int_equal(cg->procs->len, lines);
  }
  gboolean has_pid = FALSE;
  for (guint i = 0; i < cg->procs->len; i++)
    has_pid |= g_array_index(cg->procs, pid_t, i) == PID;
  assert_true(has_pid);
}

static void
test_v1_limited(void **state)
{
  /* parent limit 256 MiB, own 512 MiB: 256 MiB is in effect, as the
   * kernel's hierarchical_memory_limit of the fixture says */
  g_autofree char *root = use_tree("cgroup_v1_limited", V1_MOUNT);
  g_autoptr(MvCgroup) cg = mv_cgroup_new();
  const char *t = "cgroup_v1_limited";

  assert_true(mv_cgroup_read(cg, PID, NULL));
  assert_false(cg->limit_is_max);
  assert_int_equal(cg->limit, 268435456);
  assert_int_equal(cg->limit, ref_stat(t, V1_DIR, "hierarchical_memory_limit"));
  guint64 usage = ref_number(t, V1_DIR "/memory.usage_in_bytes");
  guint64 reclaimable = ref_stat(t, V1_DIR, "total_inactive_file") + ref_stat(t, V1_DIR, "total_active_file");
  guint64 expected = MIN(268435456 - usage + reclaimable, 268435456);
  assert_int_equal(cg->available, expected);
  assert_false(cg->available_from_system);
  /* no memory.memsw.usage_in_bytes (swapaccount=0): swap absent */
  assert_false(mv_cgroup_has(cg, MV_CGROUP_FIELD_swap));
  assert_int_equal(cg->swap, 0);
}

static void
test_v1_container(void **state)
{
  /* mountinfo: "/process_api /sys/fs/cgroup/memory ... - cgroup cgroup rw,memory";
   * /proc/<pid>/cgroup still names "/process_api/<leaf>" */
  g_autofree char *root = use_tree("cgroup_v1_container", V1_MOUNT);
  g_autoptr(MvCgroup) cg = mv_cgroup_new();
  g_autoptr(GError) error = NULL;

  assert_true(mv_cgroup_read(cg, PID, &error));
  assert_string_equal(cg->location.mount_root, "/process_api");
  assert_string_equal(cg->location.dir, "/sys/fs/cgroup/memory/" LEAF);
  /* the top visible level (the mount point) carries the 256 MiB limit */
  assert_int_equal(cg->limit, 268435456);
  assert_true(mv_cgroup_has(cg, MV_CGROUP_FIELD_usage));
}

static void
test_v2(void **state)
{
  /* hand-made: user.slice memory.max 1 GiB, app.service "max";
   * current 900 MiB; inactive_file 200000000 + active_file 41172480 +
   * slab_reclaimable 31457280 = 272629760 reclaimable;
   * available = 1073741824 - 943718400 + 272629760 = 402653184 (< limit) */
  g_autofree char *root = use_tree("cgroup_v2", V2_MOUNT);
  g_autoptr(MvCgroup) cg = mv_cgroup_new();
  g_autoptr(GError) error = NULL;

  assert_true(mv_cgroup_read(cg, PID, &error));
  assert_int_equal(cg->location.version, MV_CGROUP_V2);
  assert_string_equal(cg->location.dir, "/sys/fs/cgroup/user.slice/app.service");
  assert_false(cg->limit_is_max);
  assert_int_equal(cg->limit, 1073741824);
  assert_int_equal(cg->usage, 943718400);
  assert_int_equal(cg->anon, 629145600);
  assert_int_equal(cg->file, 262144000);
  assert_int_equal(cg->shmem, 20971520);
  assert_int_equal(cg->kernel, 41943040);
  assert_int_equal(cg->swap, 10485760);
  assert_int_equal(cg->reclaimable, 272629760);
  assert_int_equal(cg->available, 402653184);
  assert_non_null(cg->pressure);
  assert_true(g_str_has_prefix(cg->pressure, "some avg10=0.12 "));
  assert_int_equal(cg->procs->len, 3);
  assert_int_equal(g_array_index(cg->procs, pid_t, 0), 4242);
  assert_int_equal(cg->peak, 1010827264);
  assert_string_equal(cg->events, "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");
  for (int i = 0; i < MV_CGROUP_N_FIELDS; i++)
    assert_true(mv_cgroup_has(cg, i));
}

static void
test_v2_unlimited(void **state)
{
  /* no limit anywhere: available = MemAvailable 6000000 kB of the fixture's
   * /proc/meminfo; no memory.swap.current, no memory.pressure */
  g_autofree char *root = use_tree("cgroup_v2_unlimited", V2_MOUNT);
  g_autoptr(MvCgroup) cg = mv_cgroup_new();

  assert_true(mv_cgroup_read(cg, PID, NULL));
  assert_true(cg->limit_is_max);
  assert_int_equal(cg->limit, G_MAXUINT64);
  assert_true(cg->available_from_system);
  assert_int_equal(cg->available, 6000000ULL * 1024);
  assert_false(mv_cgroup_has(cg, MV_CGROUP_FIELD_swap));
  assert_null(cg->pressure);
}

static void
put(const char *root, const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename(root, rel, NULL);
  g_autofree char *dir = g_path_get_dirname(path);
  assert_int_equal(g_mkdir_with_parents(dir, 0700), 0);
  assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void
test_errors_and_missing(void **state)
{
  g_autofree char *root = g_dir_make_tmp("mvcg-XXXXXX", NULL);
  g_autofree char *proc = g_build_filename(root, "proc", NULL);
  g_autofree char *mount = g_build_filename(root, V2_MOUNT, NULL);
  g_autoptr(MvCgroup) cg = mv_cgroup_new();
  g_autoptr(GError) error = NULL;
  MvCgroupLocation loc;

  assert_int_equal(g_mkdir(proc, 0700), 0);
  assert_true(mv_proc_set_root(proc, NULL));
  /* no /proc/<pid>/cgroup: the read's errno */
  assert_false(mv_cgroup_locate(77, &loc, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
  g_clear_error(&error);

  /* a cgroup above the container's mount root: not visible here */
  put(root, "proc/77/cgroup", "0::/other.slice/x\n");
  put(root, "proc/self/mountinfo",
      "30 22 0:26 /mine.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  assert_false(mv_cgroup_locate(77, &loc, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
  g_clear_error(&error);
  /* "/mine.slicex" is not inside "/mine.slice" */
  put(root, "proc/77/cgroup", "0::/mine.slicex\n");
  assert_false(mv_cgroup_locate(77, &loc, &error));
  g_clear_error(&error);

  /* located, but the directory holds no files: every value absent */
  put(root, "proc/77/cgroup", "0::/mine.slice/y\n");
  put(root, "sys/fs/cgroup/y/.keep", "");
  assert_true(mv_cgroup_set_root(mount, NULL));
  assert_true(mv_cgroup_read(cg, 77, &error));
  assert_string_equal(cg->location.dir, "/sys/fs/cgroup/y");
  assert_int_equal(cg->present, 0);
  assert_null(cg->procs);

  /* a malformed value file is absent too, never a guess */
  g_autoptr(MvCgroup) cg2 = mv_cgroup_new();
  put(root, "sys/fs/cgroup/y/memory.max", "12x\n");
  put(root, "sys/fs/cgroup/y/memory.current", "4096\n");
  assert_true(mv_cgroup_read(cg2, 77, &error));
  assert_false(mv_cgroup_has(cg2, MV_CGROUP_FIELD_limit));
  assert_true(mv_cgroup_has(cg2, MV_CGROUP_FIELD_usage));
  assert_false(mv_cgroup_has(cg2, MV_CGROUP_FIELD_available));

  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", root);
  assert_int_equal(system(cmd), 0);
}

static void
test_live_self(void **state)
{
  /* the test's own cgroup on this machine, if it has a memory controller */
  g_autoptr(MvCgroup) cg = mv_cgroup_new();
  g_autoptr(GError) error = NULL;

  /* the default roots: /proc, and the mount found in its self/mountinfo */
  assert_true(mv_proc_set_root("/proc", NULL));
  assert_true(mv_cgroup_set_root(NULL, NULL));
  if (!mv_cgroup_read(cg, 0, &error)) {
    print_message("no memory cgroup here: %s\n", error->message);
    assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
    return;
  }
  assert_true(g_file_test(cg->location.dir, G_FILE_TEST_IS_DIR));
  assert_true(mv_cgroup_has(cg, MV_CGROUP_FIELD_usage));
  assert_non_null(cg->procs);
  gboolean has_self = FALSE;
  for (guint i = 0; i < cg->procs->len; i++)
    has_self |= g_array_index(cg->procs, pid_t, i) == getpid();
  assert_true(has_self);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_proc_cgroup_parse),
    cmocka_unit_test(test_keyvalue_parse),
    cmocka_unit_test(test_single_value_parse),
    cmocka_unit_test(test_mountinfo_parse),
    cmocka_unit_test(test_pid_list_parse),
    cmocka_unit_test(test_v1_captured),
    cmocka_unit_test(test_v1_limited),
    cmocka_unit_test(test_v1_container),
    cmocka_unit_test(test_v2),
    cmocka_unit_test(test_v2_unlimited),
    cmocka_unit_test(test_errors_and_missing),
    cmocka_unit_test(test_live_self),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
