/* SPDX-License-Identifier: MIT */
/* The <pid>/ directory: one table entry per file. Each value comes from its
 * cheapest exact source: status for rss/vsz, smaps_rollup for
 * pss/uss/swap/retained_freed, smaps only for what needs per-mapping data
 * (the 2x2, summary, mappings). All sizes are bytes. */
#include <stddef.h>
#include <string.h>

#include "mv-pid-load.h"
#include "mv-tree.h"

/* comm as /proc/<pid>/comm prints it (with its newline). */
static gboolean
render_comm(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  return mv_pid_read(ctx->pid, "comm", out, error);
}

/* cmdline with its NUL separators turned into spaces and a final newline,
 * so that grep treats it as text: always exactly one line, so a newline
 * inside an argument is written "\012" and a backslash "\134" (the
 * /proc/mounts octal escapes; the backslash so that "\012" typed in an
 * argument stays distinguishable). Empty for kernel threads. */
static gboolean
render_cmdline(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GString) raw = g_string_sized_new(256);

  if (!mv_pid_read(ctx->pid, "cmdline", raw, error))
    return FALSE;
  while (raw->len > 0 && raw->str[raw->len - 1] == '\0')
    g_string_truncate(raw, raw->len - 1);
  for (gsize i = 0; i < raw->len; i++) {
    char c = raw->str[i];
    if (c == '\0')
      g_string_append_c(out, ' ');
    else if (c == '\n')
      g_string_append(out, "\\012");
    else if (c == '\\')
      g_string_append(out, "\\134");
    else
      g_string_append_c(out, c);
  }
  g_string_append_c(out, '\n');
  return TRUE;
}

/* A kB line of status (bytes in MvStatus), @node->arg its offset. A
 * process without an address space has no such line: 0, as ps shows. */
static gboolean
render_status_value(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  MvStatus status;

  if (!mv_pid_load_status(ctx->pid, &status, error))
    return FALSE;
  mv_render_value(out, G_STRUCT_MEMBER(guint64, &status, node->arg));
  return TRUE;
}

/* /proc/<pid>/oom_score as the kernel prints it: the badness the OOM
 * killer gives the process (0..2000), a plain integer. */
static gboolean
render_oom_score(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new(32);
  guint64 score;

  if (!mv_pid_read(ctx->pid, "oom_score", text, error))
    return FALSE;
  g_strstrip(text->str);
  if (!g_ascii_string_to_unsigned(text->str, 10, 0, G_MAXUINT64, &score, NULL))
    return mv_set_errno(error, EIO, "%d/oom_score: not a number: %s", (int) ctx->pid,
                        text->str);
  mv_render_value(out, score);
  return TRUE;
}

static gboolean
render_rollup_value(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  MvPidRollup rollup;

  if (!mv_pid_load_rollup(ctx->pid, &rollup, error))
    return FALSE;
  mv_render_value(out, G_STRUCT_MEMBER(guint64, &rollup, node->arg));
  return TRUE;
}

static gboolean
render_resident_value(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvPidSmaps) model = mv_pid_load_smaps(ctx->pid, NULL, error);

  if (model == NULL)
    return FALSE;
  mv_render_value(out, G_STRUCT_MEMBER(guint64, &model->resident, node->arg));
  return TRUE;
}

/* A size for people, ASCII only: "512 B" below 1 KiB (also "0 B": one form
 * for zero), else GLib's IEC form ("59.9 MiB") with its non-breaking space
 * (U+00A0) made a plain space, so that grep and column tools see it. */
static void
append_human_size(GString *out, guint64 bytes)
{
  g_autofree char *human = NULL;

  if (bytes < 1024) {
    g_string_append_printf(out, "%" G_GUINT64_FORMAT " B", bytes);
    return;
  }
  human = g_format_size_full(bytes, G_FORMAT_SIZE_IEC_UNITS);
  for (const char *p = human; *p != '\0'; p++) {
    if ((guchar) p[0] == 0xc2 && (guchar) p[1] == 0xa0) {
      g_string_append_c(out, ' ');
      p++;
    } else {
      g_string_append_c(out, *p);
    }
  }
}

typedef enum { SUMMARY_TABLE, SUMMARY_VALUES } SummaryForm;

