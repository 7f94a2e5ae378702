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
  "and a newline per value file, so $(cat f) works in shell arithmetic (also\n"
  "cgroup/limit: the machine's MemTotal when nothing limits the cgroup, whose\n"
  "limit_raw then says max). Tables\n"
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
  "Exactly as /proc: every /proc/<pid>/ source is opened with the reader's own\n"
  "credentials (fsuid, fsgid, groups, effective capabilities), so the kernel\n"
  "decides. Files derived from smaps (pss uss swap retained_freed anon_* file_*\n"
  "summary mappings) answer EACCES to a reader who could not open\n"
  "/proc/<pid>/smaps itself; comm, cmdline, rss, vsz and cgroup wherever\n"
  "/proc/<pid>/status is readable. With /proc mounted hidepid=, the listing,\n"
  "lookups, processes and metrics/ show a reader the pids /proc shows it.\n"
  "Mounted -o metrics_gid=GID, metrics/ alone is computed with the daemon's\n"
  "credentials (every process) for members of group GID. A\n"
  "reader in another user namespace is judged by the kernel's rule (no\n"
  "CAP_SYS_PTRACE outside its namespace). open() with O_TRUNC answers as /proc\n"
  "does (EACCES without write permission). The tree is read-only, except\n"
  "demo/ctl (mode 0200, owned by the daemon's user, who alone may write it:\n"
  "others get EACCES). The mount is therefore read-write: on a -o ro mount the\n"
  "kernel refuses every write with EROFS, demo/ctl's too (use -o ro,nodemo).\n"
  "\n"
  "CONSISTENCY\n"
  "A file's content is computed once, at open(), and every read() of that open file\n"
  "returns slices of the same text. A process that exits is ENOENT, never a stale or\n"
  "partial number. Processes without an address space (kernel threads, zombies)\n"
  "answer as /proc does: the smaps_rollup values are ESRCH, the smaps-derived ones\n"
  "0 (their smaps is empty); processes and metrics show 0, as ps does.\n";

