/* SPDX-License-Identifier: MIT */
/* /proc/<pid>/smaps and smaps_rollup: blocks of one header line
 *   "start-end perms offset major:minor inode   path"
 * followed by "Key:   <n> kB" lines (and a few lines that are not kB-valued:
 * THPeligible, ProtectionKey, VmFlags; they are skipped like any unknown
 * key). */
#include "mv-proc.h"
#include "mv-proc-text.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* bytes asked of each read() of a streamed smaps (the kernel hands out
 * whole mappings' blocks, up to this much per read) */
#define MV_SMAPS_CHUNK ((gsize) 65536)

static const char *const smaps_keys[MV_SMAPS_N_FIELDS] = {
#define MV_SMAPS_X(member, key) key,
  MV_SMAPS_FIELDS(MV_SMAPS_X)
#undef MV_SMAPS_X
};

static const gsize smaps_offsets[MV_SMAPS_N_FIELDS] = {
#define MV_SMAPS_X(member, key) offsetof(MvSmapsValues, member),
  MV_SMAPS_FIELDS(MV_SMAPS_X)
#undef MV_SMAPS_X
};

/* A header line starts with lowercase hex digits followed by '-': field
 * keys start with an uppercase letter. */
static gboolean
is_header_line(const char *line, gsize len)
{
  gsize pos = 0;
  guint64 ignored;

  if (len == 0 || !((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')))
    return FALSE;
  if (mv_scan_x64(line, len, &pos, &ignored) == MV_NUM_NONE)
    return FALSE;
  while (pos < len && g_ascii_isxdigit(line[pos]))
    pos++; /* an overflowing address is still a header (and fails to parse) */
  return pos < len && line[pos] == '-';
}

static gboolean
expect_char(const char *line, gsize len, gsize *pos, char c)
{
  if (*pos >= len || line[*pos] != c)
    return FALSE;
  (*pos)++;
  return TRUE;
}

static gboolean
parse_header(const char *line, gsize len, MvSmapsEntry *entry)
{
  gsize pos = 0;
  guint64 major, minor;

  if (mv_scan_x64(line, len, &pos, &entry->start) != MV_NUM_OK || !expect_char(line, len, &pos, '-') ||
      mv_scan_x64(line, len, &pos, &entry->end) != MV_NUM_OK || !expect_char(line, len, &pos, ' '))
    return FALSE;
  if (entry->end < entry->start)
    return FALSE;
  if (len - pos < 5 || line[pos + 4] != ' ')
    return FALSE;
  for (int i = 0; i < 4; i++) {
    char c = line[pos + i];
    if (c != '-' && c != 'r' && c != 'w' && c != 'x' && c != 'p' && c != 's')
      return FALSE;
    entry->perms[i] = c;
  }
  entry->perms[4] = '\0';
  if (entry->perms[3] != 'p' && entry->perms[3] != 's')
    return FALSE;
  pos += 5;
  if (mv_scan_x64(line, len, &pos, &entry->offset) != MV_NUM_OK || !expect_char(line, len, &pos, ' ') ||
      mv_scan_x64(line, len, &pos, &major) != MV_NUM_OK || !expect_char(line, len, &pos, ':') ||
      mv_scan_x64(line, len, &pos, &minor) != MV_NUM_OK || !expect_char(line, len, &pos, ' ') ||
      mv_scan_u64(line, len, &pos, &entry->inode) != MV_NUM_OK)
    return FALSE;
  if (major > G_MAXUINT32 || minor > G_MAXUINT32)
    return FALSE;
  entry->dev_major = (guint32)major;
  entry->dev_minor = (guint32)minor;
  /* After the inode: the end of the line, or the padding then the path. The
   * kernel pads with spaces to a column and writes the path verbatim (only
   * '\n' escaped as "\012"), so a path's own leading spaces cannot be told
   * from the padding: they are dropped. */
  if (pos < len && line[pos] != ' ')
    return FALSE;
  mv_skip_blanks(line, len, &pos);
  entry->path = line + pos;
  entry->path_len = len - pos;
  return TRUE;
}

/* One "Key: n kB" line into @v. FALSE with @error on untrustworthy text. */
static gboolean
parse_value_line(const char *line, gsize len, guint lineno, MvSmapsValues *v, int *hint,
                 GError **error)
{
  const char *key;
  gsize key_len;
  guint64 kb;
  MvKbLineResult r = mv_kb_line_split(line, len, &key, &key_len, &kb);

  if (r == MV_KB_LINE_NO_COLON)
    return mv_set_errno(error, EIO, "smaps line %u: neither a mapping header nor a field", lineno);
  int index = mv_key_lookup(smaps_keys, MV_SMAPS_N_FIELDS, key, key_len, hint);
  if (index < 0)
    return TRUE; /* a field this build does not know */
  if (r == MV_KB_LINE_NOT_KB)
    return mv_set_errno(error, EIO, "smaps line %u: %s is not \"<number> kB\"", lineno,
                        smaps_keys[index]);
  guint64 bytes;
  if (r == MV_KB_LINE_OVERFLOW || !mv_kb_to_bytes(kb, &bytes))
    return mv_set_errno(error, EIO, "smaps line %u: %s overflows", lineno, smaps_keys[index]);
  G_STRUCT_MEMBER(guint64, v, smaps_offsets[index]) = bytes;
  v->present |= G_GUINT64_CONSTANT(1) << index;
  return TRUE;
}

gboolean
mv_smaps_parse(const char *text, gsize len, MvSmapsFunc func, gpointer user_data, GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;
  MvSmapsEntry entry;
  gboolean have_entry = FALSE;
  int hint = 0;

  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (is_header_line(line, line_len)) {
      if (!complete)
        return mv_set_errno(error, EIO, "smaps line %u: mapping header cut off", reader.lineno);
      if (have_entry && !func(&entry, user_data))
        return TRUE;
      memset(&entry, 0, sizeof entry);
      if (!parse_header(line, line_len, &entry))
        return mv_set_errno(error, EIO, "smaps line %u: malformed mapping header", reader.lineno);
      have_entry = TRUE;
      hint = 0;
      continue;
    }
    if (!complete)
      break; /* a value cut off at the end: not trusted, not recorded */
    if (!have_entry)
      return mv_set_errno(error, EIO, "smaps line %u: field before any mapping header",
                          reader.lineno);
    if (!parse_value_line(line, line_len, reader.lineno, &entry.v, &hint, error))
      return FALSE;
  }
  if (have_entry)
    func(&entry, user_data);
  return TRUE;
}

typedef struct {
  MvSmapsFunc func;
  gpointer user_data;
  gboolean stopped; /* func returned FALSE: read no further */
} StreamState;

static gboolean
stream_entry(const MvSmapsEntry *entry, gpointer user_data)
{
  StreamState *state = user_data;

  if (!state->func(entry, state->user_data))
    state->stopped = TRUE;
  return !state->stopped;
}

/* The offset of the last line of @text that is a mapping header (it starts
 * with a lowercase hex digit; field keys start uppercase, and the kernel
 * escapes a newline in a path), 0 if none but the first. */
static gsize
last_header_start(const char *text, gsize len)
{
  for (gsize i = len; i > 1; i--) {
    char c = text[i - 1];
    if (text[i - 2] == '\n' && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return i - 1;
  }
  return 0;
}

gboolean
mv_smaps_parse_file(const char *path, MvSmapsFunc func, gpointer user_data, gsize *bytes_read,
                    GError **error)
{
  return mv_smaps_parse_file_full(path, func, user_data, NULL, NULL, bytes_read, error);
}

gboolean
mv_smaps_parse_file_full(const char *path, MvSmapsFunc func, gpointer user_data,
                         void (*on_large)(gpointer large_data), gpointer large_data,
                         gsize *bytes_read, GError **error)
{
  g_autoptr(GString) pending = g_string_sized_new(2 * MV_SMAPS_CHUNK);
  StreamState state = { func, user_data, FALSE };
  MvReadAhead *ahead = NULL;
  gboolean ok = TRUE;
  int fd;

  *bytes_read = 0;
  /* relative: under the /proc root */
  fd = mv_open_at(mv_proc_root_fd(), path, O_RDONLY | O_CLOEXEC | O_NOCTTY, error);
  if (fd < 0)
    return FALSE;
  for (;;) {
    gsize old_len = pending->len;
    ssize_t n;

    g_string_set_size(pending, old_len + MV_SMAPS_CHUNK);
    if (ahead != NULL)
      n = mv_read_ahead_next(ahead, pending->str + old_len, MV_SMAPS_CHUNK);
    else
      n = read(fd, pending->str + old_len, MV_SMAPS_CHUNK);
    g_string_set_size(pending, old_len + (gsize) MAX(n, 0));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      ok = mv_set_errno(error, saved, "read %s: %s", path, g_strerror(saved));
      break;
    }
    *bytes_read += (gsize) n;
    /* More than a chunk: a large address space. From here the kernel
     * formats the next chunks on a second thread while this one parses
     * (a small process's text is read in one or two reads: no thread). */
    if (ahead == NULL && *bytes_read >= MV_SMAPS_CHUNK) {
      ahead = mv_read_ahead_start(fd, MV_SMAPS_CHUNK);
      if (on_large != NULL)
        on_large(large_data);
      on_large = NULL;
    }
    if (n == 0) {
      /* the rest, including a block cut off at the end */
      ok = mv_smaps_parse(pending->str, pending->len, stream_entry, &state, error);
      break;
    }
    /* every block before the last header is whole: parse those, keep the
     * last (its values may still be coming) */
    gsize cut = last_header_start(pending->str, pending->len);
    if (cut > 0) {
      ok = mv_smaps_parse(pending->str, cut, stream_entry, &state, error);
      g_string_erase(pending, 0, (gssize) cut);
      if (!ok || state.stopped)
        break;
    }
  }
  mv_read_ahead_stop(ahead);
  close(fd);
  return ok;
}

gboolean
mv_smaps_rollup_parse(const char *text, gsize len, MvSmapsValues *out, GError **error)
{
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;
  MvSmapsEntry header;
  int hint = 0;

  memset(out, 0, sizeof *out);
  if (len == 0)
    return mv_set_errno(error, ESRCH, "smaps_rollup is empty: no address space");
  mv_line_reader_init(&reader, text, len);
  if (!mv_line_next(&reader, &line, &line_len, &complete) || !complete ||
      !is_header_line(line, line_len) || !parse_header(line, line_len, &header))
    return mv_set_errno(error, EIO, "smaps_rollup line 1: malformed [rollup] header");
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (!complete)
      break;
    if (!parse_value_line(line, line_len, reader.lineno, out, &hint, error))
      return FALSE;
  }
  if (!MV_FIELD_PRESENT(out->present, MV_SMAPS_FIELD_rss))
    return mv_set_errno(error, EIO, "smaps_rollup: no Rss line");
  return TRUE;
}