static void
append_summary_row(GString *out, SummaryForm form, const char *name, guint64 bytes,
                   const char *source)
{
  gsize start;

  if (form == SUMMARY_VALUES) {
    g_string_append_printf(out, "%s %" G_GUINT64_FORMAT "\n", name, bytes);
    return;
  }
  g_string_append_printf(out, "%-16s %14" G_GUINT64_FORMAT "  ", name, bytes);
  start = out->len;
  append_human_size(out, bytes);
  g_string_append_printf(out, "%*s  %s\n", (int) MAX(0, 10 - (gssize) (out->len - start)), "",
                         source);
}

/* Every size from the same read of smaps (so the 2x2 adds up to rss
 * exactly), except pss and swap_pss: smaps prints each mapping's Pss and
 * SwapPss rounded down to a whole kB, so their sum is low by up to 1 kB per
 * mapping (25% on a process of many one-page shared mappings); they come
 * from smaps_rollup, which rounds once. vsz, VmRSS and hugetlb from status
 * (smaps also lists [vsyscall], which VmSize does not count). @node->arg:
 * SUMMARY_TABLE (summary, for people) or SUMMARY_VALUES (values: `name
 * bytes` lines, the same rows, for scripts). */
static gboolean
render_summary(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  MvStatus status;
  MvPidRollup rollup;
  int pin = mv_pid_pin(ctx->pid); /* one process throughout (mv-pid-load.h) */
  /* a process without an address space (kernel thread, zombie) has an
   * empty smaps, which /proc serves: zeros, not its smaps_rollup's ESRCH */
  g_autoptr(MvPidSmaps) model = mv_pid_load_smaps_rollup(ctx->pid, &status, &rollup, error);
  const MvResident2x2 *r;
  const MvMappingRow *t;
  SummaryForm form = (SummaryForm) node->arg;

  if (model == NULL) {
    mv_pid_unpin(pin, ctx->pid, NULL);
    return FALSE;
  }
  if (!mv_pid_unpin(pin, ctx->pid, error))
    return FALSE;
  r = &model->resident;
  t = &model->total;
  if (form == SUMMARY_TABLE)
    g_string_append_printf(out, "%-16s %14s  %-10s  %s\n", "value", "bytes", "human", "meaning");
  append_summary_row(out, form, "rss", t->v.rss, "resident (smaps Rss, = the four below)");
  append_summary_row(out, form, "pss", rollup.pss,
                     "proportional: shared pages / sharers (smaps_rollup, exact)");
  append_summary_row(out, form, "uss", t->v.private_clean + t->v.private_dirty,
                     "unique: Private_Clean + Private_Dirty");
  append_summary_row(out, form, "anon_private", r->anon_private, "heap, stack, private anon, COW");
  append_summary_row(out, form, "anon_shared", r->anon_shared, "MAP_SHARED|MAP_ANONYMOUS");
  append_summary_row(out, form, "file_private", r->file_private,
                     "page cache of private file maps");
  append_summary_row(out, form, "file_shared", r->file_shared, "shared file maps, shm, memfd");
  append_summary_row(out, form, "retained_freed", t->v.lazyfree, "MADV_FREE'd, still resident");
  append_summary_row(out, form, "swap", t->v.swap, "swapped out");
  append_summary_row(out, form, "swap_pss", rollup.swap_pss,
                     "swapped out / sharers (smaps_rollup SwapPss)");
  append_summary_row(out, form, "hugetlb", status.hugetlb_pages,
                     "hugetlbfs pages (status HugetlbPages), not in rss");
  append_summary_row(out, form, "vsz", status.vm_size,
                     "virtual size (status VmSize, = the vsz file)");
  append_summary_row(out, form, "status_vmrss", status.vm_rss,
                     "VmRSS of status (= the rss file)");
  return TRUE;
}

static void
append_mapping_row(GString *out, const MvMappingRow *row, gboolean kernel_escaped)
{
#define MV_MAPPING_X(member, header) \
  g_string_append_printf(out, "%14" G_GUINT64_FORMAT " ", row->v.member);
  MV_MAPPING_COLUMNS(MV_MAPPING_X)
#undef MV_MAPPING_X
  g_string_append_printf(out, "%-5s ", row->perms[0] != '\0' ? row->perms : "-");
  mv_render_escaped(out, row->label, strlen(row->label), kernel_escaped);
  g_string_append_c(out, '\n');
}

