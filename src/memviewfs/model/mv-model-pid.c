/* SPDX-License-Identifier: MIT */
/* The per-process model (see mv-model-pid.h for the 2x2 rule). */
#include "mv-model-pid.h"

#include <string.h>

/* smaps' path of MAP_SHARED|MAP_ANONYMOUS (and of a MAP_SHARED mapping of
 * /dev/zero, which is the same thing: shmem_zero_setup()). */
#define DEV_ZERO_DELETED "/dev/zero (deleted)"
/* smaps' path of a named one (PR_SET_VMA_ANON_NAME, CONFIG_ANON_VMA_NAME). */
#define ANON_SHMEM_PREFIX "[anon_shmem:"

static gboolean
path_is(const MvSmapsEntry *entry, const char *word)
{
  gsize len = strlen(word);
  return entry->path_len == len && memcmp(entry->path, word, len) == 0;
}

static gboolean
path_starts_with(const MvSmapsEntry *entry, const char *prefix)
{
  gsize len = strlen(prefix);
  return entry->path_len >= len && memcmp(entry->path, prefix, len) == 0;
}

static gboolean
is_shared(const MvSmapsEntry *entry)
{
  return entry->perms[3] == 's';
}

/* Anonymous shared memory: MAP_SHARED|MAP_ANONYMOUS. An unnamed shared
 * mapping without a path (a VM_PFNMAP device mapping, say) is counted here
 * too: it has no file behind it that a reader could name. */
static gboolean
is_anon_shared(const MvSmapsEntry *entry)
{
  return is_shared(entry) && (path_is(entry, DEV_ZERO_DELETED) ||
                              path_starts_with(entry, ANON_SHMEM_PREFIX) || entry->path_len == 0);
}

void
mv_resident_2x2_add(MvResident2x2 *acc, const MvSmapsEntry *entry)
{
  const MvSmapsValues *v = &entry->v;

  if (is_shared(entry)) {
    if (is_anon_shared(entry))
      acc->anon_shared += v->rss;
    else
      acc->file_shared += v->rss;
    return;
  }
  /* Anonymous <= Rss always in the kernel's accounting; clamp anyway so that
   * a torn read cannot wrap file_private around */
  guint64 anon = MIN(v->anonymous, v->rss);
  acc->anon_private += anon;
  acc->file_private += v->rss - anon;
}

char *
mv_mapping_label(const MvSmapsEntry *entry)
{
  if (entry->path_len == 0)
    return g_strdup(is_shared(entry) ? "[anon_shared]" : "[anon]");
  if (is_shared(entry) && path_is(entry, DEV_ZERO_DELETED))
    return g_strdup("[anon_shared]");
  return g_strndup(entry->path, entry->path_len);
}

void
mv_mapping_row_free(MvMappingRow *row)
{
  if (row == NULL)
    return;
  g_free(row->label);
  g_free(row);
}

MvPidSmaps *
mv_pid_smaps_new(void)
{
  MvPidSmaps *model = g_new0(MvPidSmaps, 1);
  model->rows = g_ptr_array_new_with_free_func((GDestroyNotify)mv_mapping_row_free);
  model->total.label = g_strdup("total");
  return model;
}

void
mv_pid_smaps_free(MvPidSmaps *model)
{
  if (model == NULL)
    return;
  g_ptr_array_unref(model->rows);
  g_free(model->total.label);
  g_free(model);
}

static void
row_add(MvMappingRow *row, const MvSmapsValues *v)
{
  mv_smaps_values_add(&row->v, v);
  row->n_mappings++;
}

/* Folds @entry's permissions into @row's (see MvMappingRow). */
static void
row_add_perms(MvMappingRow *row, const MvSmapsEntry *entry)
{
  if (row->perms[0] == '\0') {
    memcpy(row->perms, entry->perms, 4);
    row->perms[4] = '\0';
    return;
  }
  for (int i = 0; i < 3; i++)
    if (entry->perms[i] != '-')
      row->perms[i] = entry->perms[i];
  if (row->perms[3] != entry->perms[3])
    row->perms[3] = 'm';
}

typedef struct {
  MvPidSmaps *model;
  GHashTable *by_label; /* label (owned by the row) -> MvMappingRow* */
} BuildState;

static gboolean
add_entry(const MvSmapsEntry *entry, gpointer user_data)
{
  BuildState *state = user_data;
  g_autofree char *label = mv_mapping_label(entry);
  MvMappingRow *row = g_hash_table_lookup(state->by_label, label);

  if (row == NULL) {
    row = g_new0(MvMappingRow, 1);
    row->label = g_steal_pointer(&label);
    g_ptr_array_add(state->model->rows, row);
    g_hash_table_insert(state->by_label, row->label, row);
  }
  row_add(row, &entry->v);
  row_add_perms(row, entry);
  row_add(&state->model->total, &entry->v);
  row_add_perms(&state->model->total, entry);
  mv_resident_2x2_add(&state->model->resident, entry);
  return TRUE;
}

static gint
compare_rows(gconstpointer a, gconstpointer b)
{
  const MvMappingRow *ra = *(const MvMappingRow *const *)a;
  const MvMappingRow *rb = *(const MvMappingRow *const *)b;

  if (ra->v.rss != rb->v.rss)
    return ra->v.rss > rb->v.rss ? -1 : 1;
  return strcmp(ra->label, rb->label);
}

gboolean
mv_pid_smaps_build_from(MvPidSmaps *model, MvSmapsSource source, gpointer source_data,
                        GError **error)
{
  BuildState state = { model, g_hash_table_new(g_str_hash, g_str_equal) };
  gboolean ok = source(add_entry, &state, source_data, error);

  g_hash_table_unref(state.by_label);
  g_ptr_array_sort(model->rows, compare_rows);
  return ok;
}

static gboolean
add_vma(const MvSmapsEntry *entry, gpointer user_data)
{
  MvMappingRow *row = g_new0(MvMappingRow, 1);

  row->label = mv_mapping_label(entry);
  row->start = entry->start;
  row->end = entry->end;
  row->offset = entry->offset;
  row_add(row, &entry->v);
  row_add_perms(row, entry);
  g_ptr_array_add((GPtrArray *) user_data, row);
  return TRUE;
}

gboolean
mv_pid_vmas_build(GPtrArray *vmas, const char *text, gsize len, GError **error)
{
  return mv_smaps_parse(text, len, add_vma, vmas, error);
}

typedef struct {
  const char *text;
  gsize len;
} TextSource;

static gboolean
parse_text(MvSmapsFunc func, gpointer func_data, gpointer source_data, GError **error)
{
  const TextSource *source = source_data;

  return mv_smaps_parse(source->text, source->len, func, func_data, error);
}

gboolean
mv_pid_smaps_build(MvPidSmaps *model, const char *text, gsize len, GError **error)
{
  TextSource source = { text, len };

  return mv_pid_smaps_build_from(model, parse_text, &source, error);
}

void
mv_pid_rollup_from_values(const MvSmapsValues *v, MvPidRollup *out)
{
  out->rss = v->rss;
  out->pss = v->pss;
  out->uss = v->private_clean + v->private_dirty;
  out->swap = v->swap;
  out->swap_pss = v->swap_pss;
  out->retained_freed = v->lazyfree;
}
