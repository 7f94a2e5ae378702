/* SPDX-License-Identifier: MIT */
/* The /proc parsers: kernel text -> C structs. No FUSE, no GLib allocation
 * inside a parse (callers own every buffer), so every parser can be fed
 * arbitrary bytes by a fuzzer or a unit test. Every size leaves a parser in
 * BYTES, converted from the kernel's kB (1024 bytes) or pages where the kernel
 * prints those; the field comments below name the kernel's unit.
 *
 * A parse fails (FALSE, MV_ERRNO/EIO with a message naming the line) on text
 * that cannot be trusted: a truncated header line, a number that does not
 * parse or overflows. Unknown fields are skipped (the kernel adds fields over
 * time). */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

#include "mv-error.h"

G_BEGIN_DECLS

/* TRUE when bit @index (a MV_*_FIELD_ index) of the bit set @present is set:
 * the one spelling of "the kernel printed this field". */
#define MV_FIELD_PRESENT(present, index) ((((guint64)(present) >> (index)) & 1) != 0)

/* The one way a field index maps to its struct member: a static table of
 * offsetof() generated from the field's X-macro list, read and written with
 * G_STRUCT_MEMBER(guint64, struct, table[index]): the parsers here beside
 * their key tables, the models likewise; node tables keep the offsetof() of
 * a file's member in MvNode.arg. */

/* ---- words and keys ---------------------------------------------------- */

/* Finds @key (@key_len bytes, not NUL-terminated) among @n_keys
 * NUL-terminated @keys, starting the search at *hint (the kernel prints
 * fields in a fixed order, so the next key is usually the one after the
 * last): index or -1. *hint moves past a hit. */
int mv_key_lookup(const char *const *keys, int n_keys, const char *key, gsize key_len, int *hint);

/* TRUE when the comma-separated @list (@len bytes) contains @word (mount
 * options, cgroup controllers). */
gboolean mv_list_contains(const char *list, gsize len, const char *word);

/* ---- reading files from /proc ------------------------------------------ */

/* Reads the whole of @path into @out (replacing its contents) with
 * open/read; the errno of a failure is kept (ENOENT, ESRCH, EACCES...). A
 * file that reads as empty is returned as empty: callers decide what empty
 * means. */
gboolean mv_read_file(const char *path, GString *out, GError **error);

/* openat(@dirfd, @path, @flags) again while a signal interrupts it: the fd,
 * or -1 with errno kept and @error set ("open <path>: ..."). */
int mv_open_at(int dirfd, const char *path, int flags, GError **error);

/* mv_read_file() of @relpath under the directory @dirfd (openat). */
gboolean mv_read_file_at(int dirfd, const char *relpath, GString *out, GError **error);
/* Appends the rest of @fd to @out, read to its end (@path names it in
 * errors). */
gboolean mv_read_fd(int fd, const char *path, GString *out, GError **error);

/* The /proc root: every read of /proc goes through this one directory (an
 * fd, used with openat), "/proc" unless mv_proc_set_root() chose another
 * (a fixture tree in tests; later a container's /proc). Set it before the
 * first read; not thread-safe against reads in flight. Process-global, not
 * in MvContext: the roots belong to the daemon (one daemon serves one
 * /proc; a container's is a second daemon), the context to one request. */
gboolean mv_proc_set_root(const char *dir, GError **error);
int mv_proc_root_fd(void);
const char *mv_proc_root_path(void);

/* The cgroup root, beside the /proc root: a directory fd of the memory
 * controller's cgroup mount (or of a fixture directory standing for it),
 * every cgroup file read under it with openat. Unset (-1) until
 * mv_cgroup_set_root() or the cgroup model's first locate opens the mount
 * /proc's self/mountinfo names (mv_cgroup_root_open_once: the first opener
 * wins). mv_cgroup_set_root(NULL) unsets it. Set it before the first read;
 * not thread-safe against reads in flight. */
gboolean mv_cgroup_set_root(const char *dir, GError **error);
int mv_cgroup_root_fd(void);
gboolean mv_cgroup_root_open_once(const char *dir, int *fd_out, GError **error);

/* "<pid>/<name>" (or "<pid>" when @name is NULL) relative to the /proc
 * root, in @buf: FALSE when it does not fit. */
gboolean mv_proc_pid_path(char *buf, gsize size, pid_t pid, const char *name);

/* mv_read_file_at(root, "<pid>/<name>"). A pid whose process has gone
 * answers ENOENT; the kernel's ESRCH (process exited after open) is kept as
 * ESRCH. */