/* One row per mapped path and per anonymous kind, then "total". Paths are
 * the last column with blanks escaped (\040), so awk's $1..$9 are numbers.
 * A row's Pss is the sum of the kernel's per-mapping Pss, each rounded down
 * to a whole kB; the total row's Pss is smaps_rollup's exact one, so it may
 * exceed the sum of the rows (by < 1 kB per mapping). */
static gboolean
render_mappings(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  int pin = mv_pid_pin(ctx->pid); /* one process throughout (mv-pid-load.h) */
  MvStatus status;
  MvPidRollup rollup;
  g_autoptr(MvPidSmaps) model = mv_pid_load_smaps_rollup(ctx->pid, &status, &rollup, error);

  if (model == NULL) {
    mv_pid_unpin(pin, ctx->pid, NULL);
    return FALSE;
  }
  if (!mv_pid_unpin(pin, ctx->pid, error))
    return FALSE;
  model->total.v.pss = rollup.pss;
#define MV_MAPPING_X(member, header) g_string_append_printf(out, "%14s ", header);
  MV_MAPPING_COLUMNS(MV_MAPPING_X)
#undef MV_MAPPING_X
  g_string_append(out, "Perms Path\n");
  for (guint i = 0; i < model->rows->len; i++)
    append_mapping_row(out, g_ptr_array_index(model->rows, i), TRUE);
  append_mapping_row(out, &model->total, FALSE);
  return TRUE;
}

/* One row per mapping of smaps, in address order: Range (start-end, hex,
 * as smaps), Perms, Offset (bytes), the columns of mappings, Path. Every
 * value is the kernel's for that mapping (kB made bytes), so the table
 * equals smaps region by region. */
static gboolean
render_vmas(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new(64 * 1024);
  g_autoptr(GPtrArray) vmas = g_ptr_array_new_with_free_func((GDestroyNotify) mv_mapping_row_free);

  if (!mv_pid_read_smaps(ctx->pid, text, NULL, error) ||
      !mv_pid_vmas_build(vmas, text->str, text->len, error))
    return FALSE;
  g_string_append_printf(out, "%-33s %-5s %14s ", "Range", "Perms", "Offset");
#define MV_MAPPING_X(member, header) g_string_append_printf(out, "%14s ", header);
  MV_MAPPING_COLUMNS(MV_MAPPING_X)
#undef MV_MAPPING_X
  g_string_append(out, "Path\n");
  for (guint i = 0; i < vmas->len; i++) {
    const MvMappingRow *row = g_ptr_array_index(vmas, i);
    char range[40];

    g_snprintf(range, sizeof range, "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x",
               row->start, row->end);
    g_string_append_printf(out, "%-33s %-5s %14" G_GUINT64_FORMAT " ", range, row->perms,
                           row->offset);
#define MV_MAPPING_X(member, header) \
  g_string_append_printf(out, "%14" G_GUINT64_FORMAT " ", row->v.member);
    MV_MAPPING_COLUMNS(MV_MAPPING_X)
#undef MV_MAPPING_X
    mv_render_escaped(out, row->label, strlen(row->label), TRUE);
    g_string_append_c(out, '\n');
  }
  return TRUE;
}

#define STATUS_VALUE(name, member, help) \
  MV_PID_FILE(name, MV_ACCESS_ANY, render_status_value, offsetof(MvStatus, member), "status", \
              help)
/* A process without an address space (kernel thread, zombie) has none of
 * these: ESRCH, as its smaps_rollup answers. */
#define ROLLUP_VALUE(name, member, help) \
  MV_PID_FILE(name, MV_ACCESS_PTRACE_READ, render_rollup_value, offsetof(MvPidRollup, member), \
              "smaps_rollup", help " (ESRCH without an address space, as smaps_rollup)")
#define RESIDENT_VALUE(name, member, help) \
  MV_PID_FILE(name, MV_ACCESS_PTRACE_READ, render_resident_value, \
              offsetof(MvResident2x2, member), "smaps", help)

