/* SPDX-License-Identifier: MIT */
/* The root README, generated from the node tables so that it lists exactly
 * the files that exist. */
#include "demo/mv-demo.h"
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
  "anon_private.\n"
  "Guarantee: the four add up exactly to the Rss of the smaps read they came from,\n"
  "and to the rss file (status VmRSS) within what the kernel itself reports between\n"
  "two reads (its per-CPU RSS counters may lag the page tables by a few pages).\n"
  "summary shows all of them from one smaps read.\n"
  "\n"
  "ACCESS\n"
  "Exactly as /proc: every /proc/<pid>/ source is opened with the reader's own\n"
  "credentials (fsuid, fsgid, groups, effective capabilities), so the kernel\n"
  "decides. Files derived from smaps (pss uss swap retained_freed anon_* file_*\n"
  "summary mappings) answer EACCES to a reader who could not open\n"
  "/proc/<pid>/smaps itself; comm, cmdline, rss, vsz and cgroup wherever\n"
  "/proc/<pid>/status is readable. With /proc mounted hidepid=, the listing,\n"
  "lookups, processes and metrics/ show a reader the pids /proc shows it. A\n"
  "reader in another user namespace is judged by the kernel's rule (no\n"
  "CAP_SYS_PTRACE outside its namespace). open() with O_TRUNC answers as /proc\n"
  "does (EACCES without write permission). The tree is read-only, except\n"
  "demo/ctl (mode 0200, owned by the daemon's user, who alone may write it:\n"
  "others get EACCES).\n"
  "\n"
  "CONSISTENCY\n"
  "A file's content is computed once, at open(), and every read() of that open file\n"
  "returns slices of the same text. A process that exits is ENOENT, never a stale or\n"
  "partial number. Processes without an address space (kernel threads, zombies)\n"
  "answer as /proc does: the smaps_rollup values are ESRCH, the smaps-derived ones\n"
  "0 (their smaps is empty); processes and metrics show 0, as ps does.\n";

/* Shown while demo/ exists (not with -o nodemo). */
static const char readme_demo[] =
  "\n"
  "THE DEMO HEAP (demo/)\n"
  "The daemon allocates demo objects with spanalloc's sa_* API on command; its\n"
  "own allocations stay on glibc's malloc, so its spanalloc heap (demo/heap ->\n"
  "<daemon pid>/heap, and the segment spanalloc-stat reads) holds the demo alone\n"
  "and moves by exactly what each command implies. One command per write:\n"
  "  echo 'alloc 200000 1024' > demo/ctl   200000 objects of 1 KiB, every byte written\n"
  "  echo 'free 90%' > demo/ctl            9 of every 10 objects, spread over the spans\n"
  "  echo 'scavenge' > demo/ctl            release the free pages (MADV_FREE by default):\n"
  "                                        rss stays, retained_freed and heap_released grow\n"
  "  echo 'pressure' > demo/ctl            MADV_PAGEOUT over them: the kernel takes them\n"
  "                                        back, rss and retained_freed drop\n"
  "  touch (allocate again what was freed), mode free|dontneed, free all, reset.\n"
  "Live objects are bounded by -o demo_max=SIZE (default 256M); a malformed or\n"
  "oversized command is EINVAL and changes nothing; demo/status shows why.\n";

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
    if (mv_node_present(&node->children[i]))
      append_node(out, &node->children[i], path);
}

gboolean
mv_render_readme(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  const MvNode *root = mv_tree_root();

  g_string_append(out, readme_intro);
  for (gsize i = 0; i < root->n_children; i++)
    if (mv_node_present(&root->children[i]))
      append_node(out, &root->children[i], "");
  append_node(out, &mv_pid_dir, "");
  g_string_append(out, readme_rules);
  if (mv_demo_enabled())
    g_string_append(out, readme_demo);
  return TRUE;
}