gboolean mv_proc_read(pid_t pid, const char *name, GString *out, GError **error);

/* ---- /proc/<pid>/smaps and smaps_rollup -------------------------------- */

/* Every per-mapping field of smaps, in the kernel's order: X(member, "Key").
 * All are printed by the kernel in kB and stored here in bytes. */
#define MV_SMAPS_FIELDS(X)                       \
  X(size, "Size")                                \
  X(kernel_page_size, "KernelPageSize")          \
  X(mmu_page_size, "MMUPageSize")                \
  X(rss, "Rss")                                  \
  X(pss, "Pss")                                  \
  X(pss_dirty, "Pss_Dirty")                      \
  X(pss_anon, "Pss_Anon")                        \
  X(pss_file, "Pss_File")                        \
  X(pss_shmem, "Pss_Shmem")                      \
  X(shared_clean, "Shared_Clean")                \
  X(shared_dirty, "Shared_Dirty")                \
  X(private_clean, "Private_Clean")              \
  X(private_dirty, "Private_Dirty")              \
  X(referenced, "Referenced")                    \
  X(anonymous, "Anonymous")                      \
  X(ksm, "KSM")                                  \
  X(lazyfree, "LazyFree")                        \
  X(anon_huge_pages, "AnonHugePages")            \
  X(shmem_pmd_mapped, "ShmemPmdMapped")          \
  X(file_pmd_mapped, "FilePmdMapped")            \
  X(shared_hugetlb, "Shared_Hugetlb")            \
  X(private_hugetlb, "Private_Hugetlb")          \
  X(swap, "Swap")                                \
  X(swap_pss, "SwapPss")                         \
  X(locked, "Locked")

enum {
#define MV_SMAPS_X(member, key) MV_SMAPS_FIELD_##member,
  MV_SMAPS_FIELDS(MV_SMAPS_X)
#undef MV_SMAPS_X
  MV_SMAPS_N_FIELDS
};

/* One mapping's (or the rollup's) values, in bytes. @present has bit
 * (1 << MV_SMAPS_FIELD_x) set for every field the kernel printed. */
typedef struct {
#define MV_SMAPS_X(member, key) guint64 member;
  MV_SMAPS_FIELDS(MV_SMAPS_X)
#undef MV_SMAPS_X
  guint64 present;
} MvSmapsValues;

/* Adds every field of @v to @acc, and its present bits: the accumulator of
 * smaps values (a mapping row, the total), as the kernel's mem_size_stats.
 * Generated from MV_SMAPS_FIELDS, so a new field is one line there. */
static inline void
mv_smaps_values_add(MvSmapsValues *acc, const MvSmapsValues *v)
{
#define MV_SMAPS_X(member, key) acc->member += v->member;
  MV_SMAPS_FIELDS(MV_SMAPS_X)
#undef MV_SMAPS_X
  acc->present |= v->present;
}

/* One mapping: the header line of a smaps block plus its values. */
typedef struct {
  guint64 start, end;    /* virtual addresses, end exclusive */
  char perms[5];         /* "rw-p", NUL-terminated; perms[3] is 'p' or 's' */
  guint64 offset;        /* file offset in bytes */
  guint32 dev_major, dev_minor;
  guint64 inode;
  /* The path as the kernel printed it (it escapes '\n' as "\012"), without
   * the column padding; points into the parsed text, NOT NUL-terminated; an
   * empty string for an unnamed anonymous mapping. Kept verbatim: "[heap]",
   * "[anon:name]", "/dev/zero (deleted)", "/a path with spaces". */
  const char *path;
  gsize path_len;
  MvSmapsValues v;
} MvSmapsEntry;

/* Called once per complete mapping; return FALSE to stop early (not an
 * error). */
typedef gboolean (*MvSmapsFunc)(const MvSmapsEntry *entry, gpointer user_data);

/* Parses the text of /proc/<pid>/smaps. A block cut off after its header
 * (the text ends mid-mapping) is still reported if at least its header line
 * is whole; a header line that does not parse fails the parse. */
gboolean mv_smaps_parse(const char *text, gsize len, MvSmapsFunc func, gpointer user_data,
                        GError **error);

/* Reads and parses the smaps file at @path (relative: under the /proc
 * root) as a stream: chunk by chunk,
 * each chunk cut just before its last mapping header, so only a few chunks
 * (64 KiB each) and one mapping's block are held at a time whatever the
 * size of the address space. A text longer than one chunk is read on a
 * second thread (MvReadAhead) while this one parses. *@bytes_read: the
 * length of the whole text. Line numbers in errors count from the start of
 * the chunk. */
