/* SPDX-License-Identifier: MIT */
/* The node tables: lookup and readdir agree, unknown names are ENOENT, the
 * README lists every file, table cells are escaped. Uses the real /proc for
 * the <pid>/ entries (this test's own process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tree/mv-scan.h"
#include "tree/mv-tree.h"

static MvContext
self_context(void)
{
  MvContext ctx = { .caller_pid = getpid(), .caller_uid = getuid(), .caller_gid = getgid() };
  return ctx;
}

typedef struct {
  const char *dir_path;
  guint n_listed;
  guint n_pids;
} ListCheck;

static void
check_listed_entry_resolves(const char *name, const MvNode *child, const MvContext *child_ctx,
                            gpointer user_data)
{
  ListCheck *check = user_data;
  g_autofree char *path = g_strconcat(check->dir_path, "/", name, NULL);
  g_autoptr(GError) error = NULL;
  MvContext ctx = self_context();
  const MvNode *resolved = NULL;

  check->n_listed++;
  if (child == &mv_pid_dir)
    check->n_pids++;
  /* A process may exit between listing and lookup: ENOENT is fine then. */
  if (!mv_tree_resolve(path, &ctx, &resolved, &error)) {
    assert_true(child == &mv_pid_dir);
    assert_int_equal(mv_error_errno(error), ENOENT);
    return;
  }
  assert_ptr_equal(resolved, child);
  assert_int_equal(ctx.pid, child_ctx->pid);
}

static void
test_lookup_and_readdir_agree(void **state)
{
  MvContext ctx = self_context();
  g_autofree char *self_dir = g_strdup_printf("/%d", (int) getpid());
  const MvNode *node;
  ListCheck root_check = { "", 0, 0 };
  ListCheck pid_check = { self_dir, 0, 0 };

  assert_true(mv_tree_resolve("/", &ctx, &node, NULL));
  assert_ptr_equal(node, mv_tree_root());
  mv_tree_list(node, &ctx, check_listed_entry_resolves, &root_check);
  assert_true(root_check.n_pids > 0);
  assert_true(root_check.n_listed > root_check.n_pids);

  assert_true(mv_tree_resolve(self_dir, &ctx, &node, NULL));
  assert_ptr_equal(node, &mv_pid_dir);
  assert_int_equal(ctx.pid, getpid());
  mv_tree_list(node, &ctx, check_listed_entry_resolves, &pid_check);
  assert_int_equal(pid_check.n_listed, mv_pid_dir.n_children);
  assert_int_equal(pid_check.n_pids, 0);
}

static void
test_unknown_names(void **state)
{
  static const char *const paths[] = {
    "/nosuch", "/0", "/01", "/-1", "/1x", "/99999999999", "/self/nosuch", "/README/x",
  };

  for (gsize i = 0; i < G_N_ELEMENTS(paths); i++) {
    g_autoptr(GError) error = NULL;
    MvContext ctx = self_context();
    const MvNode *node;

    assert_false(mv_tree_resolve(paths[i], &ctx, &node, &error));
    assert_true(mv_error_errno(error) == ENOENT || mv_error_errno(error) == ENOTDIR);
  }
}

static void
test_readme_lists_every_node(void **state)
{
  g_autoptr(GString) readme = g_string_new(NULL);
  MvContext ctx = self_context();
  const MvNode *root = mv_tree_root();

  assert_true(mv_render_readme(&ctx, root, readme, NULL));
  for (gsize i = 0; i < root->n_children; i++) {
    g_autofree char *line = g_strdup_printf("\n  %s", root->children[i].name);
    assert_non_null(strstr(readme->str, line));
  }
  for (gsize i = 0; i < mv_pid_dir.n_children; i++) {
    const MvNode *node = mv_node_target(&mv_pid_dir.children[i]);
    gboolean is_dir = node->type == MV_NODE_DIR;
    g_autofree char *line = g_strdup_printf("\n  <pid>/%s%s ", mv_pid_dir.children[i].name,
                                            is_dir ? "/" : "");
    assert_non_null(strstr(readme->str, line));
    assert_non_null(node->help);
    for (gsize j = 0; is_dir && j < node->n_children; j++) {
      g_autofree char *child = g_strdup_printf("\n  <pid>/%s/%s ", node->name,
                                               node->children[j].name);
      assert_non_null(strstr(readme->str, child));
      assert_non_null(node->children[j].help);
    }
  }
}

