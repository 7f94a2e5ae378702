/* SPDX-License-Identifier: MIT */
/* /proc/meminfo: "Key:   <n> kB" lines, plus a few that count pages or
 * nothing (HugePages_Total, Hugepagesize is kB): unknown keys are skipped
 * whatever their shape; a known key must be "<n> kB". */
#include "mv-proc.h"
#include "mv-proc-text.h"

#include <stddef.h>
#include <string.h>

static const char *const meminfo_keys[MV_MEMINFO_N_FIELDS] = {
#define MV_MEMINFO_X(member, key) key,
  MV_MEMINFO_FIELDS(MV_MEMINFO_X)
#undef MV_MEMINFO_X
};

static const gsize meminfo_offsets[MV_MEMINFO_N_FIELDS] = {
#define MV_MEMINFO_X(member, key) offsetof(MvMeminfo, member),
  MV_MEMINFO_FIELDS(MV_MEMINFO_X)
#undef MV_MEMINFO_X
};

gboolean
mv_meminfo_parse(const char *text, gsize len, MvMeminfo *out, GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;
  int hint = 0;

  memset(out, 0, sizeof *out);
  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (!complete)
      break; /* cut off: not trusted */
    const char *key;
    gsize key_len;
    guint64 kb, bytes;
    MvKbLineResult r = mv_kb_line_split(line, line_len, &key, &key_len, &kb);
    if (r == MV_KB_LINE_NO_COLON)
      return mv_set_errno(error, EIO, "meminfo line %u: no \"Key:\"", reader.lineno);
    int index = mv_key_lookup(meminfo_keys, MV_MEMINFO_N_FIELDS, key, key_len, &hint);
    if (index < 0)
      continue;
    if (r != MV_KB_LINE_OK || !mv_kb_to_bytes(kb, &bytes))
      return mv_set_errno(error, EIO, "meminfo line %u: %s is not a valid \"<number> kB\"",
                          reader.lineno, meminfo_keys[index]);
    G_STRUCT_MEMBER(guint64, out, meminfo_offsets[index]) = bytes;
    out->present |= G_GUINT64_CONSTANT(1) << index;
  }
  if (!MV_FIELD_PRESENT(out->present, MV_MEMINFO_FIELD_mem_total))
    return mv_set_errno(error, EIO, "meminfo: no MemTotal line");
  return TRUE;
}

gboolean
mv_meminfo_read(MvMeminfo *out, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new(4096);

  return mv_read_file_at(mv_proc_root_fd(), "meminfo", text, error) &&
         mv_meminfo_parse(text->str, text->len, out, error);
}