gboolean mv_smaps_parse_file(const char *path, MvSmapsFunc func, gpointer user_data,
                             gsize *bytes_read, GError **error);
/* The same, calling @on_large(@large_data) once, on this thread, when the
 * text turns out longer than one chunk (a large address space: the moment
 * to start other reads of the process on other threads). */
gboolean mv_smaps_parse_file_full(const char *path, MvSmapsFunc func, gpointer user_data,
                                  void (*on_large)(gpointer large_data), gpointer large_data,
                                  gsize *bytes_read, GError **error);

/* A file read ahead on a second thread, chunk after chunk, while the
 * caller works on the chunk before: for /proc files whose read(2) is
 * expensive (smaps: the kernel walks and formats every mapping). Each chunk
 * is filled by as many reads as it takes (a /proc seq file gives about a
 * page per read), so the caller is woken once per chunk. At most four
 * chunks wait at a time (memory: 4 x @chunk_size per reader). @fd stays
 * the caller's (open it, with the reader's credentials: /proc checks
 * access at open; close it after mv_read_ahead_stop). NULL when no thread
 * can be started: read directly. */
typedef struct MvReadAhead MvReadAhead;
MvReadAhead *mv_read_ahead_start(int fd, gsize chunk_size);
/* The next chunk into @buf (@size >= the chunk size), like read(2): its
 * length (the chunk size but for the last), 0 at the end, -1 with errno set
 * when the read failed. */
gssize mv_read_ahead_next(MvReadAhead *ra, char *buf, gsize size);
/* Stops the thread (waits for its read in progress) and frees @ra. */
void mv_read_ahead_stop(MvReadAhead *ra);

/* A /proc/<pid>/<name> read started now and collected later: opened by
 * mv_proc_read_begin (with this thread's credentials: /proc decides at
 * open) and read on a second thread meanwhile; mv_proc_read_finish gives
 * the whole text or the open's or read's errno, as mv_proc_read would, and
 * frees @pending (so does mv_proc_read_discard). */
typedef struct MvProcPending MvProcPending;
MvProcPending *mv_proc_read_begin(pid_t pid, const char *name);
gboolean mv_proc_read_finish(MvProcPending *pending, GString *out, GError **error);
void mv_proc_read_discard(MvProcPending *pending);

/* Parses the text of /proc/<pid>/smaps_rollup into @out. Empty text (a
 * process without an address space) fails with MV_ERRNO/ESRCH. */
gboolean mv_smaps_rollup_parse(const char *text, gsize len, MvSmapsValues *out, GError **error);

/* ---- /proc/<pid>/status ------------------------------------------------ */

/* The kB-valued lines of status: X(member, "Key"), stored in bytes. */
#define MV_STATUS_KB_FIELDS(X) \
  X(vm_peak, "VmPeak")         \
  X(vm_size, "VmSize")         \
  X(vm_lck, "VmLck")           \
  X(vm_pin, "VmPin")           \
  X(vm_hwm, "VmHWM")           \
  X(vm_rss, "VmRSS")           \
  X(rss_anon, "RssAnon")       \
  X(rss_file, "RssFile")       \
  X(rss_shmem, "RssShmem")     \
  X(vm_data, "VmData")         \
  X(vm_stk, "VmStk")           \
  X(vm_exe, "VmExe")           \
  X(vm_lib, "VmLib")           \
  X(vm_pte, "VmPTE")           \
  X(vm_swap, "VmSwap")           \
  X(hugetlb_pages, "HugetlbPages") /* hugetlbfs pages mapped; in no other field */

typedef struct {
  char name[64];       /* comm, unescaped from status' "\\n"/"\\\\" escapes */
  char state;          /* 'R', 'S', 'Z', ... */
  pid_t tgid, pid, ppid;
  uid_t uid[4];        /* real, effective, saved, filesystem */
  gid_t gid[4];        /* real, effective, saved, filesystem */
  guint64 cap_prm;     /* CapPrm bitmask */
  guint64 cap_eff;     /* CapEff bitmask */
  gboolean has_mm;     /* a VmSize line was present: false for kernel threads and zombies */
#define MV_STATUS_X(member, key) guint64 member;
  MV_STATUS_KB_FIELDS(MV_STATUS_X)
#undef MV_STATUS_X
} MvStatus;

