/* SPDX-License-Identifier: MIT */
/* The parsers access decisions need: the Groups line of status and the
 * hidepid=/gid= options of the proc mount in mountinfo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "proc/mv-proc.h"

#define STATUS_HEAD "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\n"

static void
test_groups(void **state)
{
  static const char text[] = STATUS_HEAD "Groups:\t4 24 27 100 \nNSpid:\t7\n";
  gid_t groups[8];
  gsize n = 99;

  assert_true(mv_status_parse_groups(text, strlen(text), groups, 8, &n, NULL));
  assert_int_equal(n, 4);
  assert_int_equal(groups[0], 4);
  assert_int_equal(groups[1], 24);
  assert_int_equal(groups[2], 27);
  assert_int_equal(groups[3], 100);
}

static void
test_groups_empty(void **state)
{
  static const char text[] = STATUS_HEAD "Groups:\t\nNSpid:\t7\n";
  gid_t groups[1];
  gsize n = 99;

  assert_true(mv_status_parse_groups(text, strlen(text), groups, 1, &n, NULL));
  assert_int_equal(n, 0);
}

static void
test_groups_malformed(void **state)
{
  static const char *const texts[] = {
    STATUS_HEAD,                            /* no Groups line */
    STATUS_HEAD "Groups:\t4 x 27\n",        /* not a number */
    STATUS_HEAD "Groups:\t4294967296\n",    /* past 32 bits */
    STATUS_HEAD "Groups:\t4 24",            /* cut off: 24 may have lost digits */
    STATUS_HEAD "Groups:\t1 2 3\n",         /* more than the caller's room (2) */
  };

  for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
    g_autoptr(GError) error = NULL;
    gid_t groups[2];
    gsize n;

    assert_false(mv_status_parse_groups(texts[i], strlen(texts[i]), groups, 2, &n, &error));
    assert_int_equal(mv_error_errno(error), EIO);
  }
}

/* The kernel's own text: this process's groups, as getgroups() says. */
static void
test_groups_live(void **state)
{
  g_autoptr(GString) text = g_string_new(NULL);
  gid_t expected[256], groups[256];
  int n_expected = getgroups(256, expected);
  gsize n;

  assert_true(n_expected >= 0);
  assert_true(mv_read_file("/proc/self/status", text, NULL));
  assert_true(mv_status_parse_groups(text->str, text->len, groups, 256, &n, NULL));
  assert_int_equal(n, (gsize) n_expected);
  for (gsize i = 0; i < n; i++)
    assert_int_equal(groups[i], expected[i]);
}

#define SYSFS_LINE "21 27 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"

static void
test_proc_options(void **state)
{
  static const struct {
    const char *text;
    MvHidepid hidepid;
    gboolean has_gid;
    gid_t gid;
  } cases[] = {
    { SYSFS_LINE "22 27 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n", MV_HIDEPID_OFF,
      FALSE, 0 },
    { "22 27 0:21 / /proc rw - proc proc rw,hidepid=invisible,gid=27\n" SYSFS_LINE,
      MV_HIDEPID_INVISIBLE, TRUE, 27 },
    { "22 27 0:21 / /proc rw - proc proc rw,gid=1000,hidepid=2\n", MV_HIDEPID_INVISIBLE, TRUE,
      1000 },
    { "22 27 0:21 / /proc rw - proc proc rw,hidepid=noaccess\n", MV_HIDEPID_NO_ACCESS, FALSE,
      0 },
    { "22 27 0:21 / /proc rw - proc proc rw,hidepid=ptraceable,subset=pid\n",
      MV_HIDEPID_NOT_PTRACEABLE, FALSE, 0 },
    /* stacked: the last mount on /proc is the one in use */
    { "22 27 0:21 / /proc rw - proc proc rw\n"
      "90 22 0:50 / /proc rw - proc proc rw,hidepid=invisible\n",
      MV_HIDEPID_INVISIBLE, FALSE, 0 },
    /* /proc/sys and a proc mounted elsewhere are not /proc */
    { "22 27 0:21 / /proc rw - proc proc rw,hidepid=1\n"
      "23 22 0:22 / /proc/sys rw - proc proc rw\n"
      "24 27 0:23 / /mnt/proc rw - proc proc rw,hidepid=2\n",
      MV_HIDEPID_NO_ACCESS, FALSE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    MvProcMountOptions options;

    assert_true(mv_mountinfo_parse_proc_options(cases[i].text, strlen(cases[i].text), "/proc",
                                                &options, NULL));
    assert_int_equal(options.hidepid, cases[i].hidepid);
    assert_int_equal(options.has_gid, cases[i].has_gid);
    if (cases[i].has_gid)
      assert_int_equal(options.gid, cases[i].gid);
  }
}

static void
test_proc_options_absent(void **state)
{
  static const char *const texts[] = {
    "",
    SYSFS_LINE,
    "22 27 0:21 / /proc rw - tmpfs tmpfs rw,hidepid=2\n", /* not a proc */
    "22 27 0:21 / /proc rw\n",                            /* no " - " */
  };

  for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
    g_autoptr(GError) error = NULL;
    MvProcMountOptions options;

    assert_false(mv_mountinfo_parse_proc_options(texts[i], strlen(texts[i]), "/proc", &options,
                                                 &error));
    assert_int_equal(mv_error_errno(error), ENOENT);
  }
}

static void
test_proc_options_live(void **state)
{
  g_autoptr(GString) text = g_string_new(NULL);
  MvProcMountOptions options;

  assert_true(mv_read_file("/proc/self/mountinfo", text, NULL));
  assert_true(mv_mountinfo_parse_proc_options(text->str, text->len, "/proc", &options, NULL));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_groups),
    cmocka_unit_test(test_groups_empty),
    cmocka_unit_test(test_groups_malformed),
    cmocka_unit_test(test_groups_live),
    cmocka_unit_test(test_proc_options),
    cmocka_unit_test(test_proc_options_absent),
    cmocka_unit_test(test_proc_options_live),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