static void
test_stat_modes(void **state)
{
  MvContext ctx = self_context();
  g_autofree char *rss = g_strdup_printf("/%d/rss", (int) getpid());
  const MvNode *node;
  struct stat st;

  assert_true(mv_tree_resolve(rss, &ctx, &node, NULL));
  assert_true(mv_tree_stat(node, &ctx, &st, NULL));
  assert_int_equal(st.st_mode, S_IFREG | 0444);
  assert_int_equal(st.st_uid, getuid());
  assert_true(mv_tree_resolve("/self", &ctx, &node, NULL));
  assert_true(mv_tree_stat(node, &ctx, &st, NULL));
  assert_true(S_ISLNK(st.st_mode));
  assert_true(mv_tree_resolve("/", &ctx, &node, NULL));
  assert_true(mv_tree_stat(node, &ctx, &st, NULL));
  assert_int_equal(st.st_mode, S_IFDIR | 0555);
}

static void
test_render_value_file(void **state)
{
  MvContext ctx = self_context();
  g_autofree char *path = g_strdup_printf("/%d/rss", (int) getpid());
  g_autoptr(GString) out = g_string_new("stale");
  const MvNode *node;
  char *end;

  assert_true(mv_tree_resolve(path, &ctx, &node, NULL));
  assert_true(mv_tree_render(node, &ctx, out, NULL));
  assert_true(out->len > 1 && out->str[out->len - 1] == '\n');
  assert_true(g_ascii_strtoull(out->str, &end, 10) > 0);
  assert_true(*end == '\n');
}

static void
test_escaping(void **state)
{
  g_autoptr(GString) out = g_string_new(NULL);
  static const char comm[] = "a b\tc\nd\\e";
  static const char kernel_path[] = "/x y\\012z";

  mv_render_escaped(out, comm, strlen(comm), FALSE);
  assert_string_equal(out->str, "a\\040b\\011c\\012d\\134e");
  g_string_truncate(out, 0);
  mv_render_escaped(out, kernel_path, strlen(kernel_path), TRUE);
  assert_string_equal(out->str, "/x\\040y\\012z");
}

/* The scan takes the processes that cost most last time first; one the
 * last scan did not see, and ties, in pid order. */
static void
test_scan_order_by_cost(void **state)
{
  static const pid_t pids[] = { 1, 5, 9, 12, 40, 41 };
  /* 3 and 50 have gone; 12 and 41 are new */
  static const MvScanCost last[] = {
    { 1, 20 }, { 3, 900 }, { 5, 20 }, { 9, 35000 }, { 40, 300 }, { 50, 7 },
  };
  static const guint expected[] = { 2, 4, 0, 1, 3, 5 }; /* 9, 40, 1, 5, 12, 41 */
  guint order[G_N_ELEMENTS(pids)];

  mv_scan_order_by_cost(pids, G_N_ELEMENTS(pids), last, G_N_ELEMENTS(last), order);
  assert_memory_equal(order, expected, sizeof expected);

  /* nothing known (the first scan): pid order */
  mv_scan_order_by_cost(pids, G_N_ELEMENTS(pids), NULL, 0, order);
  for (guint i = 0; i < G_N_ELEMENTS(pids); i++)
    assert_int_equal(order[i], i);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_lookup_and_readdir_agree),
    cmocka_unit_test(test_unknown_names),
    cmocka_unit_test(test_readme_lists_every_node),
    cmocka_unit_test(test_stat_modes),
    cmocka_unit_test(test_render_value_file),
    cmocka_unit_test(test_escaping),
    cmocka_unit_test(test_scan_order_by_cost),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