/* Parses /proc/<pid>/status. Name, Uid and Gid lines are required. */
gboolean mv_status_parse(const char *text, gsize len, MvStatus *out, GError **error);

/* The Groups line of /proc/<pid>/status: up to @max_groups supplementary
 * groups into @groups, their number in *n_groups. */
gboolean mv_status_parse_groups(const char *text, gsize len, gid_t *groups, gsize max_groups,
                                gsize *n_groups, GError **error);

/* ---- how /proc is mounted ---------------------------------------------- */

/* hidepid= of a proc mount (the kernel's enum proc_hidepid). */
typedef enum {
  MV_HIDEPID_OFF = 0,
  MV_HIDEPID_NO_ACCESS = 1,      /* noaccess: others' <pid>/ contents refused */
  MV_HIDEPID_INVISIBLE = 2,      /* invisible: others' <pid>/ not even listed */
  MV_HIDEPID_NOT_PTRACEABLE = 4, /* ptraceable: only what the reader may ptrace-read */
} MvHidepid;

typedef struct {
  MvHidepid hidepid;
  gboolean has_gid; /* gid=: members of this group see everything */
  gid_t gid;
} MvProcMountOptions;

/* Finds the proc mount at @mount_point ("/proc") in the text of
 * /proc/self/mountinfo (the last one, if stacked) and reads its options;
 * ENOENT when there is none. */
gboolean mv_mountinfo_parse_proc_options(const char *text, gsize len, const char *mount_point,
                                         MvProcMountOptions *out, GError **error);

/* ---- /proc/meminfo ----------------------------------------------------- */

/* The kB-valued lines of meminfo that memviewfs uses (bytes here). */
#define MV_MEMINFO_FIELDS(X)                   \
  X(mem_total, "MemTotal")                     \
  X(mem_free, "MemFree")                       \
  X(mem_available, "MemAvailable")             \
  X(buffers, "Buffers")                        \
  X(cached, "Cached")                          \
  X(swap_cached, "SwapCached")                 \
  X(active, "Active")                          \
  X(inactive, "Inactive")                      \
  X(active_anon, "Active(anon)")               \
  X(inactive_anon, "Inactive(anon)")           \
  X(active_file, "Active(file)")               \
  X(inactive_file, "Inactive(file)")           \
  X(unevictable, "Unevictable")                \
  X(mlocked, "Mlocked")                        \
  X(swap_total, "SwapTotal")                   \
  X(swap_free, "SwapFree")                     \
  X(dirty, "Dirty")                            \
  X(writeback, "Writeback")                    \
  X(anon_pages, "AnonPages")                   \
  X(mapped, "Mapped")                          \
  X(shmem, "Shmem")                            \
  X(kreclaimable, "KReclaimable")              \
  X(slab, "Slab")                              \
  X(sreclaimable, "SReclaimable")              \
  X(sunreclaim, "SUnreclaim")                  \
  X(kernel_stack, "KernelStack")               \
  X(page_tables, "PageTables")                 \
  X(commit_limit, "CommitLimit")               \
  X(committed_as, "Committed_AS")              \
  X(vmalloc_used, "VmallocUsed")               \
  X(anon_huge_pages, "AnonHugePages")          \
  X(shmem_huge_pages, "ShmemHugePages")        \
  X(hugetlb, "Hugetlb")

enum {
#define MV_MEMINFO_X(member, key) MV_MEMINFO_FIELD_##member,
  MV_MEMINFO_FIELDS(MV_MEMINFO_X)
#undef MV_MEMINFO_X
  MV_MEMINFO_N_FIELDS
};

typedef struct {
#define MV_MEMINFO_X(member, key) guint64 member;
  MV_MEMINFO_FIELDS(MV_MEMINFO_X)
#undef MV_MEMINFO_X
  guint64 present; /* bit (1 << MV_MEMINFO_FIELD_x) per line seen */
} MvMeminfo;

/* MemTotal is required; other lines may be missing on older kernels. */
gboolean mv_meminfo_parse(const char *text, gsize len, MvMeminfo *out, GError **error);

/* Reads "meminfo" under the /proc root and parses it: the one read of
 * meminfo (system/, cgroup/, the cgroup model). */
gboolean mv_meminfo_read(MvMeminfo *out, GError **error);

/* ---- /proc/zoneinfo ---------------------------------------------------- */

#define MV_ZONEINFO_MAX_ZONES 64
#define MV_ZONEINFO_MAX_PROTECTION 8

