/* SPDX-License-Identifier: MIT */
#include "mv-prom.h"

#include <math.h>
#include <stdarg.h>

void
mv_prom_family(GString *out, const char *family, const char *type, const char *help)
{
  g_string_append_printf(out, "# HELP %s ", family);
  for (const char *p = help; *p != '\0'; p++) {
    if (*p == '\\')
      g_string_append(out, "\\\\");
    else if (*p == '\n')
      g_string_append(out, "\\n");
    else
      g_string_append_c(out, *p);
  }
  g_string_append_printf(out, "\n# TYPE %s %s\n", family, type);
}

/* A comm is bytes (any user can set "\xff" with prctl(PR_SET_NAME), and
 * the kernel cuts a multi-byte name at 15 bytes): invalid sequences become
 * U+FFFD, so one process's name cannot make the whole file unparsable. */
void
mv_prom_label_value(GString *out, const char *value)
{
  g_autofree char *valid = g_utf8_make_valid(value, -1);

  for (const char *p = valid; *p != '\0'; p++) {
    if (*p == '\\' || *p == '"')
      g_string_append_c(out, '\\');
    if (*p == '\n')
      g_string_append(out, "\\n");
    else
      g_string_append_c(out, *p);
  }
}

void
mv_prom_sample_startv(GString *out, const char *family, va_list labels)
{
  const char *name;
  gboolean first = TRUE;

  g_string_append(out, family);
  while ((name = va_arg(labels, const char *)) != NULL) {
    g_string_append_printf(out, "%s%s=\"", first ? "{" : ",", name);
    mv_prom_label_value(out, va_arg(labels, const char *));
    g_string_append_c(out, '"');
    first = FALSE;
  }
  g_string_append(out, first ? " " : "} ");
}

void
mv_prom_sample_start(GString *out, const char *family, ...)
{
  va_list labels;

  va_start(labels, family);
  mv_prom_sample_startv(out, family, labels);
  va_end(labels);
}

void
mv_prom_sample_u64(GString *out, const char *family, guint64 value, ...)
{
  va_list labels;

  va_start(labels, value);
  mv_prom_sample_startv(out, family, labels);
  va_end(labels);
  g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", value);
}

void
mv_prom_sample_double(GString *out, const char *family, double value, ...)
{
  va_list labels;
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  va_start(labels, value);
  mv_prom_sample_startv(out, family, labels);
  va_end(labels);
  if (isinf(value))
    g_string_append(out, value > 0 ? "+Inf\n" : "-Inf\n");
  else
    g_string_append_printf(out, "%s\n", g_ascii_formatd(text, sizeof text, "%.6f", value));
}
