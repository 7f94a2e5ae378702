/* SPDX-License-Identifier: MIT */
/* /proc/zoneinfo: one block per zone, "Node <n>, zone <name>", then
 * indented lines. The ones used here ("key <pages>", no colon):
 *   pages free N / boost N / min N / low N / high N / spanned N / present N /
 *   managed N / protection: (a, b, ...)
 * Every zone block (populated or not) prints them since Linux 4.x; a zone
 * without them means the text was cut: EIO, because a zone with zero
 * watermarks would silently make every sum wrong. Per-node stats, per-cpu
 * pagesets ("high:  0" has a colon, unlike the watermark) and counters are
 * skipped. */
#include "mv-proc.h"
#include "mv-proc-text.h"

#include <string.h>

enum {
  SEEN_FREE = 1 << 0,
  SEEN_MIN = 1 << 1,
  SEEN_LOW = 1 << 2,
  SEEN_HIGH = 1 << 3,
  SEEN_SPANNED = 1 << 4,
  SEEN_PRESENT = 1 << 5,
  SEEN_MANAGED = 1 << 6,
  SEEN_PROTECTION = 1 << 7,
  SEEN_REQUIRED = (1 << 8) - 1,
  SEEN_BOOST = 1 << 8,
};

/* "Node 0, zone      DMA" */
static gboolean
parse_zone_header(const char *line, gsize len, MvZone *zone)
{
  gsize pos = 4; /* past "Node" */
  guint64 node;

  mv_skip_blanks(line, len, &pos);
  if (mv_scan_u64(line, len, &pos, &node) != MV_NUM_OK || node > G_MAXINT32)
    return FALSE;
  if (pos >= len || line[pos] != ',')
    return FALSE;
  pos++;
  mv_skip_blanks(line, len, &pos);
  if (len - pos < 4 || memcmp(line + pos, "zone", 4) != 0)
    return FALSE;
  pos += 4;
  gsize blank_start = pos;
  mv_skip_blanks(line, len, &pos);
  gsize name_len = len - pos;
  if (pos == blank_start || name_len == 0 || name_len >= sizeof zone->name)
    return FALSE;
  for (gsize i = 0; i < name_len; i++)
    if (!g_ascii_isgraph(line[pos + i]))
      return FALSE;
  zone->node = (int)node;
  memcpy(zone->name, line + pos, name_len);
  zone->name[name_len] = '\0';
  return TRUE;
}

/* "(0, 3018, 5194, 5194, 5194)" */
static gboolean
parse_protection(const char *v, gsize len, MvZone *zone)
{
  gsize pos = 0;

  mv_skip_blanks(v, len, &pos);
  if (pos >= len || v[pos] != '(')
    return FALSE;
  pos++;
  zone->n_protection = 0;
  for (;;) {
    guint64 n;
    mv_skip_blanks(v, len, &pos);
    if (mv_scan_u64(v, len, &pos, &n) != MV_NUM_OK)
      return FALSE;
    if (zone->n_protection >= MV_ZONEINFO_MAX_PROTECTION)
      return FALSE;
    zone->protection[zone->n_protection++] = n;
    mv_skip_blanks(v, len, &pos);
    if (pos < len && v[pos] == ',') {
      pos++;
      continue;
    }
    if (pos < len && v[pos] == ')') {
      pos++;
      mv_skip_blanks(v, len, &pos);
      return pos == len;
    }
    return FALSE;
  }
}

/* "<word> <blanks> <number>" exactly: *value. */
static gboolean
parse_number_after(const char *v, gsize len, guint64 *value)
{
  gsize pos = 0;

  mv_skip_blanks(v, len, &pos);
  if (mv_scan_u64(v, len, &pos, value) != MV_NUM_OK)
    return FALSE;
  mv_skip_blanks(v, len, &pos);
  return pos == len;
}

static gboolean
finish_zone(const MvZone *zone, guint seen, GError **error)
{
  if ((seen & SEEN_REQUIRED) != SEEN_REQUIRED)
    return mv_set_errno(error, EIO, "zoneinfo: zone %s of node %d is incomplete", zone->name,
                        zone->node);
  return TRUE;
}

