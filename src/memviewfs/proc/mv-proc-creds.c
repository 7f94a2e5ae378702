/* SPDX-License-Identifier: MIT */
/* What deciding access as /proc does needs beyond MvStatus: a process's
 * supplementary groups (the Groups line of status) and how /proc itself is
 * mounted (hidepid= and gid= in mountinfo's super options). */
#include "mv-proc.h"
#include "mv-proc-text.h"

#include <string.h>

gboolean
mv_status_parse_groups(const char *text, gsize len, gid_t *groups, gsize max_groups,
                       gsize *n_groups, GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;

  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    gsize pos = 7; /* strlen("Groups:") */
    gsize n = 0;

    if (line_len < pos || memcmp(line, "Groups:", pos) != 0)
      continue;
    if (!complete)
      return mv_set_errno(error, EIO, "status line %u: Groups cut off", reader.lineno);
    for (;;) {
      guint64 gid;

      mv_skip_blanks(line, line_len, &pos);
      if (pos == line_len)
        break;
      if (mv_scan_u64(line, line_len, &pos, &gid) != MV_NUM_OK || gid > G_MAXUINT32)
        return mv_set_errno(error, EIO, "status line %u: bad group", reader.lineno);
      if (n == max_groups)
        return mv_set_errno(error, EIO, "status line %u: more than %" G_GSIZE_FORMAT
                            " groups", reader.lineno, max_groups);
      groups[n++] = (gid_t) gid;
    }
    *n_groups = n;
    return TRUE;
  }
  return mv_set_errno(error, EIO, "status: no Groups line");
}

/* One comma-separated option of @opts[0..len): value of "key=" or NULL. */
static gboolean
find_option(const char *opts, gsize len, const char *key, const char **value, gsize *value_len)
{
  gsize key_len = strlen(key);
  gsize pos = 0;

  while (pos < len) {
    const char *end = memchr(opts + pos, ',', len - pos);
    gsize item_len = end != NULL ? (gsize) (end - (opts + pos)) : len - pos;

    if (item_len > key_len && memcmp(opts + pos, key, key_len) == 0 &&
        opts[pos + key_len] == '=') {
      *value = opts + pos + key_len + 1;
      *value_len = item_len - key_len - 1;
      return TRUE;
    }
    pos += item_len + 1;
  }
  return FALSE;
}

gboolean
mv_mountinfo_parse_proc_options(const char *text, gsize len, const char *mount_point,
                                MvProcMountOptions *out, GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete, found = FALSE;

  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    /* "36 25 0:5 / /proc rw,nosuid - proc proc rw,hidepid=invisible,gid=27" */
    const char *fields[5];
    gsize field_len[5];
    gsize pos = 0;
    int n = 0;
    const char *sep;
    const char *rest;
    gsize rest_len;

    if (!complete)
      break;
    while (n < 5 && pos < line_len) {
      const char *end;
      mv_skip_blanks(line, line_len, &pos);
      end = memchr(line + pos, ' ', line_len - pos);
      fields[n] = line + pos;
      field_len[n] = end != NULL ? (gsize) (end - (line + pos)) : line_len - pos;
      pos += field_len[n];
      n++;
    }
    if (n < 5 || !mv_span_equal(fields[4], field_len[4], mount_point))
      continue;
    sep = g_strstr_len(line, (gssize) line_len, " - ");
    if (sep == NULL)
      continue;
    rest = sep + 3;
    rest_len = line_len - (gsize) (rest - line);
    /* "proc proc rw,..." : filesystem type, source, super options */
    if (rest_len < 5 || memcmp(rest, "proc ", 5) != 0)
      continue;
    {
      const char *source_end = memchr(rest + 5, ' ', rest_len - 5);
      const char *opts, *value;
      gsize opts_len, value_len;

      if (source_end == NULL)
        continue;
      opts = source_end + 1;
      opts_len = rest_len - (gsize) (opts - rest);
      memset(out, 0, sizeof *out);
      out->hidepid = MV_HIDEPID_OFF;
      if (find_option(opts, opts_len, "hidepid", &value, &value_len)) {
        if (mv_span_equal(value, value_len, "noaccess") || mv_span_equal(value, value_len, "1"))
          out->hidepid = MV_HIDEPID_NO_ACCESS;
        else if (mv_span_equal(value, value_len, "invisible") ||
                 mv_span_equal(value, value_len, "2"))
          out->hidepid = MV_HIDEPID_INVISIBLE;
        else if (mv_span_equal(value, value_len, "ptraceable") ||
                 mv_span_equal(value, value_len, "4"))
          out->hidepid = MV_HIDEPID_NOT_PTRACEABLE;
      }
      if (find_option(opts, opts_len, "gid", &value, &value_len)) {
        gsize vpos = 0;
        guint64 gid;
        if (mv_scan_u64(value, value_len, &vpos, &gid) == MV_NUM_OK && vpos == value_len &&
            gid <= G_MAXUINT32) {
          out->has_gid = TRUE;
          out->gid = (gid_t) gid;
        }
      }
      found = TRUE; /* the last mount on the point is the one in use */
    }
  }
  if (!found)
    return mv_set_errno(error, ENOENT, "no proc mount on %s", mount_point);
  return TRUE;
}
