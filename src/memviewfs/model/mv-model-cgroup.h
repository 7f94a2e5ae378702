/* SPDX-License-Identifier: MIT */
/* The memory cgroup of a process, as seen from the process that reads it
 * (the daemon): cgroup v1 (the "memory" hierarchy) or v2 (the unified one).
 * All sizes are BYTES. A file that is missing, unreadable or malformed makes
 * its value ABSENT (a bit of `present` is clear): never a made-up number.
 *
 * Every file is read through the I/O seam of proc/ (mv-proc.h): <pid>/cgroup,
 * self/mountinfo and meminfo under the /proc root, the cgroup files under
 * the cgroup root (the memory hierarchy's mount, opened once), so that tests
 * can point the model at fixture trees (mv_proc_set_root,
 * mv_cgroup_set_root). */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "proc/mv-proc.h"

G_BEGIN_DECLS

/* Where a pid's memory cgroup is, from /proc/<pid>/cgroup and the
 * reader's /proc/self/mountinfo. */
typedef struct {
  MvCgroupVersion version;
  char *cgroup_path; /* as /proc/<pid>/cgroup names it: "/user.slice/app.service" */
  char *mount_root;  /* the hierarchy path mounted (mountinfo field 4): "/" on a host,
                      * the container's own cgroup in a container without cgroupns */
  char *mount_point; /* where it is mounted: "/sys/fs/cgroup/memory", "/sys/fs/cgroup" */
  char *dir;         /* mount_point + cgroup_path minus mount_root: where it is seen */
  char *rel_dir;     /* dir relative to the mount (the cgroup root), "." for its top:
                      * where it is read */
} MvCgroupLocation;

void mv_cgroup_location_clear(MvCgroupLocation *location);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MvCgroupLocation, mv_cgroup_location_clear)

/* Resolves @pid's memory cgroup (pid <= 0: "self") in the mount of its
 * hierarchy that the cgroup root stands for: of the mounts self/mountinfo
 * lists, the most general (shortest mounted root), so that one directory fd
 * serves every cgroup visible here. ENOENT when the pid has no memory
 * hierarchy line, when that hierarchy is not mounted here, or when the
 * cgroup lies outside the mount (a cgroup above the container's root); the
 * errno of reading /proc/<pid>/cgroup otherwise. */
gboolean mv_cgroup_locate(pid_t pid, MvCgroupLocation *out, GError **error);

/* The values of cgroup/: X(member, "name", "one-line description"). Where
 * each comes from:
 *   limit        v2 memory.max, v1 memory.limit_in_bytes: the SMALLEST along
 *                the path from the cgroup up to the mount point (the top of
 *                the hierarchy visible here). No limit anywhere: limit_is_max
 *                and limit = G_MAXUINT64 (cgroup/limit renders MemTotal, limit_raw "max"). v1's "unlimited" is
 *                PAGE_COUNTER_MAX pages (9223372036854771712 with 4 kB
 *                pages): any v1 value >= 2^62 counts as no limit.
 *   usage        v2 memory.current, v1 memory.usage_in_bytes
 *   anon         v2 memory.stat anon, v1 memory.stat total_rss
 *   file         v2 memory.stat file, v1 total_cache (both include shmem)
 *   shmem        v2 memory.stat shmem, v1 total_shmem
 *   kernel       v2 memory.stat kernel (Linux >= 5.18), v1 memory.kmem.usage_in_bytes
 *   swap         v2 memory.swap.current, v1 memory.memsw.usage_in_bytes -
 *                memory.usage_in_bytes (0 when the two reads cross)
 *   reclaimable  v2 inactive_file + active_file + slab_reclaimable;
 *                v1 total_inactive_file + total_active_file (v1's memory.stat
 *                has no reclaimable-slab counter)
 *   available    limit - usage + reclaimable, capped at limit, at least 0.
 *                With no limit: the system's MemAvailable (/proc/meminfo):
 *                what the cgroup can still get is what the machine can give
 *                (available_from_system is then TRUE).
 *   peak         v2 memory.peak (Linux >= 5.19), v1 memory.max_usage_in_bytes:
 *                the highest usage since the cgroup was made (or reset)
 * v1 uses the total_* (hierarchical) counters of memory.stat so that they
 * cover the same pages as usage_in_bytes, which includes child cgroups; a
 * parent's limit is taken to bind its children, as it does since Linux 5.11
 * made memory.use_hierarchy always 1.
 * Paths in /proc/<pid>/cgroup and mountinfo roots are both relative to the
 * READER's cgroup namespace, so a daemon in a container resolves them
 * consistently. */