static const MvNode pid_entries[] = {
  MV_PID_FILE("comm", MV_ACCESS_ANY, render_comm, 0, "comm", "command name (as /proc/<pid>/comm)"),
  MV_PID_FILE("cmdline", MV_ACCESS_ANY, render_cmdline, 0, "cmdline",
          "command line, arguments separated by spaces, one line (a newline in an "
          "argument written \\012, a backslash \\134)"),
  STATUS_VALUE("rss", vm_rss, "resident set, bytes (status VmRSS: what ps/top show as RSS)"),
  STATUS_VALUE("vsz", vm_size, "virtual size, bytes (status VmSize)"),
  STATUS_VALUE("rss_peak", vm_hwm,
               "the highest rss the process has had, bytes (status VmHWM; reset by writing 5 "
               "to /proc/<pid>/clear_refs)"),
  MV_PID_FILE("oom_score", MV_ACCESS_ANY, render_oom_score, 0, "oom_score",
              "the OOM killer's badness of the process, 0..2000, higher is killed first "
              "(/proc/<pid>/oom_score; a number, not bytes)"),
  ROLLUP_VALUE("pss", pss, "proportional set, bytes: each resident page / its sharers "
                           "(smaps_rollup Pss)"),
  ROLLUP_VALUE("uss", uss, "unique set, bytes: pages this process alone maps "
                           "(smaps_rollup Private_Clean + Private_Dirty)"),
  ROLLUP_VALUE("swap", swap, "swapped out, bytes (smaps_rollup Swap)"),
  ROLLUP_VALUE("swap_pss", swap_pss,
               "swapped out, bytes, each page divided among the processes sharing it "
               "(smaps_rollup SwapPss; summed over all processes: the swap in use)"),
  STATUS_VALUE("hugetlb", hugetlb_pages,
               "hugetlbfs pages mapped (MAP_HUGETLB, SHM_HUGETLB, hugetlbfs files), bytes "
               "(status HugetlbPages): not in rss nor in any of the 2x2 below"),
  ROLLUP_VALUE("retained_freed", retained_freed,
               "freed with MADV_FREE, still resident and in rss until memory pressure, bytes "
               "(smaps_rollup LazyFree)"),
  RESIDENT_VALUE("anon_private", anon_private,
                 "resident anonymous memory of private mappings, bytes: heap, stack, "
                 "MAP_PRIVATE|MAP_ANONYMOUS, copy-on-write pages of private file mappings"),
  RESIDENT_VALUE("anon_shared", anon_shared,
                 "resident MAP_SHARED|MAP_ANONYMOUS memory, bytes"),
  RESIDENT_VALUE("file_private", file_private,
                 "resident page-cache pages of private file mappings, bytes: the binary, "
                 "libraries, MAP_PRIVATE files"),
  RESIDENT_VALUE("file_shared", file_shared,
                 "resident pages of MAP_SHARED file mappings, SysV shm, memfd, /dev/shm, bytes"),
  MV_PID_FILE("cgroup", MV_ACCESS_ANY, mv_render_pid_cgroup, 0, "cgroup",
          "the path of the process's memory cgroup (group processes by container)"),
  MV_PID_FILE("summary", MV_ACCESS_PTRACE_READ, render_summary, SUMMARY_TABLE, "smaps",
          "all of the above as a table with human sizes (ASCII: \"59.9 MiB\", \"0 B\"): "
          "one read of smaps, pss and swap_pss from smaps_rollup (exact), vsz and hugetlb "
          "from status"),
  MV_PID_FILE("values", MV_ACCESS_PTRACE_READ, render_summary, SUMMARY_VALUES, "smaps",
              "the rows of summary as `name bytes` lines, from the same reads, for scripts"),
  MV_PID_FILE("mappings", MV_ACCESS_PTRACE_READ, render_mappings, 0, "smaps",
          "one row per mapped path and anonymous kind, columns in bytes, Path last "
          "(blanks escaped \\040), then a total row; a row's Pss is the kernel's per-mapping "
          "Pss (each rounded down to a kB), the total's is smaps_rollup's exact Pss; smaps is "
          "read as a stream, so the daemon holds the rows, not the smaps text; "
          "Anonymous: pages not backed by the file (copy-on-write copies in a .so row); "
          "Perms: r/w/x if any of the row's mappings has it, p/s, m when mixed"),
  MV_PID_FILE("vmas", MV_ACCESS_PTRACE_READ, render_vmas, 0, "smaps",
              "one row per mapping (region), in address order, as pmap -X: Range "
              "(start-end, hex) Perms Offset (bytes) then the columns of mappings and Path; "
              "every value the kernel's smaps value of that region"),
  MV_SUBDIR("heap", &mv_heap_dir),
};

const MvNode mv_pid_dir = MV_DIR("<pid>", pid_entries, NULL,
                                 "one directory per process, owned by the process's user");