static const char readme_heap[] =
  "\n"
  "HEAP (<pid>/heap/)\n"
  "The kernel's view, for every process, from one read of smaps: reserved,\n"
  "resident, lazyfree and swapped sum the brk heap ([heap]) and every private\n"
  "anonymous mapping (unnamed or [anon:<name>]; not [stack]; thread stacks are\n"
  "unnamed anonymous mappings and are included): the memory a malloc can own.\n"
  "allocator is \"spanalloc <segment format version>\" for a process that runs\n"
  "spanalloc (linked or LD_PRELOADed) and published valid statistics, \"none\"\n"
  "otherwise, \"invalid: <reason>\" for a segment that fails validation (its\n"
  "allocator files then answer EIO).\n"
  "The allocator's view exists only for spanalloc processes (ENOENT otherwise).\n"
  "It is spanalloc's statistics segment as last published (a background thread\n"
  "republishes within ~100 ms of a change): age_ms and the age_ms row of\n"
  "memstats say how old the ladder and classes are, the age_ms row of reconcile\n"
  "how old the span table and page states are (spans, reconcile); tables carry\n"
  "no comment lines. The ladder, beside Go's runtime/metrics (and MemStats), jemalloc's\n"
  "mallctl statistics and tcmalloc's properties:\n"
  "  spanalloc              Go runtime/metrics (MemStats)          jemalloc / tcmalloc\n"
  "  sys                    /memory/classes/total (Sys)            stats.mapped+metadata / generic.heap_size+tcmalloc.metadata_bytes\n"
  "  heap_sys               heap/objects+unused+free+released      stats.mapped / generic.heap_size\n"
  "                         (HeapSys)\n"
  "  heap_alloc             /memory/classes/heap/objects           stats.allocated / generic.current_allocated_bytes\n"
  "                         (HeapAlloc)\n"
  "  heap_inuse             heap/objects + heap/unused (HeapInuse) stats.active / heap_size - pageheap_free - pageheap_unmapped\n"
  "  heap_unused            /memory/classes/heap/unused            stats.active - stats.allocated / central+transfer+thread cache free\n"
  "   (heap_inuse-heap_alloc)\n"
  "  heap_unreleased        /memory/classes/heap/free              arenas.<i>.pdirty pages / tcmalloc.pageheap_free_bytes\n"
  "   (heap_idle-heap_released)\n"
  "  heap_idle              heap/free + heap/released (HeapIdle)   pdirty+pmuzzy+retained / pageheap_free+pageheap_unmapped\n"
  "  heap_released          /memory/classes/heap/released          pmuzzy pages + stats.retained / tcmalloc.pageheap_unmapped_bytes\n"
  "                         (HeapReleased)\n"
  "  heap_released_free     the part released with MADV_FREE (Go    arenas.<i>.pmuzzy pages (muzzy = MADV_FREE'd) / -\n"
  "                         before 1.16 or GODEBUG=madvdontneed=0)\n"
  "  heap_released_dontneed the part released with MADV_DONTNEED   stats.retained (purged) / pageheap_unmapped_bytes\n"
  "  heap_objects           /gc/heap/objects (HeapObjects)         small+large nmalloc - ndalloc / -\n"
  "  mallocs, frees         /gc/heap/allocs, /gc/heap/frees        arenas.<i>.{small,large}.nmalloc, .ndalloc / -\n"
  "                         (Mallocs, Frees)\n"  "  total_alloc            /gc/heap/allocs:bytes (TotalAlloc)     - / -\n"
  "  span_sys, span_inuse   /memory/classes/metadata/mspan/free+inuse  part of stats.metadata / part of tcmalloc.metadata_bytes\n"
  "                         (MSpanSys, MSpanInuse)\n"
  "  meta_sys               metadata/mspan/* + metadata/other      stats.metadata / tcmalloc.metadata_bytes\n"
  "  tcache_bytes           inside heap/unused (mcache spans)      arenas.<i>.tcache_bytes / tcmalloc.thread_cache_free_bytes\n"
  "  central_free_bytes     inside heap/unused (mcentral spans)    inside stats.active / tcmalloc.central_cache_free_bytes\n"
  "classes has one row per size class; spans one row per span of the segment's\n"
  "span table (spanalloc lists at most a fixed number of them).\n"
  "reconcile sets the allocator's ledger beside the kernel's, page by page:\n"
  "columns resident (bytes of pages present in RAM, from /proc/<pid>/pagemap bit\n"
  "63) and bytes (virtual size of the category); \"-\" where a column does not\n"
  "apply; pages that only map the kernel's shared zero page are not resident\n"
  "(smaps does not count them either): known by the zero page's frame number to\n"
  "a reader with CAP_SYS_ADMIN; pagemap hides frame numbers from others, to\n"
  "whom they are the present entries neither exclusive (bit 56) nor file pages\n"
  "(bit 61), exact when no page of the arenas' mappings is shared with another\n"
  "process (smaps Shared_Clean and Shared_Dirty 0; after a fork, shared pages\n"
  "and the zero page look alike: both count as resident and identity_diff is\n"
  "minus the zero-page mappings). Every page of the arenas is in exactly\n"
  "one of live_objects, free_slots, idle, released_free, released_dontneed,\n"
  "released_mixed (version 1 segments), unused (never handed to the page heap),\n"
  "unlisted. An in-use small-object span's resident bytes count as live objects\n"
  "up to the objects handed out of it (live, or in a thread cache), the rest as\n"
  "free slots: objects are carved from the start of a span. The in-use pages of\n"
  "spans past the segment's span table (it holds a fixed number of rows) are\n"
  "split the same way, all at once, by the ladder of the same publication\n"
  "(heap_alloc + tcache_bytes less what the listed spans hold); only when the\n"
  "ladder and the table come from different publications (or from a version 1\n"
  "segment, which has no page states: there any page in no listed span) do\n"
  "they stay unlisted. Identity, exact when the\n"
  "process stands still: arenas + neighbours = arena_mappings (the smaps Rss of\n"
  "the mappings holding the arenas; identity_diff shows the difference), and\n"
  "arena_mappings + other_anon_private + anon_shared + file_private +\n"
  "file_shared = rss, the whole smaps Rss of the same read. A released_free line\n"
  "with resident bytes is why RSS stays above what a program uses: released with\n"
  "MADV_FREE, yet resident and in rss (LazyFree) until memory pressure.\n"
  "Access: like smaps (PTRACE_MODE_READ), for every file of heap/; reconcile\n"
  "also needs what pagemap needs (mode 0400). The statistics segment is read\n"
  "once /proc/<pid>/maps opened as the reader proved that right, with the\n"
  "daemon's credentials (its map_files entry needs CAP_SYS_ADMIN, mem\n"
  "PTRACE_MODE_ATTACH).\n";
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
  "  touch (allocate again what was freed), mode free|dontneed, free all, and\n"
  "  reset: back to the start (every object freed, every free page released\n"
  "  with MADV_DONTNEED, also those released with MADV_FREE: rss and\n"
  "  retained_freed return to where they started; mode free).\n"
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
  g_string_append(out, readme_heap);
  if (mv_demo_enabled())
    g_string_append(out, readme_demo);
  return TRUE;
}
