/* SPDX-License-Identifier: MIT */
/* Fuzz targets for every parser of kernel text (src/memviewfs/proc, and the
 * models built on them) and for the spanalloc statistics reader's segment
 * validator and parsers (src/spanalloc/sa-reader.c).
 *
 *   mv-fuzz TARGET SECONDS CORPUS_DIR   run mutated inputs for SECONDS
 *   mv-fuzz TARGET FILE...              run each file once (reproduce)
 *   mv-fuzz --list                      the target names
 *   mv-fuzz --dump-segment FILE         write this process's own statistics
 *                                       segment (the sa_segment seed)
 *
 * A standalone driver (gcc is enough): it mutates the corpus' files (bit
 * flips, byte changes, inserted digits and line breaks, deleted or
 * duplicated spans, splices of two inputs, truncation) and feeds each
 * result to the target, which must return (any result) without a crash,
 * a sanitizer report or a hang. Built with -Db_sanitize=address,undefined
 * (./dev/test does) every out-of-bounds access is a crash. Each target is
 * also LLVMFuzzerTestOneInput-shaped (fuzz_<name>(data, size)) so that
 * libFuzzer could drive it. Seed corpora: tests/fuzz/corpus/<target>/. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <spanalloc-stats.h>
#include <spanalloc.h>

#include "model/mv-model-pid.h"
#include "model/mv-model-system.h"
#include "proc/mv-proc.h"
#include "sa-internal.h"

/* ---- the targets ----------------------------------------------------------- */

static gboolean
count_mapping(const MvSmapsEntry *entry, gpointer user_data)
{
  (*(guint64 *) user_data) += entry->v.rss + entry->path_len;
  return TRUE;
}

static void
fuzz_smaps(const uint8_t *data, size_t size)
{
  guint64 sum = 0;
  g_autoptr(MvPidSmaps) model = mv_pid_smaps_new();

  mv_smaps_parse((const char *) data, size, count_mapping, &sum, NULL);
  mv_pid_smaps_build(model, (const char *) data, size, NULL);
}

static void
fuzz_smaps_rollup(const uint8_t *data, size_t size)
{
  MvSmapsValues values;
  MvPidRollup rollup;

  if (mv_smaps_rollup_parse((const char *) data, size, &values, NULL))
    mv_pid_rollup_from_values(&values, &rollup);
}

static void
fuzz_status(const uint8_t *data, size_t size)
{
  MvStatus status;

  mv_status_parse((const char *) data, size, &status, NULL);
}

static void
fuzz_meminfo(const uint8_t *data, size_t size)
{
  MvMeminfo meminfo;
  MvFree free_values;

  if (mv_meminfo_parse((const char *) data, size, &meminfo, NULL))
    mv_free_from_meminfo(&meminfo, &free_values, NULL);
}

static void
fuzz_zoneinfo(const uint8_t *data, size_t size)
{
  static MvSystem system;
  static const char meminfo[] = "MemTotal: 1000000 kB\nMemFree: 500000 kB\n"
                                "MemAvailable: 600000 kB\n";

  /* zoneinfo alone, then through the model (MemAvailable's breakdown) */
  mv_system_build(&system, meminfo, sizeof meminfo - 1, (const char *) data, size, 4096, NULL);
}

static void
fuzz_proc_cgroup(const uint8_t *data, size_t size)
{
  MvCgroupVersion version;
  char path[256];

  mv_proc_cgroup_parse((const char *) data, size, &version, path, sizeof path, NULL);
}

static gboolean
count_key(const char *key, gsize key_len, guint64 value, gpointer user_data)
{
  (*(guint64 *) user_data) += key_len + value;
  return TRUE;
}

static void
fuzz_keyvalue(const uint8_t *data, size_t size)
{
  guint64 sum = 0;

  mv_keyvalue_parse((const char *) data, size, count_key, &sum, NULL);
}

static void
fuzz_single_value(const uint8_t *data, size_t size)
{
  guint64 value;
  gboolean is_max;

  mv_single_value_parse((const char *) data, size, &value, &is_max, NULL);
}

static gboolean
count_pid(pid_t pid, gpointer user_data)
{
  (*(guint64 *) user_data) += (guint64) pid;
  return TRUE;
}

static void
fuzz_pid_list(const uint8_t *data, size_t size)
{
  guint64 sum = 0;

  mv_pid_list_parse((const char *) data, size, count_pid, &sum, NULL);
}

static gboolean
unescape_entry(const MvMountinfoEntry *entry, gpointer user_data)
{
  char out[64];

  mv_mountinfo_unescape(entry->mount_point, entry->mount_point_len, out, sizeof out);
  mv_mountinfo_unescape(entry->root, entry->root_len, out, sizeof out);
  return TRUE;
}

static void
fuzz_mountinfo(const uint8_t *data, size_t size)
{
  mv_mountinfo_parse((const char *) data, size, unescape_entry, NULL, NULL);
}

