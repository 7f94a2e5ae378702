/* SPDX-License-Identifier: MIT */
/* /proc/<pid>/mountinfo (see proc(5)): space-separated fields, paths with
 * octal escapes, a variable number of optional fields ended by "-". */
#include "mv-proc.h"
#include "mv-proc-text.h"

#include <string.h>

/* The next space-separated field of @line from *pos. */
static gboolean
next_field(const char *line, gsize len, gsize *pos, const char **field, gsize *field_len)
{
  while (*pos < len && line[*pos] == ' ')
    (*pos)++;
  if (*pos >= len)
    return FALSE;
  gsize start = *pos;
  while (*pos < len && line[*pos] != ' ')
    (*pos)++;
  *field = line + start;
  *field_len = *pos - start;
  return TRUE;
}

static gboolean
whole_number(const char *p, gsize len, guint64 *out)
{
  gsize pos = 0;
  return mv_scan_u64(p, len, &pos, out) == MV_NUM_OK && pos == len;
}

static gboolean
parse_line(const char *line, gsize len, MvMountinfoEntry *e)
{
  gsize pos = 0;
  const char *f;
  gsize flen;
  guint64 major, minor;

  memset(e, 0, sizeof *e);
  if (!next_field(line, len, &pos, &f, &flen) || !whole_number(f, flen, &e->mount_id) ||
      !next_field(line, len, &pos, &f, &flen) || !whole_number(f, flen, &e->parent_id) ||
      !next_field(line, len, &pos, &f, &flen))
    return FALSE;
  const char *colon = memchr(f, ':', flen);
  if (colon == NULL || !whole_number(f, (gsize)(colon - f), &major) ||
      !whole_number(colon + 1, flen - (gsize)(colon - f) - 1, &minor) || major > G_MAXUINT32 ||
      minor > G_MAXUINT32)
    return FALSE;
  e->dev_major = (guint32)major;
  e->dev_minor = (guint32)minor;
  if (!next_field(line, len, &pos, &e->root, &e->root_len) ||
      !next_field(line, len, &pos, &e->mount_point, &e->mount_point_len) ||
      !next_field(line, len, &pos, &f, &flen)) /* mount options */
    return FALSE;
  for (;;) { /* optional fields up to "-" */
    if (!next_field(line, len, &pos, &f, &flen))
      return FALSE;
    if (flen == 1 && f[0] == '-')
      break;
  }
  if (!next_field(line, len, &pos, &e->fstype, &e->fstype_len) ||
      !next_field(line, len, &pos, &f, &flen)) /* source */
    return FALSE;
  if (!next_field(line, len, &pos, &e->super_options, &e->super_options_len)) {
    e->super_options = line + len;
    e->super_options_len = 0;
  }
  return TRUE;
}

gboolean
mv_mountinfo_parse(const char *text, gsize len, MvMountinfoFunc func, gpointer user_data,
                   GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;
  MvMountinfoEntry e;

  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (!complete)
      break; /* a path that may have lost its end */
    if (line_len == 0)
      continue;
    if (!parse_line(line, line_len, &e))
      return mv_set_errno(error, EIO, "mountinfo line %u: malformed", reader.lineno);
    if (!func(&e, user_data))
      return TRUE;
  }
  return TRUE;
}

gboolean
mv_mountinfo_unescape(const char *path, gsize len, char *out, gsize out_size)
{
  gsize o = 0;

  for (gsize i = 0; i < len; i++) {
    char c = path[i];
    if (c == '\\' && len - i >= 4 && path[i + 1] >= '0' && path[i + 1] <= '3' &&
        path[i + 2] >= '0' && path[i + 2] <= '7' && path[i + 3] >= '0' && path[i + 3] <= '7') {
      c = (char)(((path[i + 1] - '0') << 6) | ((path[i + 2] - '0') << 3) | (path[i + 3] - '0'));
      i += 3;
    }
    if (c == '\0' || o + 1 >= out_size)
      return FALSE;
    out[o++] = c;
  }
  if (out_size == 0)
    return FALSE;
  out[o] = '\0';
  return TRUE;
}
