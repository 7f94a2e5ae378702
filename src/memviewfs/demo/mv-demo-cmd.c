/* SPDX-License-Identifier: MIT */
/* Parser of the demo heap's commands (see mv-demo-cmd.h). */
#include "mv-demo-cmd.h"

#include <string.h>

#define MAX_WORDS 3

/* A plain decimal number that fits in 63 bits. */
static gboolean
parse_decimal(const char *word, guint64 *value)
{
  guint64 v = 0;

  if (*word == '\0')
    return FALSE;
  for (const char *p = word; *p != '\0'; p++) {
    if (*p < '0' || *p > '9')
      return FALSE;
    if (v > (G_MAXINT64 - (guint64) (*p - '0')) / 10)
      return FALSE;
    v = v * 10 + (guint64) (*p - '0');
  }
  *value = v;
  return TRUE;
}

gboolean
mv_demo_cmd_parse(const char *text, gsize len, MvDemoCommand *cmd, GError **error)
{
  char buf[MV_DEMO_CMD_MAX + 1];
  char *words[MAX_WORDS + 1];
  guint n = 0;

  memset(cmd, 0, sizeof *cmd);
  if (len == 0)
    return mv_set_errno(error, EINVAL, "empty command");
  if (len > MV_DEMO_CMD_MAX)
    return mv_set_errno(error, EINVAL, "command longer than %d bytes", MV_DEMO_CMD_MAX);
  memcpy(buf, text, len);
  buf[len] = '\0';
  if (buf[len - 1] == '\n')
    buf[--len] = '\0';
  for (gsize i = 0; i < len; i++) {
    unsigned char c = (unsigned char) buf[i];
    if (c == ' ' || c == '\t')
      continue;
    if (c < 0x21 || c > 0x7e)
      return mv_set_errno(error, EINVAL, "invalid byte 0x%02x at offset %" G_GSIZE_FORMAT
                          " (one command per write, printable ASCII)", c, i);
  }
  for (char *p = buf;;) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      break;
    if (n == MAX_WORDS)
      return mv_set_errno(error, EINVAL, "too many words");
    words[n++] = p;
    while (*p != '\0' && *p != ' ' && *p != '\t')
      p++;
    if (*p != '\0')
      *p++ = '\0';
  }
  if (n == 0)
    return mv_set_errno(error, EINVAL, "empty command");

  const char *verb = words[0];
  if (strcmp(verb, "alloc") == 0) {
    if (n != 3)
      return mv_set_errno(error, EINVAL, "usage: alloc COUNT SIZE");
    cmd->verb = MV_DEMO_ALLOC;
    if (!parse_decimal(words[1], &cmd->count) || cmd->count == 0)
      return mv_set_errno(error, EINVAL, "alloc: COUNT must be a decimal number >= 1, not \"%s\"",
                          words[1]);
    if (!parse_decimal(words[2], &cmd->size) || cmd->size == 0)
      return mv_set_errno(error, EINVAL, "alloc: SIZE must be a decimal number of bytes >= 1, "
                          "not \"%s\"", words[2]);
    return TRUE;
  }
  if (strcmp(verb, "free") == 0) {
    guint64 pct;
    gsize wl;
    if (n != 2)
      return mv_set_errno(error, EINVAL, "usage: free PERCENT%% | free all");
    cmd->verb = MV_DEMO_FREE;
    if (strcmp(words[1], "all") == 0) {
      cmd->percent = 100;
      return TRUE;
    }
    wl = strlen(words[1]);
    if (wl < 2 || words[1][wl - 1] != '%')
      return mv_set_errno(error, EINVAL, "free: expected PERCENT%% or all, not \"%s\"", words[1]);
    words[1][wl - 1] = '\0';
    if (!parse_decimal(words[1], &pct) || pct > 100)
      return mv_set_errno(error, EINVAL, "free: PERCENT must be 0..100, not \"%s\"", words[1]);
    cmd->percent = (guint) pct;
    return TRUE;
  }
  if (strcmp(verb, "mode") == 0) {
    if (n != 2 || (strcmp(words[1], "free") != 0 && strcmp(words[1], "dontneed") != 0))
      return mv_set_errno(error, EINVAL, "usage: mode free|dontneed");
    cmd->verb = MV_DEMO_MODE;
    cmd->dontneed = strcmp(words[1], "dontneed") == 0;
    return TRUE;
  }
  static const struct {
    const char *name;
    MvDemoVerb verb;
  } bare[] = {
    { "touch", MV_DEMO_TOUCH },
    { "scavenge", MV_DEMO_SCAVENGE },
    { "pressure", MV_DEMO_PRESSURE },
    { "reset", MV_DEMO_RESET },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bare); i++)
    if (strcmp(verb, bare[i].name) == 0) {
      if (n != 1)
        return mv_set_errno(error, EINVAL, "%s takes no arguments", verb);
      cmd->verb = bare[i].verb;
      return TRUE;
    }
  return mv_set_errno(error, EINVAL, "unknown command \"%s\" (alloc COUNT SIZE, free PERCENT%%, "
                      "free all, touch, scavenge, mode free|dontneed, pressure, reset)", verb);
}

char *
mv_demo_cmd_to_string(const MvDemoCommand *cmd)
{
  switch (cmd->verb) {
  case MV_DEMO_ALLOC:
    return g_strdup_printf("alloc %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, cmd->count, cmd->size);
  case MV_DEMO_FREE:
    return cmd->percent == 100 ? g_strdup("free all") : g_strdup_printf("free %u%%", cmd->percent);
  case MV_DEMO_TOUCH:
    return g_strdup("touch");
  case MV_DEMO_SCAVENGE:
    return g_strdup("scavenge");
  case MV_DEMO_MODE:
    return g_strdup(cmd->dontneed ? "mode dontneed" : "mode free");
  case MV_DEMO_PRESSURE:
    return g_strdup("pressure");
  case MV_DEMO_RESET:
    return g_strdup("reset");
  }
  return g_strdup("?");
}