/* The segment validator sees exactly the bytes a hostile process chose; the
 * copy is heap-allocated at the input's size so that ASan sees any read
 * past it. */
static void
fuzz_sa_segment(const uint8_t *data, size_t size)
{
  void *copy = g_memdup2(data, size);

  if (sa_stats_segment_validate(copy, size) == 0 && size >= sizeof(struct sa_stats_segment)) {
    const struct sa_stats_segment *seg = copy;
    g_assert(seg->stats.nclasses <= SA_STATS_MAX_CLASSES);
    g_assert(seg->spans.nspans <= SA_STATS_MAX_SPANS);
  }
  g_free(copy);
}

static void
fuzz_sa_maps_line(const uint8_t *data, size_t size)
{
  g_autofree char *copy = g_memdup2(data, size);
  struct sa_maps_segment seg;
  const char *line = copy;

  /* every line of the input, as sa_find_segment hands them over */
  for (const char *end; line < copy + size; line = end + 1) {
    end = memchr(line, '\n', (size_t) (copy + size - line));
    if (end == NULL)
      end = copy + size;
    if (sa_maps_line_parse(line, end, &seg))
      g_assert(seg.start < seg.stop);
  }
}

static void
fuzz_sa_nspid(const uint8_t *data, size_t size)
{
  g_autofree char *copy = g_memdup2(data, size);
  uint64_t pid;

  sa_status_nspid(copy, size, &pid);
}

typedef struct {
  const char *name;
  void (*run)(const uint8_t *data, size_t size);
} FuzzTarget;

static const FuzzTarget targets[] = {
  { "smaps", fuzz_smaps },
  { "smaps_rollup", fuzz_smaps_rollup },
  { "status", fuzz_status },
  { "meminfo", fuzz_meminfo },
  { "zoneinfo", fuzz_zoneinfo },
  { "proc_cgroup", fuzz_proc_cgroup },
  { "keyvalue", fuzz_keyvalue },
  { "single_value", fuzz_single_value },
  { "pid_list", fuzz_pid_list },
  { "mountinfo", fuzz_mountinfo },
  { "sa_segment", fuzz_sa_segment },
  { "sa_maps_line", fuzz_sa_maps_line },
  { "sa_nspid", fuzz_sa_nspid },
};

/* ---- the driver -------------------------------------------------------------- */

#define MV_FUZZ_MAX_INPUT (256 * 1024)

static GPtrArray *
load_corpus(const char *dir)
{
  GPtrArray *corpus = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *contents;
    gsize len;

    if (g_file_get_contents(path, &contents, &len, NULL))
      g_ptr_array_add(corpus, g_bytes_new_take(contents, len));
  }
  return corpus;
}

/* The allocator's own segment, as it publishes it: the best seed there is. */
static void
add_live_segment(GPtrArray *corpus)
{
  static struct sa_stats_segment_copy copy;
  struct sa_stats stats;

  if (sa_stats(&stats) == 0 && sa_stats_read_pid(getpid(), &copy) == 0)
    g_ptr_array_add(corpus, g_bytes_new(&copy.seg, sizeof copy.seg));
}

static void
mutate(GByteArray *input, GPtrArray *corpus, GRand *rng)
{
  static const char interesting[] = "0123456789 \n\t:-kB\\ffffffff";
  guint n = g_rand_int_range(rng, 1, 8);

  for (guint i = 0; i < n; i++) {
    guint len = input->len;
    guint pos = len ? g_rand_int_range(rng, 0, (gint32) len) : 0;

    switch (g_rand_int_range(rng, 0, 8)) {
    case 0: /* flip a bit */
      if (len)
        input->data[pos] ^= (guint8) (1u << g_rand_int_range(rng, 0, 8));
      break;
    case 1: /* any byte */
      if (len)
        input->data[pos] = (guint8) g_rand_int_range(rng, 0, 256);
      break;
    case 2: { /* a byte that matters to the parsers */
      guint8 c = (guint8) interesting[g_rand_int_range(rng, 0, sizeof interesting - 1)];
      if (len < MV_FUZZ_MAX_INPUT) {
        g_byte_array_set_size(input, len + 1);
        memmove(input->data + pos + 1, input->data + pos, len - pos);
        input->data[pos] = c;
      }
      break;
    }
    case 3: /* delete a span */
      if (len) {
        guint want = (guint) g_rand_int_range(rng, 1, 64); /* (MIN evaluates twice) */
        guint cut = MIN(len - pos, want);
        g_byte_array_remove_range(input, pos, cut);
      }
      break;
    case 4: /* duplicate a span */
      if (len && len < MV_FUZZ_MAX_INPUT / 2) {
        guint want = (guint) g_rand_int_range(rng, 1, 256);
        guint span = MIN(len - pos, want);
        g_autofree guint8 *copy = g_memdup2(input->data + pos, span);
        g_byte_array_set_size(input, len + span);
        memmove(input->data + pos + span, input->data + pos, len - pos);
        memcpy(input->data + pos, copy, span);
      }
      break;
    case 5: /* truncate */
      g_byte_array_set_size(input, pos);
      break;
    case 6: /* splice in part of another input */
      if (corpus->len) {
        GBytes *other = g_ptr_array_index(corpus, g_rand_int_range(rng, 0, (gint32) corpus->len));
        gsize olen;
        const guint8 *odata = g_bytes_get_data(other, &olen);
        if (olen && len + olen < MV_FUZZ_MAX_INPUT) {
          gsize from = (gsize) g_rand_int_range(rng, 0, (gint32) olen);
          gsize want = (gsize) g_rand_int_range(rng, 1, 512);
          gsize span = MIN(olen - from, want);
          g_byte_array_set_size(input, (guint) (len + span));
          memmove(input->data + pos + span, input->data + pos, len - pos);
          memcpy(input->data + pos, odata + from, span);
        }
      }
      break;
    default: { /* a little-endian integer at an 8-byte boundary (segment fields) */
      static const guint64 values[] = { 0, 1, 0x7fffffff, 0xffffffff, G_MAXUINT64, 4096, 1u << 20 };
      guint64 v = values[g_rand_int_range(rng, 0, G_N_ELEMENTS(values))];
      guint at = pos & ~7u;
      if (at + 8 <= len)
        memcpy(input->data + at, &v, 8);
      break;
    }
    }
  }
}

