/* SPDX-License-Identifier: MIT */
/* /proc/<pid>/status: "Key:\tvalue" lines. Name is escaped by the kernel
 * (seq_escape_str with ESCAPE_SPACE|ESCAPE_SPECIAL limited to "\n\\"): a
 * newline in comm reads "\n", a backslash "\\". */
#include "mv-proc.h"
#include "mv-proc-text.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

static const char *const status_kb_keys[] = {
#define MV_STATUS_X(member, key) key,
  MV_STATUS_KB_FIELDS(MV_STATUS_X)
#undef MV_STATUS_X
};
#define N_STATUS_KB_KEYS ((int)G_N_ELEMENTS(status_kb_keys))

static const gsize status_kb_offsets[] = {
#define MV_STATUS_X(member, key) offsetof(MvStatus, member),
  MV_STATUS_KB_FIELDS(MV_STATUS_X)
#undef MV_STATUS_X
};
G_STATIC_ASSERT(G_N_ELEMENTS(status_kb_offsets) == G_N_ELEMENTS(status_kb_keys));

/* Copies the escaped comm at @p[0..len) into @name (NUL-terminated,
 * truncated to the buffer: a display name, not a key). */
static void
unescape_name(const char *p, gsize len, char *name, gsize size)
{
  gsize o = 0;

  for (gsize i = 0; i < len && o + 1 < size; i++) {
    char c = p[i];
    if (c == '\\' && i + 1 < len) {
      char e = p[++i];
      switch (e) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case 'f': c = '\f'; break;
      case 'v': c = '\v'; break;
      case '\\': c = '\\'; break;
      default: c = e; break;
      }
    }
    name[o++] = c;
  }
  name[o] = '\0';
}

static gboolean
parse_pid(const char *v, gsize len, pid_t *out)
{
  gsize pos = 0;
  guint64 n;

  if (mv_scan_u64(v, len, &pos, &n) != MV_NUM_OK || n > INT_MAX)
    return FALSE;
  mv_skip_blanks(v, len, &pos);
  if (pos != len)
    return FALSE;
  *out = (pid_t)n;
  return TRUE;
}

/* "r\te\ts\tf" of Uid/Gid: four ids. */
static gboolean
parse_ids(const char *v, gsize len, guint32 ids[4])
{
  gsize pos = 0;

  for (int i = 0; i < 4; i++) {
    guint64 n;
    mv_skip_blanks(v, len, &pos);
    if (mv_scan_u64(v, len, &pos, &n) != MV_NUM_OK || n > G_MAXUINT32)
      return FALSE;
    ids[i] = (guint32)n;
  }
  mv_skip_blanks(v, len, &pos);
  return pos == len;
}

static gboolean
parse_hex_mask(const char *v, gsize len, guint64 *out)
{
  gsize pos = 0;

  if (mv_scan_x64(v, len, &pos, out) != MV_NUM_OK)
    return FALSE;
  mv_skip_blanks(v, len, &pos);
  return pos == len;
}

gboolean
mv_status_parse(const char *text, gsize len, MvStatus *out, GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;
  gboolean have_name = FALSE, have_uid = FALSE, have_gid = FALSE;
  int hint = 0;

  memset(out, 0, sizeof *out);
  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (!complete)
      break; /* cut off: not trusted */
    const char *colon = memchr(line, ':', line_len);
    if (colon == NULL)
      return mv_set_errno(error, EIO, "status line %u: no \"Key:\"", reader.lineno);
    gsize key_len = (gsize)(colon - line);
    const char *value = colon + 1;
    gsize value_len = line_len - key_len - 1;
    gsize vpos = 0;

    if (mv_span_equal(line, key_len, "Name")) {
      /* one tab after the colon; the name itself may start with a blank */
      if (value_len > 0 && value[0] == '\t')
        vpos = 1;
      unescape_name(value + vpos, value_len - vpos, out->name, sizeof out->name);
      have_name = TRUE;
      continue;
    }
    mv_skip_blanks(value, value_len, &vpos);
    value += vpos;
    value_len -= vpos;

    gboolean ok = TRUE;
    if (mv_span_equal(line, key_len, "State")) {
      ok = value_len > 0 && g_ascii_isalpha(value[0]);
      if (ok)
        out->state = value[0];
    } else if (mv_span_equal(line, key_len, "Tgid")) {
      ok = parse_pid(value, value_len, &out->tgid);
    } else if (mv_span_equal(line, key_len, "Pid")) {
      ok = parse_pid(value, value_len, &out->pid);
    } else if (mv_span_equal(line, key_len, "PPid")) {
      ok = parse_pid(value, value_len, &out->ppid);
    } else if (mv_span_equal(line, key_len, "Uid")) {
      guint32 ids[4];
      ok = parse_ids(value, value_len, ids);
      for (int i = 0; ok && i < 4; i++)
        out->uid[i] = (uid_t)ids[i];
      have_uid = ok;
    } else if (mv_span_equal(line, key_len, "Gid")) {
      guint32 ids[4];
      ok = parse_ids(value, value_len, ids);
      for (int i = 0; ok && i < 4; i++)
        out->gid[i] = (gid_t)ids[i];
      have_gid = ok;
    } else if (mv_span_equal(line, key_len, "CapPrm")) {
      ok = parse_hex_mask(value, value_len, &out->cap_prm);
    } else if (mv_span_equal(line, key_len, "CapEff")) {
      ok = parse_hex_mask(value, value_len, &out->cap_eff);
    } else {
      int index = mv_key_lookup(status_kb_keys, N_STATUS_KB_KEYS, line, key_len, &hint);
      if (index >= 0) {
        const char *k;
        gsize kl;
        guint64 kb, bytes;
        MvKbLineResult r = mv_kb_line_split(line, line_len, &k, &kl, &kb);
        ok = r == MV_KB_LINE_OK && mv_kb_to_bytes(kb, &bytes);
        if (ok) {
          G_STRUCT_MEMBER(guint64, out, status_kb_offsets[index]) = bytes;
          if (mv_span_equal(k, kl, "VmSize"))
            out->has_mm = TRUE;
        }
      }
    }
    if (!ok)
      return mv_set_errno(error, EIO, "status line %u: malformed %.*s", reader.lineno,
                          (int)MIN(key_len, 32), line);
  }
  if (!have_name || !have_uid || !have_gid)
    return mv_set_errno(error, EIO, "status: missing %s line",
                        !have_name ? "Name" : !have_uid ? "Uid" : "Gid");
  return TRUE;
}
