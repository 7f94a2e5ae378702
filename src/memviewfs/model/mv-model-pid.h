/* SPDX-License-Identifier: MIT */
/* The per-process model: from parsed smaps/status/smaps_rollup to the values
 * of a <pid>/ directory. All values are BYTES. No I/O here: callers read
 * the /proc text and hand it in. */
#pragma once

#include <glib.h>

#include "proc/mv-proc.h"

G_BEGIN_DECLS

/* The 2x2 of resident memory (anonymous/file x private/shared), per mapping
 * of smaps by perms[3] (private 'p' or shared 's'). The rule is written once,
 * in tree/mv-readme.c (readme_rules, the text of the mount's README), and
 * coded once, in mv_resident_2x2_add; README.md and the man page point to
 * it. The four add up to the Rss of smaps (= smaps_rollup Rss) exactly, and
 * to VmRSS of status within the kernel's own counter slack. */
typedef struct {
  guint64 anon_private;
  guint64 anon_shared;
  guint64 file_private;
  guint64 file_shared;
} MvResident2x2;

/* Adds one mapping to @acc by the rule above. */
void mv_resident_2x2_add(MvResident2x2 *acc, const MvSmapsEntry *entry);

/* The columns of the `mappings` table, in order: X(member of MvSmapsValues,
 * "Header"). */
#define MV_MAPPING_COLUMNS(X)          \
  X(private_clean, "Private_Clean")    \
  X(private_dirty, "Private_Dirty")    \
  X(shared_clean, "Shared_Clean")      \
  X(shared_dirty, "Shared_Dirty")      \
  X(rss, "Rss")                        \
  X(pss, "Pss")                        \
  X(swap, "Swap")                      \
  X(lazyfree, "LazyFree")              \
  X(size, "VSZ")                       \
  X(anonymous, "Anonymous")

/* One row of `mappings`: every mapping of one path, or of one anonymous kind,
 * summed; or one row of `vmas`: one mapping. Anonymous (the kernel's
 * Anonymous: pages not backed by a file, including the copy-on-write
 * copies inside a private file mapping, as pmap -X shows it) comes last
 * among the numbers so that scripts reading the first nine keep working. */
typedef struct {
  char *label; /* the path as smaps prints it, or "[heap]", "[stack]",
                * "[anon]" (unnamed private anonymous), "[anon_shared]"
                * (MAP_SHARED|MAP_ANONYMOUS), "[anon:<name>]", "[vdso]"... */
  MvSmapsValues v;  /* the sum of the mappings' values (mv_smaps_values_add) */
  guint n_mappings; /* how many VMAs were summed into this row */
  /* r, w, x where ANY of the row's mappings has it; the fourth 'p'
   * (private), 's' (shared), or 'm' when the row mixes both; "----" is
   * a row of mappings with no access at all (guard pages) */
  char perms[5];
  guint64 start, end, offset; /* `vmas` only: the mapping's range and file offset */
} MvMappingRow;

void mv_mapping_row_free(MvMappingRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MvMappingRow, mv_mapping_row_free)

/* Everything one pass over smaps yields. */
typedef struct {
  MvResident2x2 resident;
  GPtrArray *rows;    /* of MvMappingRow*, sorted by rss descending, then label */
  MvMappingRow total; /* label "total": the sum of every row */
} MvPidSmaps;

MvPidSmaps *mv_pid_smaps_new(void);
void mv_pid_smaps_free(MvPidSmaps *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MvPidSmaps, mv_pid_smaps_free)

/* Parses smaps @text and fills @model (which must be fresh). */
gboolean mv_pid_smaps_build(MvPidSmaps *model, const char *text, gsize len, GError **error);

/* One row per mapping of smaps @text, in address order, into @vmas (of
 * MvMappingRow*, owning): the same columns as `mappings`, labelled as
 * `mappings` labels them (mv_mapping_label: "[anon]" for an unnamed
 * private anonymous mapping). */
gboolean mv_pid_vmas_build(GPtrArray *vmas, const char *text, gsize len, GError **error);

/* Fills @model (which must be fresh) from a source that calls @func once
 * per mapping (e.g. mv_smaps_parse_file, which streams): only the rows,
 * one per distinct label, are held, never the text. */
typedef gboolean (*MvSmapsSource)(MvSmapsFunc func, gpointer func_data, gpointer source_data,
                                  GError **error);
gboolean mv_pid_smaps_build_from(MvPidSmaps *model, MvSmapsSource source, gpointer source_data,
                                 GError **error);

/* The label a mapping is grouped under in `mappings` (see MvMappingRow). */
char *mv_mapping_label(const MvSmapsEntry *entry);

/* The values of a <pid>/ directory that come from smaps_rollup. */
typedef struct {
  guint64 rss;            /* Rss of the rollup (page-table walk) */
  guint64 pss;            /* Pss */
  guint64 uss;            /* Private_Clean + Private_Dirty (smem's USS) */
  guint64 swap;           /* Swap */
  guint64 swap_pss;       /* SwapPss: swapped-out pages / their sharers (after fork a
                           * swapped page is shared until written) */
  guint64 retained_freed; /* LazyFree: MADV_FREE'd, still resident */
} MvPidRollup;

void mv_pid_rollup_from_values(const MvSmapsValues *v, MvPidRollup *out);

G_END_DECLS
