/* SPDX-License-Identifier: MIT */
/* cgroup text: /proc/<pid>/cgroup ("id:controllers:path" lines), flat
 * "key value" files (memory.stat) and single-value files (memory.max,
 * memory.limit_in_bytes...). */
#include "mv-proc.h"
#include "mv-proc-text.h"

#include <string.h>

static gboolean
copy_path(const char *p, gsize len, char *path_out, gsize path_size, GError **error)
{
  if (len == 0 || p[0] != '/')
    return mv_set_errno(error, EIO, "cgroup: path is not absolute");
  if (memchr(p, '\0', len) != NULL)
    return mv_set_errno(error, EIO, "cgroup: path contains a NUL byte");
  if (len >= path_size)
    return mv_set_errno(error, ENAMETOOLONG, "cgroup: path longer than %" G_GSIZE_FORMAT " bytes",
                        path_size - 1);
  memcpy(path_out, p, len);
  path_out[len] = '\0';
  return TRUE;
}

gboolean
mv_proc_cgroup_parse(const char *text, gsize len, MvCgroupVersion *version_out, char *path_out,
                     gsize path_size, GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;
  const char *v2_path = NULL;
  gsize v2_len = 0;

  if (path_size > 0)
    path_out[0] = '\0';
  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (!complete)
      break; /* the path may have lost its end */
    if (line_len == 0)
      continue;
    const char *c1 = memchr(line, ':', line_len);
    if (c1 == NULL)
      return mv_set_errno(error, EIO, "cgroup line %u: no ':'", reader.lineno);
    const char *c2 = memchr(c1 + 1, ':', line_len - (gsize)(c1 + 1 - line));
    if (c2 == NULL)
      return mv_set_errno(error, EIO, "cgroup line %u: one ':' only", reader.lineno);
    gsize id_pos = 0;
    guint64 id;
    if (mv_scan_u64(line, (gsize)(c1 - line), &id_pos, &id) != MV_NUM_OK ||
        id_pos != (gsize)(c1 - line))
      return mv_set_errno(error, EIO, "cgroup line %u: bad hierarchy id", reader.lineno);
    const char *controllers = c1 + 1;
    gsize controllers_len = (gsize)(c2 - controllers);
    const char *path = c2 + 1; /* the rest: a cgroup name may contain ':' */
    gsize path_len = line_len - (gsize)(path - line);

    if (id == 0 && controllers_len == 0) {
      v2_path = path;
      v2_len = path_len;
    } else if (mv_list_contains(controllers, controllers_len, "memory")) {
      /* a v1 memory hierarchy wins over v2: on a hybrid host the memory
       * controller can only be in one of them, and if it is in v1 the v2
       * tree has no memory files */
      if (version_out != NULL)
        *version_out = MV_CGROUP_V1;
      return copy_path(path, path_len, path_out, path_size, error);
    }
  }
  if (v2_path == NULL)
    return mv_set_errno(error, ENOENT, "cgroup: no memory controller line and no \"0::\" line");
  if (version_out != NULL)
    *version_out = MV_CGROUP_V2;
  return copy_path(v2_path, v2_len, path_out, path_size, error);
}

gboolean
mv_keyvalue_parse(const char *text, gsize len, MvKeyValueFunc func, gpointer user_data,
                  GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;

  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (!complete)
      break; /* the value may have lost digits */
    if (line_len == 0)
      continue;
    const char *space = memchr(line, ' ', line_len);
    if (space == NULL || space == line)
      return mv_set_errno(error, EIO, "line %u: not \"key value\"", reader.lineno);
    gsize key_len = (gsize)(space - line);
    gsize pos = key_len;
    guint64 value;
    mv_skip_blanks(line, line_len, &pos);
    MvNumResult r = mv_scan_u64(line, line_len, &pos, &value);
    if (r == MV_NUM_OVERFLOW)
      return mv_set_errno(error, EIO, "line %u: value overflows", reader.lineno);
    mv_skip_blanks(line, line_len, &pos);
    if (r != MV_NUM_OK || pos != line_len)
      return mv_set_errno(error, EIO, "line %u: value is not a decimal number", reader.lineno);
    if (!func(line, key_len, value, user_data))
      return TRUE;
  }
  return TRUE;
}

gboolean
mv_single_value_parse(const char *text, gsize len, guint64 *value, gboolean *is_max,
                      GError **error)
{
  gsize end = len;

  *value = 0;
  *is_max = FALSE;
  /* one line: the value then '\n' (a missing '\n' means a cut-off read) */
  const char *nl = len > 0 ? memchr(text, '\n', len) : NULL;
  if (nl == NULL)
    return mv_set_errno(error, EIO, "single value: no complete line");
  end = (gsize)(nl - text);
  for (gsize i = end + 1; i < len; i++)
    if (!g_ascii_isspace(text[i]))
      return mv_set_errno(error, EIO, "single value: more than one line");
  while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t'))
    end--;
  if (mv_span_equal(text, end, "max")) {
    *is_max = TRUE;
    *value = G_MAXUINT64;
    return TRUE;
  }
  gsize pos = 0;
  MvNumResult r = mv_scan_u64(text, end, &pos, value);
  if (r == MV_NUM_OVERFLOW)
    return mv_set_errno(error, EIO, "single value: overflows");
  if (r != MV_NUM_OK || pos != end)
    return mv_set_errno(error, EIO, "single value: not a decimal number or \"max\"");
  return TRUE;
}

gboolean
mv_pid_list_parse(const char *text, gsize len, MvPidFunc func, gpointer user_data, GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;

  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (!complete)
      break; /* a pid that may have lost digits */
    if (line_len == 0)
      continue;
    gsize pos = 0;
    guint64 pid;
    if (mv_scan_u64(line, line_len, &pos, &pid) != MV_NUM_OK || pos != line_len || pid == 0 ||
        pid > G_MAXINT32)
      return mv_set_errno(error, EIO, "line %u: not a pid", reader.lineno);
    if (!func((pid_t)pid, user_data))
      return TRUE;
  }
  return TRUE;
}