static const FuzzTarget *
find_target(const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS(targets); i++)
    if (strcmp(targets[i].name, name) == 0)
      return &targets[i];
  return NULL;
}

int
main(int argc, char **argv)
{
  const FuzzTarget *target;

  /* a parser that trips a GLib precondition is a bug too */
  g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (gsize i = 0; i < G_N_ELEMENTS(targets); i++)
      printf("%s\n", targets[i].name);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--dump-segment") == 0) {
    g_autoptr(GPtrArray) seeds = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    gsize len;
    add_live_segment(seeds);
    if (seeds->len == 0)
      return 1;
    const guint8 *data = g_bytes_get_data(g_ptr_array_index(seeds, 0), &len);
    return g_file_set_contents(argv[2], (const char *) data, (gssize) len, NULL) ? 0 : 1;
  }
  if (argc < 3 || (target = find_target(argv[1])) == NULL) {
    fprintf(stderr, "usage: %s TARGET SECONDS CORPUS_DIR | TARGET FILE... | --list\n", argv[0]);
    return 2;
  }
  char *end;
  double seconds = g_ascii_strtod(argv[2], &end);
  if (*end != '\0' || argc != 4) {
    /* reproduce: each file once */
    for (int i = 2; i < argc; i++) {
      g_autofree char *contents = NULL;
      gsize len;
      if (!g_file_get_contents(argv[i], &contents, &len, NULL)) {
        fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
        return 2;
      }
      target->run((const uint8_t *) contents, len);
    }
    return 0;
  }

  g_autoptr(GPtrArray) corpus = load_corpus(argv[3]);
  if (strcmp(target->name, "sa_segment") == 0)
    add_live_segment(corpus);
  if (corpus->len == 0) {
    fprintf(stderr, "%s: empty corpus %s\n", argv[0], argv[3]);
    return 2;
  }
  /* a fixed seed per run unless MV_FUZZ_SEED says otherwise: reproducible */
  const char *seed_env = g_getenv("MV_FUZZ_SEED");
  guint32 seed = seed_env ? (guint32) g_ascii_strtoull(seed_env, NULL, 10) : 1;
  g_autoptr(GRand) rng = g_rand_new_with_seed(seed);
  g_autoptr(GByteArray) input = g_byte_array_new();
  gint64 deadline = g_get_monotonic_time() + (gint64) (seconds * G_USEC_PER_SEC);
  guint64 runs = 0;

  /* every seed as it is first */
  for (guint i = 0; i < corpus->len; i++) {
    gsize len;
    const guint8 *data = g_bytes_get_data(g_ptr_array_index(corpus, i), &len);
    target->run(data, len);
    runs++;
  }
  while (g_get_monotonic_time() < deadline) {
    for (int batch = 0; batch < 64; batch++) {
      gsize len;
      GBytes *seed_input = g_ptr_array_index(corpus, g_rand_int_range(rng, 0, (gint32) corpus->len));
      const guint8 *data = g_bytes_get_data(seed_input, &len);
      g_byte_array_set_size(input, 0);
      g_byte_array_append(input, data, (guint) len);
      mutate(input, corpus, rng);
      /* an exact-size heap copy: ASan catches a read one byte past the end */
      g_autofree guint8 *exact = g_memdup2(input->data, input->len);
      target->run(exact, input->len);
      runs++;
    }
  }
  printf("%s: %" G_GUINT64_FORMAT " runs in %.0f s (seed %u, %u corpus files)\n", target->name,
         runs, seconds, seed, corpus->len);
  return 0;
}
