/* SPDX-License-Identifier: MIT */
#include "mv-proc-text.h"
#include "mv-proc.h"

#include <string.h>

void
mv_line_reader_init(MvLineReader *reader, const char *text, gsize len)
{
  reader->text = text;
  reader->len = text != NULL ? len : 0;
  reader->pos = 0;
  reader->lineno = 0;
}

gboolean
mv_line_next(MvLineReader *reader, const char **line, gsize *line_len, gboolean *complete)
{
  if (reader->pos >= reader->len)
    return FALSE;
  const char *start = reader->text + reader->pos;
  gsize rest = reader->len - reader->pos;
  const char *nl = memchr(start, '\n', rest);

  reader->lineno++;
  *line = start;
  if (nl != NULL) {
    *line_len = (gsize)(nl - start);
    *complete = TRUE;
    reader->pos += *line_len + 1;
  } else {
    *line_len = rest;
    *complete = FALSE;
    reader->pos = reader->len;
  }
  return TRUE;
}

static int
digit_value(char c, int base)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (base == 16 && c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (base == 16 && c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static MvNumResult
scan_base(const char *p, gsize len, gsize *pos, guint64 *out, int base)
{
  guint64 value = 0;
  gsize i = *pos;
  gboolean any = FALSE;

  for (; i < len; i++) {
    int d = digit_value(p[i], base);
    if (d < 0)
      break;
    /* checked arithmetic (compiler builtins), not a division per digit */
    if (!g_uint64_checked_mul(&value, value, (guint64)base) ||
        !g_uint64_checked_add(&value, value, (guint64)d))
      return MV_NUM_OVERFLOW;
    any = TRUE;
  }
  if (!any)
    return MV_NUM_NONE;
  *pos = i;
  *out = value;
  return MV_NUM_OK;
}

MvNumResult
mv_scan_u64(const char *p, gsize len, gsize *pos, guint64 *out)
{
  return scan_base(p, len, pos, out, 10);
}

MvNumResult
mv_scan_x64(const char *p, gsize len, gsize *pos, guint64 *out)
{
  return scan_base(p, len, pos, out, 16);
}

MvKbLineResult
mv_kb_line_split(const char *line, gsize line_len, const char **key, gsize *key_len,
                 guint64 *kb_value)
{
  const char *colon = memchr(line, ':', line_len);
  if (colon == NULL)
    return MV_KB_LINE_NO_COLON;
  *key = line;
  *key_len = (gsize)(colon - line);

  gsize pos = *key_len + 1;
  mv_skip_blanks(line, line_len, &pos);
  MvNumResult r = mv_scan_u64(line, line_len, &pos, kb_value);
  if (r == MV_NUM_NONE)
    return MV_KB_LINE_NOT_KB;
  gboolean overflow = r == MV_NUM_OVERFLOW;
  if (overflow) {
    /* Skip the digits to see whether this would have been a kB line. */
    while (pos < line_len && line[pos] >= '0' && line[pos] <= '9')
      pos++;
  }
  gsize after_number = pos;
  mv_skip_blanks(line, line_len, &pos);
  if (pos == after_number || line_len - pos < 2 || line[pos] != 'k' || line[pos + 1] != 'B')
    return MV_KB_LINE_NOT_KB;
  pos += 2;
  mv_skip_blanks(line, line_len, &pos);
  if (pos != line_len)
    return MV_KB_LINE_NOT_KB;
  return overflow ? MV_KB_LINE_OVERFLOW : MV_KB_LINE_OK;
}

gboolean
mv_kb_to_bytes(guint64 kb, guint64 *bytes)
{
  if (kb > G_MAXUINT64 / 1024)
    return FALSE;
  *bytes = kb * 1024;
  return TRUE;
}

int
mv_key_lookup(const char *const *keys, int n_keys, const char *key, gsize key_len, int *hint)
{
  int start = (*hint >= 0 && *hint < n_keys) ? *hint : 0;

  /* from the hint to the end, then from the start to the hint (no modulo
   * per key: this runs for every line of every smaps block) */
  for (int i = start; i < n_keys; i++) {
    if (mv_span_equal(key, key_len, keys[i])) {
      *hint = i + 1;
      return i;
    }
  }
  for (int i = 0; i < start; i++) {
    if (mv_span_equal(key, key_len, keys[i])) {
      *hint = i + 1;
      return i;
    }
  }
  return -1;
}

gboolean
mv_list_contains(const char *list, gsize len, const char *word)
{
  gsize start = 0;

  while (start <= len) {
    const char *comma = memchr(list + start, ',', len - start);
    gsize end = comma != NULL ? (gsize)(comma - list) : len;
    if (mv_span_equal(list + start, end - start, word))
      return TRUE;
    if (comma == NULL)
      break;
    start = end + 1;
  }
  return FALSE;
}
