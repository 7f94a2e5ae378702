/* SPDX-License-Identifier: MIT */
#include "mv-test-fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MvFixture
mv_fixture_load(const char *name)
{
  g_autofree char *path = g_build_filename(MV_FIXTURE_DIR, name, NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents(path, &contents, &len, &error))
    g_error("fixture %s: %s", path, error->message);
  MvFixture f = { malloc(len > 0 ? len : 1), len };
  g_assert_nonnull(f.data);
  memcpy(f.data, contents, len);
  return f;
}

void
mv_fixture_free(MvFixture *f)
{
  free(f->data);
  f->data = NULL;
  f->len = 0;
}

char *
mv_fixture_cstr(const char *name)
{
  g_autofree char *path = g_build_filename(MV_FIXTURE_DIR, name, NULL);
  char *contents = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents(path, &contents, NULL, &error))
    g_error("fixture %s: %s", path, error->message);
  return contents;
}

/* Calls sscanf on each line: independent of the parsers' own line walker. */
static gboolean
line_kb(const char *line, const char *key, guint64 *kb)
{
  char name[64];
  unsigned long long v;
  char unit;

  if (sscanf(line, "%63[^:]: %llu k%c", name, &v, &unit) == 3 && unit == 'B' &&
      strcmp(name, key) == 0) {
    *kb = v;
    return TRUE;
  }
  return FALSE;
}

guint64
mv_ref_sum_kb(const char *text, const char *key)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint64 sum = 0, kb;

  for (char **l = lines; *l != NULL; l++)
    if (line_kb(*l, key, &kb))
      sum += kb;
  return sum;
}

gint64
mv_ref_first_kb(const char *text, const char *key)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint64 kb;

  for (char **l = lines; *l != NULL; l++)
    if (line_kb(*l, key, &kb))
      return (gint64)kb;
  return -1;
}

guint
mv_ref_count_headers(const char *text)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint n = 0;

  for (char **l = lines; *l != NULL; l++) {
    unsigned long long a, b;
    char space;
    if (sscanf(*l, "%llx-%llx%c", &a, &b, &space) == 3 && space == ' ')
      n++;
  }
  return n;
}
