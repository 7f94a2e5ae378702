/* SPDX-License-Identifier: MIT */
/* Private helpers of the /proc parsers: walking (text, len) line by line and
 * reading numbers without ever looking past len. The text need not be
 * NUL-terminated and may contain NUL bytes (fuzzers, truncated reads), so no
 * helper here calls a str* function on it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *text;
  gsize len;
  gsize pos;   /* offset of the next line */
  guint lineno; /* 1-based number of the line last returned */
} MvLineReader;

void mv_line_reader_init(MvLineReader *reader, const char *text, gsize len);

/* The next line (without its '\n') in @line/@line_len. @complete is FALSE
 * for a last line that the text cut off before its '\n': its content
 * cannot be trusted (a number may have lost digits). Returns FALSE at the
 * end of the text. */
gboolean mv_line_next(MvLineReader *reader, const char **line, gsize *line_len,
                      gboolean *complete);

typedef enum {
  MV_NUM_OK,
  MV_NUM_NONE,     /* no digit where a number was expected */
  MV_NUM_OVERFLOW, /* more than fits in 64 bits */
} MvNumResult;

/* Decimal digits at @p[*pos..len) into @out; *pos moves past them. */
MvNumResult mv_scan_u64(const char *p, gsize len, gsize *pos, guint64 *out);
/* Hexadecimal digits (no "0x") at @p[*pos..len). */
MvNumResult mv_scan_x64(const char *p, gsize len, gsize *pos, guint64 *out);

/* Moves *pos past spaces and tabs. Inline: smaps pads every value with up
 * to twenty spaces, and a large smaps has millions of lines. */
static inline void
mv_skip_blanks(const char *p, gsize len, gsize *pos)
{
  gsize i = *pos; /* a local: a store through @pos could alias @p's bytes */

  while (i < len && (p[i] == ' ' || p[i] == '\t'))
    i++;
  *pos = i;
}

/* TRUE when @p[0..len) equals the NUL-terminated @word. Inline and byte by
 * byte, no strlen: the parsers compare every key of every line against a
 * list of words, and most comparisons end at the first byte; @word is never
 * read past its NUL (@p may hold NULs: hostile input). */
static inline gboolean
mv_span_equal(const char *p, gsize len, const char *word)
{
  for (gsize i = 0; i < len; i++)
    if (word[i] == '\0' || word[i] != p[i])
      return FALSE;
  return word[len] == '\0';
}

/* A "Key:   <number> kB" line (smaps, status, meminfo): splits at the first
 * ':' into the key, then reads the value. */
typedef enum {
  MV_KB_LINE_OK,       /* *kb_value set, the line ended with " kB" */
  MV_KB_LINE_NO_COLON, /* not a "Key:" line */
  MV_KB_LINE_NOT_KB,   /* a key whose value is not "<number> kB" (skip if unknown) */
  MV_KB_LINE_OVERFLOW, /* "<number> kB" with a number past 64 bits */
} MvKbLineResult;

MvKbLineResult mv_kb_line_split(const char *line, gsize line_len, const char **key,
                                gsize *key_len, guint64 *kb_value);

/* kB -> bytes; FALSE when the product overflows 64 bits. */
gboolean mv_kb_to_bytes(guint64 kb, guint64 *bytes);

/* mv_key_lookup and mv_list_contains are in mv-proc.h (the models use them
 * too). */

G_END_DECLS
