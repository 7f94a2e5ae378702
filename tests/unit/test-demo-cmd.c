/* SPDX-License-Identifier: MIT */
/* The demo heap's command parser (src/memviewfs/demo/mv-demo-cmd.c): every
 * command and its canonical spelling, and the malformed inputs it must
 * refuse with EINVAL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "demo/mv-demo-cmd.h"

static MvDemoCommand
parse_ok(const char *text)
{
  MvDemoCommand cmd;
  g_autoptr(GError) error = NULL;

  if (!mv_demo_cmd_parse(text, strlen(text), &cmd, &error))
    fail_msg("\"%s\" refused: %s", text, error->message);
  return cmd;
}

static void
assert_refused(const char *text, gsize len)
{
  MvDemoCommand cmd;
  g_autoptr(GError) error = NULL;

  if (mv_demo_cmd_parse(text, len, &cmd, &error))
    fail_msg("\"%.*s\" accepted", (int) len, text);
  assert_int_equal(mv_error_errno(error), EINVAL);
  assert_non_null(error->message);
  assert_true(strlen(error->message) > 0);
}

static void
assert_spelling(const char *text, const char *canonical)
{
  MvDemoCommand cmd = parse_ok(text);
  g_autofree char *s = mv_demo_cmd_to_string(&cmd);

  assert_string_equal(s, canonical);
}

static void
test_commands(void **state)
{
  MvDemoCommand cmd = parse_ok("alloc 200000 1024\n");
  assert_int_equal(cmd.verb, MV_DEMO_ALLOC);
  assert_int_equal(cmd.count, 200000);
  assert_int_equal(cmd.size, 1024);

  cmd = parse_ok("  alloc\t1  9223372036854775807 ");
  assert_int_equal(cmd.count, 1);
  assert_int_equal(cmd.size, G_MAXINT64);

  cmd = parse_ok("free 90%");
  assert_int_equal(cmd.verb, MV_DEMO_FREE);
  assert_int_equal(cmd.percent, 90);
  assert_int_equal(parse_ok("free 0%").percent, 0);
  assert_int_equal(parse_ok("free 100%").percent, 100);
  assert_int_equal(parse_ok("free all\n").percent, 100);

  cmd = parse_ok("mode dontneed");
  assert_int_equal(cmd.verb, MV_DEMO_MODE);
  assert_true(cmd.dontneed);
  assert_false(parse_ok("mode free").dontneed);

  assert_int_equal(parse_ok("touch").verb, MV_DEMO_TOUCH);
  assert_int_equal(parse_ok("scavenge\n").verb, MV_DEMO_SCAVENGE);
  assert_int_equal(parse_ok("pressure").verb, MV_DEMO_PRESSURE);
  assert_int_equal(parse_ok("reset").verb, MV_DEMO_RESET);

  assert_spelling("alloc  3   4\n", "alloc 3 4");
  assert_spelling("free 100%", "free all");
  assert_spelling("free 7%", "free 7%");
  assert_spelling("mode dontneed", "mode dontneed");
  assert_spelling("pressure", "pressure");
}

static void
test_malformed(void **state)
{
  static const char *bad[] = {
    "", "\n", "   ", "bogus", "ALLOC 1 1", "alloc", "alloc 1", "alloc 1 2 3", "alloc 0 1",
    "alloc 1 0", "alloc -1 1", "alloc +1 1", "alloc 1 1k", "alloc 1.5 1", "alloc 0x10 1",
    "alloc 9223372036854775808 1", "alloc 99999999999999999999 1", "free", "free 50",
    "free 101%", "free -1%", "free %", "free 5%%", "free all now", "free ALL", "mode",
    "mode lazy", "mode free dontneed", "touch 1", "scavenge now", "pressure 1", "reset all",
    "free 50%\nfree 50%", "alloc 1 1\n\n", "alloc 1 1\r", "free 50%\x01",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_refused(bad[i], strlen(bad[i]));
  /* embedded NUL, non-ASCII, over the length bound */
  assert_refused("alloc\0 1 1", 10);
  assert_refused("free 5\xc3\xa9%", 9);
  char longcmd[MV_DEMO_CMD_MAX + 2];
  memset(longcmd, ' ', sizeof longcmd);
  memcpy(longcmd, "reset", 5);
  assert_refused(longcmd, sizeof longcmd);
}

static void
test_length_bound(void **state)
{
  char text[MV_DEMO_CMD_MAX + 1];
  MvDemoCommand cmd;
  g_autoptr(GError) error = NULL;

  memset(text, ' ', sizeof text);
  memcpy(text, "touch", 5);
  text[MV_DEMO_CMD_MAX - 1] = '\n';
  assert_true(mv_demo_cmd_parse(text, MV_DEMO_CMD_MAX, &cmd, &error));
  assert_int_equal(cmd.verb, MV_DEMO_TOUCH);
  assert_false(mv_demo_cmd_parse(text, MV_DEMO_CMD_MAX + 1, &cmd, &error));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_commands),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_length_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