#define MV_CGROUP_FIELDS(X)                                                                       \
  X(limit, "limit", "memory limit in effect: the smallest on the way up the hierarchy (no limit: cgroup/limit is MemTotal, limit_raw max)")  \
  X(usage, "usage", "memory charged to the cgroup (memory.current / usage_in_bytes)")            \
  X(anon, "anon", "anonymous memory: heaps, stacks, private mappings")                           \
  X(file, "file", "page cache charged to the cgroup, including shmem")                           \
  X(shmem, "shmem", "tmpfs and shared memory")                                                   \
  X(kernel, "kernel", "kernel memory charged to the cgroup (slab, stacks, page tables)")         \
  X(swap, "swap", "swap used by the cgroup")                                                     \
  X(reclaimable, "reclaimable", "file LRU (+ reclaimable slab on v2): can be reclaimed")        \
  X(available, "available", "limit - usage + reclaimable, capped at limit; MemAvailable if no limit") \
  X(peak, "peak", "the highest usage the cgroup has had (memory.peak / max_usage_in_bytes)")

enum {
#define MV_CGROUP_X(member, name, description) MV_CGROUP_FIELD_##member,
  MV_CGROUP_FIELDS(MV_CGROUP_X)
#undef MV_CGROUP_X
  MV_CGROUP_N_FIELDS
};

typedef struct {
  MvCgroupLocation location;
#define MV_CGROUP_X(member, name, description) guint64 member;
  MV_CGROUP_FIELDS(MV_CGROUP_X)
#undef MV_CGROUP_X
  guint64 present;                /* bit (1 << MV_CGROUP_FIELD_x) per value read */
  gboolean limit_is_max;          /* no limit up the path (limit = G_MAXUINT64) */
  gboolean available_from_system; /* available is the system's MemAvailable */
  char *pressure;                 /* memory.pressure text (v2, PSI), NULL when absent */
  char *events;                   /* `name count` lines: v2 memory.events as the kernel
                                   * prints it (low high max oom oom_kill ...); v1
                                   * "failcnt N" then memory.oom_control
                                   * (oom_kill_disable under_oom oom_kill); NULL when
                                   * absent */
  GArray *procs;                  /* of pid_t from cgroup.procs, NULL when absent */
} MvCgroup;

MvCgroup *mv_cgroup_new(void);
void mv_cgroup_free(MvCgroup *cgroup);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MvCgroup, mv_cgroup_free)

/* TRUE when value @field_index was read. */
static inline gboolean
mv_cgroup_has(const MvCgroup *cgroup, int field_index)
{
  return MV_FIELD_PRESENT(cgroup->present, field_index);
}

/* offsetof(MvCgroup, member) by MV_CGROUP_FIELD_ index. */
extern const gsize mv_cgroup_value_offsets[MV_CGROUP_N_FIELDS];

/* Value @field_index (meaningful when mv_cgroup_has()). */
static inline guint64
mv_cgroup_value(const MvCgroup *cgroup, int field_index)
{
  return G_STRUCT_MEMBER(guint64, cgroup, mv_cgroup_value_offsets[field_index]);
}

/* Locates @pid's memory cgroup and reads every value (@out must be fresh
 * from mv_cgroup_new()). Fails only when the cgroup cannot be located (see
 * mv_cgroup_locate); a missing value file just leaves its value absent. */
gboolean mv_cgroup_read(MvCgroup *out, pid_t pid, GError **error);

/* Reads every value of the cgroup @out->location names (set by the caller:
 * version, mount_point, rel_dir; dir and cgroup_path for display) under the
 * cgroup root; opens the root at mount_point when none is set. */
void mv_cgroup_read_values(MvCgroup *out);

/* Every memory cgroup of the hierarchy the daemon's own memory cgroup is
 * in, as far as it is mounted here (from the mount point down, parents
 * before children, siblings by name): a GPtrArray of MvCgroup (owning),
 * each read with mv_cgroup_read_values(). cgroup_path names each as
 * /proc/<pid>/cgroup would. Fails as mv_cgroup_locate() does. */
GPtrArray *mv_cgroup_read_all(GError **error);

/* Calls @func for every cgroup mv_cgroup_read_all() returns, in its order.
 * Values a cgroup lacks (a v2 cgroup where the memory controller is not
 * enabled) are absent. @func must not keep @cgroup. ENOENT as
 * mv_cgroup_locate() when the daemon has no memory cgroup. */
typedef void (*MvCgroupFunc)(const MvCgroup *cgroup, gpointer user_data);
gboolean mv_cgroup_foreach(MvCgroupFunc func, gpointer user_data, GError **error);

G_END_DECLS