/* One zone. Page counts are in PAGES as the kernel prints them (the model
 * multiplies by the page size): keeping pages here keeps the kernel's
 * integer arithmetic (min(x/2, low) on pages) reproducible. */
typedef struct {
  int node;
  char name[16];           /* "DMA", "DMA32", "Normal", "Movable", "Device" */
  guint64 pages_free;      /* "pages free" */
  guint64 min, low, high;  /* watermarks, pages (include any watermark boost) */
  guint64 boost;           /* watermark_boost, pages (0 when the kernel prints no
                            * "boost" line); min/low/high already include it */
  guint64 spanned, present, managed;
  guint64 protection[MV_ZONEINFO_MAX_PROTECTION]; /* lowmem_reserve[], pages */
  int n_protection;
} MvZone;

typedef struct {
  MvZone zones[MV_ZONEINFO_MAX_ZONES];
  int n_zones;
} MvZoneinfo;

/* Zones with more than MV_ZONEINFO_MAX_ZONES fail with EIO (never silently
 * dropped: a dropped zone would make every sum wrong). */
gboolean mv_zoneinfo_parse(const char *text, gsize len, MvZoneinfo *out, GError **error);

/* ---- cgroups ----------------------------------------------------------- */

/* From /proc/<pid>/cgroup: the memory controller's path. On cgroup v1 the
 * line whose controller list contains "memory"; on v2 the "0::" line.
 * @path_out gets a NUL-terminated copy (truncation is an error). */
typedef enum { MV_CGROUP_V1 = 1, MV_CGROUP_V2 = 2 } MvCgroupVersion;

gboolean mv_proc_cgroup_parse(const char *text, gsize len, MvCgroupVersion *version_out,
                              char *path_out, gsize path_size, GError **error);

/* A flat-keyed file (memory.stat, memory.events, v1 memory.stat): calls
 * @func for every "key value" line, value as the kernel printed it (bytes
 * for sizes in memory.stat on both versions). */
typedef gboolean (*MvKeyValueFunc)(const char *key, gsize key_len, guint64 value,
                                   gpointer user_data);
gboolean mv_keyvalue_parse(const char *text, gsize len, MvKeyValueFunc func, gpointer user_data,
                           GError **error);

/* A single-value cgroup file: a decimal integer, or "max" (v2) which sets
 * *is_max. v1's "no limit" (a huge page-aligned number such as
 * 9223372036854771712) is reported as a number: the model decides. */
gboolean mv_single_value_parse(const char *text, gsize len, guint64 *value, gboolean *is_max,
                               GError **error);

/* cgroup.procs / tasks: one decimal pid per line; @func per pid. */
typedef gboolean (*MvPidFunc)(pid_t pid, gpointer user_data);
gboolean mv_pid_list_parse(const char *text, gsize len, MvPidFunc func, gpointer user_data,
                           GError **error);

/* ---- /proc/<pid>/mountinfo ----------------------------------------------- */

/* One line of mountinfo:
 *   "36 35 98:0 /root /mount/point rw,noatime master:1 - fstype source super,options"
 * The strings point into the text (NOT NUL-terminated) and keep the kernel's
 * octal escapes ("\040" for a space, "\011" tab, "\012" newline, "\134"
 * backslash): see mv_mountinfo_unescape(). */
typedef struct {
  guint64 mount_id, parent_id;
  guint32 dev_major, dev_minor;
  const char *root;          /* the path inside the filesystem that is mounted */
  gsize root_len;
  const char *mount_point;   /* where, relative to the reader's root */
  gsize mount_point_len;
  const char *fstype;        /* "cgroup", "cgroup2", "ext4"... */
  gsize fstype_len;
  const char *super_options; /* "rw,memory" for a v1 memory hierarchy */
  gsize super_options_len;
} MvMountinfoEntry;

typedef gboolean (*MvMountinfoFunc)(const MvMountinfoEntry *entry, gpointer user_data);

/* Calls @func for every line (FALSE from @func stops, not an error). A line
 * without the "-" separator or with a bad number fails with EIO. */
gboolean mv_mountinfo_parse(const char *text, gsize len, MvMountinfoFunc func, gpointer user_data,
                            GError **error);

/* Decodes the octal escapes of a mountinfo path into @out (NUL-terminated).
 * FALSE when it does not fit in @out_size or decodes to a NUL byte. */
gboolean mv_mountinfo_unescape(const char *path, gsize len, char *out, gsize out_size);

G_END_DECLS
