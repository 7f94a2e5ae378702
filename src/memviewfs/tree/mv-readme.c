/* SPDX-License-Identifier: MIT */
/* The root README, generated from the node tables so that it lists exactly
 * the files that exist. */
#include "mv-tree.h"

static const char readme_intro[] =
  "memviewfs: how much memory each process really uses, and why\n"
  "\n"
  "Every value is recomputed from the kernel's own sources (/proc/<pid>/status,\n"
  "smaps_rollup, smaps, /proc/meminfo, /proc/zoneinfo, the memory cgroup) when\n"
  "the file is opened; nothing is cached. Sizes are BYTES, one decimal integer\n"
  "and a newline per value file, so $(cat f) works in shell arithmetic. Tables\n"
  "have one header line and whitespace-separated columns; a path or command\n"
  "name in a table has blanks escaped as \\040 (tab \\011, newline \\012), so a\n"
  "row always has the same number of columns.\n"
  "\n"
  "FILES\n";

static const char readme_rules[] =
  "\n"
  "THE 2x2 OF RESIDENT MEMORY (anon_private, anon_shared, file_private, file_shared)\n"
  "Computed per mapping of /proc/<pid>/smaps:\n"
  "  private mapping (MAP_PRIVATE: heap, stack, anonymous mmap, binary, libraries):\n"
  "    anon_private += Anonymous        anonymous pages, including pages copied on\n"
  "                                     write from a private FILE mapping, and\n"
  "                                     MADV_FREE'd pages not yet reclaimed\n"
  "    file_private += Rss - Anonymous  page-cache pages still shared with the file\n"
  "  shared mapping (MAP_SHARED):\n"
  "    anon_shared  += Rss  if it is anonymous shmem: MAP_SHARED|MAP_ANONYMOUS,\n"
  "                         which smaps names \"/dev/zero (deleted)\" or\n"
  "                         \"[anon_shmem:<name>]\"\n"
  "    file_shared  += Rss  otherwise: shared file mappings, SysV shm\n"
  "                         (\"/SYSV<key> (deleted)\"), memfd, POSIX shm (/dev/shm)\n"
  "Shmem pages are neither ordinary anonymous pages nor ordinary file pages to the\n"
  "kernel; the rule classifies them by how they were mapped. Swapped-out pages are\n"
  "not resident and are in none of the four (see swap); retained_freed is part of\n"
  "anon_private. Hugetlb pages (MAP_HUGETLB, SHM_HUGETLB, hugetlbfs files) are in\n"
  "none of the four either, nor in rss: the kernel counts them in neither smaps' Rss\n"
  "nor VmRSS; the hugetlb file shows them (status HugetlbPages).\n"
  "Guarantee: the four add up exactly to the Rss of the smaps read they came from,\n"
  "and to the rss file (status VmRSS) within what the kernel itself reports between\n"
  "two reads (its per-CPU RSS counters may lag the page tables by a few pages).\n"
  "summary shows all of them from one smaps read.\n"
  "\n"
  "EXACT PSS\n"
  "smaps prints each mapping's Pss (and SwapPss) rounded down to a whole kB, so a\n"
  "sum over mappings is low by up to 1 kB per mapping (25% for a process of many\n"
  "one-page shared mappings). Every pss and swap_pss this tree serves (pss,\n"
  "swap_pss, summary, processes, metrics, the total row of mappings) is\n"
  "smaps_rollup's, which the kernel rounds once. Only the per-path rows of mappings\n"
  "carry the per-mapping rounding, so their Pss may add up to less than the total.\n"
  "\n"
  "ACCESS\n"
  "Like /proc: a process's directory belongs to the process's user. Files derived\n"
  "from smaps (pss uss swap retained_freed anon_* file_* summary mappings) answer\n"
  "EACCES to a reader who could not open /proc/<pid>/smaps itself (another user's\n"
  "process without CAP_SYS_PTRACE, a non-dumpable process); comm, cmdline, rss and\n"
  "vsz are readable by all, like /proc/<pid>/status. The decision is made at open()\n"
  "from the reader's credentials. The tree is read-only.\n"
  "\n"
  "CONSISTENCY\n"
  "A file's content is computed once, at open(), and every read() of that open file\n"
  "returns slices of the same text. A process that exits is ENOENT, never a stale or\n"
  "partial number. Processes without an address space (kernel threads, zombies)\n"
  "show 0, as ps does.\n";

static void
append_node(GString *out, const MvNode *entry, const char *parent_path)
{
  const MvNode *node = mv_node_target(entry);
  g_autofree char *path = g_strconcat(parent_path, node->name,
                                      node->type == MV_NODE_DIR ? "/" : "", NULL);

  g_string_append_printf(out, "  %-22s %s\n", path, node->help);
  if (node->type != MV_NODE_DIR)
    return;
  for (gsize i = 0; i < node->n_children; i++)
    append_node(out, &node->children[i], path);
}

gboolean
mv_render_readme(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  const MvNode *root = mv_tree_root();

  g_string_append(out, readme_intro);
  for (gsize i = 0; i < root->n_children; i++)
    append_node(out, &root->children[i], "");
  append_node(out, &mv_pid_dir, "");
  g_string_append(out, readme_rules);
  return TRUE;
}