gboolean
mv_zoneinfo_parse(const char *text, gsize len, MvZoneinfo *out, GError **error)
{
  static const struct {
    const char *word;
    guint seen;
  } watermark_words[] = {
    { "boost", SEEN_BOOST },       { "min", SEEN_MIN },         { "low", SEEN_LOW },
    { "high", SEEN_HIGH },         { "spanned", SEEN_SPANNED }, { "present", SEEN_PRESENT },
    { "managed", SEEN_MANAGED },
  };
  MvLineReader reader;
  const char *line;
  gsize line_len;
  gboolean complete;
  MvZone *zone = NULL;
  guint seen = 0;

  memset(out, 0, sizeof *out);
  mv_line_reader_init(&reader, text, len);
  while (mv_line_next(&reader, &line, &line_len, &complete)) {
    if (!complete)
      break; /* cut off: the incomplete zone is caught by finish_zone */
    if (line_len >= 4 && memcmp(line, "Node", 4) == 0) {
      if (zone != NULL && !finish_zone(zone, seen, error))
        return FALSE;
      if (out->n_zones >= MV_ZONEINFO_MAX_ZONES)
        return mv_set_errno(error, EIO, "zoneinfo: more than %d zones", MV_ZONEINFO_MAX_ZONES);
      zone = &out->zones[out->n_zones++];
      seen = 0;
      if (!parse_zone_header(line, line_len, zone))
        return mv_set_errno(error, EIO, "zoneinfo line %u: malformed zone header", reader.lineno);
      continue;
    }

    gsize pos = 0;
    mv_skip_blanks(line, line_len, &pos);
    gsize word_start = pos;
    while (pos < line_len && line[pos] != ' ' && line[pos] != '\t')
      pos++;
    const char *word = line + word_start;
    gsize word_len = pos - word_start;
    const char *rest = line + pos;
    gsize rest_len = line_len - pos;
    guint what = 0;
    gboolean ok = TRUE;

    if (mv_span_equal(word, word_len, "pages")) {
      gsize p = 0;
      mv_skip_blanks(rest, rest_len, &p);
      if (rest_len - p < 4 || memcmp(rest + p, "free", 4) != 0)
        continue; /* not "pages free" */
      what = SEEN_FREE;
      if (zone != NULL)
        ok = parse_number_after(rest + p + 4, rest_len - p - 4, &zone->pages_free);
    } else if (mv_span_equal(word, word_len, "protection:")) {
      what = SEEN_PROTECTION;
      if (zone != NULL)
        ok = parse_protection(rest, rest_len, zone);
    } else {
      for (gsize i = 0; i < G_N_ELEMENTS(watermark_words); i++) {
        if (!mv_span_equal(word, word_len, watermark_words[i].word))
          continue;
        what = watermark_words[i].seen;
        if (zone == NULL)
          break;
        guint64 *field = what == SEEN_BOOST     ? &zone->boost
                         : what == SEEN_MIN     ? &zone->min
                         : what == SEEN_LOW     ? &zone->low
                         : what == SEEN_HIGH    ? &zone->high
                         : what == SEEN_SPANNED ? &zone->spanned
                         : what == SEEN_PRESENT ? &zone->present
                                                : &zone->managed;
        ok = parse_number_after(rest, rest_len, field);
        break;
      }
    }
    if (what == 0)
      continue;
    if (zone == NULL)
      return mv_set_errno(error, EIO, "zoneinfo line %u: zone field before any zone header",
                          reader.lineno);
    if (!ok)
      return mv_set_errno(error, EIO, "zoneinfo line %u: malformed %.*s", reader.lineno,
                          (int)MIN(word_len, 16), word);
    seen |= what;
  }
  if (zone != NULL && !finish_zone(zone, seen, error))
    return FALSE;
  if (out->n_zones == 0)
    return mv_set_errno(error, EIO, "zoneinfo: no zone");
  return TRUE;
}
