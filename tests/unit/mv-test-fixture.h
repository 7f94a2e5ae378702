/* SPDX-License-Identifier: MIT */
/* Helpers of the unit tests: fixtures from tests/unit/fixtures, and a
 * deliberately simple second reading of /proc text (sscanf over lines) that
 * the tests compare the parsers against. */
#pragma once

#include <glib.h>
#include <stdint.h>

/* The directory of the fixtures, relative to the working directory: meson
 * runs the unit tests in tests/unit/ (workdir), so the fixtures are found
 * next to the tests, not through a path compiled in. By hand:
 *   cd tests/unit && ../../build/tests/unit/test-proc-pid */
#define MV_FIXTURE_DIR "fixtures"

/* A fixture's bytes in a buffer of exactly its size (malloc, NOT
 * NUL-terminated: ASan catches a parser reading past the end). */
typedef struct {
  char *data;
  gsize len;
} MvFixture;

MvFixture mv_fixture_load(const char *name);
void mv_fixture_free(MvFixture *f);
/* A NUL-terminated copy, for the sscanf-based reference scans. */
char *mv_fixture_cstr(const char *name);

/* Sum of the numbers of every line "<key>: <n> kB" (kB, as printed). */
guint64 mv_ref_sum_kb(const char *text, const char *key);
/* The number on the first line "<key>: <n> kB", or -1. */
gint64 mv_ref_first_kb(const char *text, const char *key);
/* How many lines start like a smaps header "<hex>-<hex> ". */
guint mv_ref_count_headers(const char *text);
