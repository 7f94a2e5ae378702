/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition format (version 0.0.4), written in one
 * place for every file of metrics/: a family's HELP and TYPE lines once,
 * then its samples, label values escaped and made valid UTF-8. */
#pragma once

#include <glib.h>
#include <stdarg.h>

G_BEGIN_DECLS

/* "# HELP @family @help" and "# TYPE @family @type" (@type "gauge" or
 * "counter"); @help has backslash and newline escaped as the format asks. */
void mv_prom_family(GString *out, const char *family, const char *type, const char *help);

/* A label value: made valid UTF-8 (U+FFFD for invalid bytes), backslash,
 * double quote and newline escaped. Every label goes through it. */
void mv_prom_label_value(GString *out, const char *value);

/* "@family{name="value",...} " (no braces without labels): the varargs are
 * NULL-terminated pairs of label name and (unescaped) value. The caller
 * appends the value and the newline. */
void mv_prom_sample_start(GString *out, const char *family, ...) G_GNUC_NULL_TERMINATED;
void mv_prom_sample_startv(GString *out, const char *family, va_list labels);

/* One sample with an integer value. */
void mv_prom_sample_u64(GString *out, const char *family, guint64 value, ...)
  G_GNUC_NULL_TERMINATED;

/* One sample with a floating-point value (seconds, +Inf...). */
void mv_prom_sample_double(GString *out, const char *family, double value, ...)
  G_GNUC_NULL_TERMINATED;

G_END_DECLS
