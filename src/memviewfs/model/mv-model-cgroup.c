/* SPDX-License-Identifier: MIT */
/* The memory cgroup model (see mv-model-cgroup.h). */
#include "mv-model-cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes (LONG_MAX rounded
 * down to a page): anything this large is no limit on any real machine. */
#define MV_CGROUP_V1_UNLIMITED (G_GUINT64_CONSTANT(1) << 62)

#define SET(cg, field, v)                                       \
  do {                                                          \
    (cg)->field = (v);                                          \
    (cg)->present |= G_GUINT64_CONSTANT(1) << MV_CGROUP_FIELD_##field; \
  } while (0)

const gsize mv_cgroup_value_offsets[MV_CGROUP_N_FIELDS] = {
#define MV_CGROUP_X(member, name, description) offsetof(MvCgroup, member),
  MV_CGROUP_FIELDS(MV_CGROUP_X)
#undef MV_CGROUP_X
};

void
mv_cgroup_location_clear(MvCgroupLocation *location)
{
  g_clear_pointer(&location->cgroup_path, g_free);
  g_clear_pointer(&location->mount_root, g_free);
  g_clear_pointer(&location->mount_point, g_free);
  g_clear_pointer(&location->dir, g_free);
  g_clear_pointer(&location->rel_dir, g_free);
  location->version = 0;
}

/* TRUE when @prefix is @path or a directory above it ("/" is above all). */
static gboolean
path_is_within(const char *path, const char *prefix)
{
  gsize n = strlen(prefix);

  if (strcmp(prefix, "/") == 0)
    return path[0] == '/';
  if (n > 0 && prefix[n - 1] == '/')
    n--;
  return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The mount the cgroup root stands for: of the mounts of the memory
 * hierarchy, the most general one (the shortest mounted root; on a tie the
 * first, as the kernel lists them), so that one directory fd serves every
 * cgroup visible here. */
typedef struct {
  MvCgroupVersion version;
  char *best_root;
  char *best_mount_point;
} MountSearch;

static gboolean
consider_mount(const MvMountinfoEntry *e, gpointer user_data)
{
  MountSearch *s = user_data;
  char root[4096], mount_point[4096];

  if (s->version == MV_CGROUP_V2) {
    if (!(e->fstype_len == 7 && memcmp(e->fstype, "cgroup2", 7) == 0))
      return TRUE;
  } else {
    if (!(e->fstype_len == 6 && memcmp(e->fstype, "cgroup", 6) == 0) ||
        !mv_list_contains(e->super_options, e->super_options_len, "memory"))
      return TRUE;
  }
  if (!mv_mountinfo_unescape(e->root, e->root_len, root, sizeof root) ||
      !mv_mountinfo_unescape(e->mount_point, e->mount_point_len, mount_point, sizeof mount_point))
    return TRUE;
  if (s->best_root == NULL || strlen(root) < strlen(s->best_root)) {
    g_free(s->best_root);
    g_free(s->best_mount_point);
    s->best_root = g_strdup(root);
    s->best_mount_point = g_strdup(mount_point);
  }
  return TRUE;
}

/* @location's dir and cgroup_path from its mount and @rel_dir (relative to
 * the mount: "." for its top, else "a/b"). */
static void
set_location_paths(MvCgroupLocation *location, const char *rel_dir)
{
  gboolean top = strcmp(rel_dir, ".") == 0;

  location->rel_dir = g_strdup(rel_dir);
  location->dir = top ? g_strdup(location->mount_point)
                      : g_build_filename(location->mount_point, rel_dir, NULL);
  if (top)
    location->cgroup_path = g_strdup(location->mount_root);
  else
    location->cgroup_path = g_build_filename(location->mount_root, rel_dir, NULL);
}

gboolean
mv_cgroup_locate(pid_t pid, MvCgroupLocation *out, GError **error)
{
  g_autoptr(GString) text = g_string_new(NULL);
  char cgroup_path[4096];
  MvCgroupVersion version;
  gboolean ok;

  memset(out, 0, sizeof *out);
  ok = pid > 0 ? mv_proc_read(pid, "cgroup", text, error)
               : mv_read_file_at(mv_proc_root_fd(), "self/cgroup", text, error);
  if (!ok ||
      !mv_proc_cgroup_parse(text->str, text->len, &version, cgroup_path, sizeof cgroup_path, error))
    return FALSE;
  if (!mv_read_file_at(mv_proc_root_fd(), "self/mountinfo", text, error))
    return FALSE;

  MountSearch search = { version, NULL, NULL };
  if (!mv_mountinfo_parse(text->str, text->len, consider_mount, &search, error)) {
    g_free(search.best_root);
    g_free(search.best_mount_point);
    return FALSE;
  }
  out->version = version;
  out->mount_root = search.best_root;
  out->mount_point = search.best_mount_point;
  if (out->mount_root == NULL) {
    mv_cgroup_location_clear(out);
    return mv_set_errno(error, ENOENT, "memory cgroup %s (v%d): its hierarchy is not mounted here",
                        cgroup_path, (int)version);
  }
  if (!path_is_within(cgroup_path, out->mount_root)) {
    mv_set_errno(error, ENOENT, "memory cgroup %s (v%d): outside the mount of its hierarchy (%s)",
                 cgroup_path, (int)version, out->mount_root);
    mv_cgroup_location_clear(out);
    return FALSE;
  }

  const char *rel = cgroup_path;
  if (strcmp(out->mount_root, "/") != 0)
    rel += strlen(out->mount_root);
  while (rel[0] == '/')
    rel++;
  set_location_paths(out, rel[0] == '\0' ? "." : rel);
  /* as /proc/<pid>/cgroup names it, not rebuilt from the mount */
  g_free(out->cgroup_path);
  out->cgroup_path = g_strdup(cgroup_path);
  return TRUE;
}

/* The cgroup root's fd: the one set, or else @location's mount, opened once
 * (the first locate's). -1 when it cannot be opened: every value absent. */
static int
cgroup_root_fd(const MvCgroupLocation *location)
{
  int fd = mv_cgroup_root_fd();

  if (fd < 0 && !mv_cgroup_root_open_once(location->mount_point, &fd, NULL))
    return -1;
  return fd;
}

MvCgroup *
mv_cgroup_new(void)
{
  return g_new0(MvCgroup, 1);
}

void
mv_cgroup_free(MvCgroup *cgroup)
{
  if (cgroup == NULL)
    return;
  mv_cgroup_location_clear(&cgroup->location);
  g_free(cgroup->pressure);
  g_free(cgroup->events);
  if (cgroup->procs != NULL)
    g_array_unref(cgroup->procs);
  g_free(cgroup);
}

/* <dir>/<name> under the cgroup root @root_fd (@dir relative to it) into
 * @text; FALSE (no error: the value is absent) when it cannot be read. */
static gboolean
read_cgroup_file(int root_fd, const char *dir, const char *name, GString *text)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  return mv_read_file_at(root_fd, path, text, NULL);
}

static gboolean
read_single(int root_fd, const char *dir, const char *name, guint64 *value, gboolean *is_max)
{
  g_autoptr(GString) text = g_string_new(NULL);
  return read_cgroup_file(root_fd, dir, name, text) &&
         mv_single_value_parse(text->str, text->len, value, is_max, NULL);
}

/* The smallest limit from the cgroup up to the top of the mount. */
static void
read_effective_limit(MvCgroup *cg, int root)
{
  const MvCgroupLocation *loc = &cg->location;
  const char *file = loc->version == MV_CGROUP_V2 ? "memory.max" : "memory.limit_in_bytes";
  g_autofree char *level = g_strdup(loc->rel_dir);
  guint64 smallest = G_MAXUINT64;
  gboolean any_finite = FALSE;

  for (;;) {
    gboolean is_top = strcmp(level, ".") == 0;
    guint64 value;
    gboolean is_max;
    if (read_single(root, level, file, &value, &is_max)) {
      if (loc->version == MV_CGROUP_V1 && value >= MV_CGROUP_V1_UNLIMITED)
        is_max = TRUE;
      if (!is_max) {
        smallest = MIN(smallest, value);
        any_finite = TRUE;
      }
    } else if (!(is_top && loc->version == MV_CGROUP_V2)) {
      /* v2's root cgroup has no memory.max; any other level must have its
       * limit file, or the limit in effect is unknown */
      return;
    }
    if (is_top)
      break;
    char *slash = strrchr(level, '/');
    if (slash != NULL) {
      *slash = '\0';
    } else {
      g_free(level);
      level = g_strdup(".");
    }
  }
  cg->limit_is_max = !any_finite;
  SET(cg, limit, smallest);
}

typedef struct {
  const char *const *keys;
  int n_keys;
  int hint;
  guint64 *values;
  guint64 found; /* bit per key */
} StatPick;

static gboolean
pick_stat(const char *key, gsize key_len, guint64 value, gpointer user_data)
{
  StatPick *p = user_data;
  int i = mv_key_lookup(p->keys, p->n_keys, key, key_len, &p->hint);

  if (i >= 0) {
    p->values[i] = value;
    p->found |= G_GUINT64_CONSTANT(1) << i;
  }
  return TRUE;
}

#define FOUND(pick, i) MV_FIELD_PRESENT((pick).found, (i))

static void
read_stat(MvCgroup *cg, int root)
{
  /* the same positions on both versions */
  static const char *const v2_keys[] = { "anon", "file", "shmem", "kernel", "inactive_file",
                                         "active_file", "slab_reclaimable", NULL };
  static const char *const v1_keys[] = { "total_rss", "total_cache", "total_shmem", "",
                                         "total_inactive_file", "total_active_file", "", NULL };
  enum { ANON, FILE_, SHMEM, KERNEL, INACTIVE_FILE, ACTIVE_FILE, SLAB_RECLAIMABLE };
  gboolean v2 = cg->location.version == MV_CGROUP_V2;
  guint64 values[7] = { 0 };
  StatPick pick = { v2 ? v2_keys : v1_keys, G_N_ELEMENTS(v2_keys) - 1, 0, values, 0 };

  G_STATIC_ASSERT(G_N_ELEMENTS(v1_keys) == G_N_ELEMENTS(v2_keys));
  g_autoptr(GString) text = g_string_new(NULL);

  if (!read_cgroup_file(root, cg->location.rel_dir, "memory.stat", text) ||
      !mv_keyvalue_parse(text->str, text->len, pick_stat, &pick, NULL))
    return;
  if (FOUND(pick, ANON))
    SET(cg, anon, values[ANON]);
  if (FOUND(pick, FILE_))
    SET(cg, file, values[FILE_]);
  if (FOUND(pick, SHMEM))
    SET(cg, shmem, values[SHMEM]);
  if (v2 && FOUND(pick, KERNEL))
    SET(cg, kernel, values[KERNEL]);
  if (FOUND(pick, INACTIVE_FILE) && FOUND(pick, ACTIVE_FILE) &&
      (!v2 || FOUND(pick, SLAB_RECLAIMABLE)))
    SET(cg, reclaimable, values[INACTIVE_FILE] + values[ACTIVE_FILE] +
                             (v2 ? values[SLAB_RECLAIMABLE] : 0));
}

static gboolean
add_pid(pid_t pid, gpointer user_data)
{
  g_array_append_val((GArray *)user_data, pid);
  return TRUE;
}

static void
read_available(MvCgroup *cg)
{
  if (!mv_cgroup_has(cg, MV_CGROUP_FIELD_limit))
    return;
  if (cg->limit_is_max) {
    MvMeminfo meminfo;
    if (mv_meminfo_read(&meminfo, NULL) &&
        MV_FIELD_PRESENT(meminfo.present, MV_MEMINFO_FIELD_mem_available)) {
      SET(cg, available, meminfo.mem_available);
      cg->available_from_system = TRUE;
    }
    return;
  }
  if (!mv_cgroup_has(cg, MV_CGROUP_FIELD_usage) || !mv_cgroup_has(cg, MV_CGROUP_FIELD_reclaimable))
    return;
  guint64 room = cg->limit > G_MAXUINT64 - cg->reclaimable ? G_MAXUINT64 : cg->limit + cg->reclaimable;
  guint64 available = room > cg->usage ? room - cg->usage : 0;
  SET(cg, available, MIN(available, cg->limit));
}

/* Checks that an events file is `key value` lines (kept as text). */
static gboolean
accept_any(const char *key, gsize key_len, guint64 value, gpointer user_data)
{
  return TRUE;
}

static void
read_events(MvCgroup *cg, int root)
{
  const char *dir = cg->location.rel_dir;
  g_autoptr(GString) text = g_string_new(NULL);
  guint64 value;
  gboolean is_max;

  if (cg->location.version == MV_CGROUP_V2) {
    if (read_cgroup_file(root, dir, "memory.events", text) &&
        mv_keyvalue_parse(text->str, text->len, accept_any, NULL, NULL))
      cg->events = g_strndup(text->str, text->len);
    return;
  }
  if (!read_single(root, dir, "memory.failcnt", &value, &is_max) || is_max ||
      !read_cgroup_file(root, dir, "memory.oom_control", text) ||
      !mv_keyvalue_parse(text->str, text->len, accept_any, NULL, NULL))
    return;
  cg->events = g_strdup_printf("failcnt %" G_GUINT64_FORMAT "\n%s", value, text->str);
}

gboolean
mv_cgroup_read(MvCgroup *cg, pid_t pid, GError **error)
{
  if (!mv_cgroup_locate(pid, &cg->location, error))
    return FALSE;
  mv_cgroup_read_values(cg);
  return TRUE;
}

void
mv_cgroup_read_values(MvCgroup *cg)
{
  const char *dir = cg->location.rel_dir;
  int root = cgroup_root_fd(&cg->location);
  gboolean v2 = cg->location.version == MV_CGROUP_V2;
  guint64 value, value2;
  gboolean is_max;

  if (root < 0)
    return;
  read_effective_limit(cg, root);
  if (read_single(root, dir, v2 ? "memory.current" : "memory.usage_in_bytes", &value, &is_max) &&
      !is_max)
    SET(cg, usage, value);
  read_stat(cg, root);
  if (!v2 && read_single(root, dir, "memory.kmem.usage_in_bytes", &value, &is_max) && !is_max)
    SET(cg, kernel, value);
  if (v2) {
    if (read_single(root, dir, "memory.swap.current", &value, &is_max) && !is_max)
      SET(cg, swap, value);
  } else if (mv_cgroup_has(cg, MV_CGROUP_FIELD_usage) &&
             read_single(root, dir, "memory.memsw.usage_in_bytes", &value2, &is_max) && !is_max) {
    /* memsw = memory + swap, read a moment apart from usage: clamp */
    SET(cg, swap, value2 > cg->usage ? value2 - cg->usage : 0);
  }
  read_available(cg);
  if (read_single(root, dir, v2 ? "memory.peak" : "memory.max_usage_in_bytes", &value,
                  &is_max) && !is_max)
    SET(cg, peak, value);
  read_events(cg, root);

  g_autoptr(GString) text = g_string_new(NULL);
  if (v2 && read_cgroup_file(root, dir, "memory.pressure", text))
    cg->pressure = g_strndup(text->str, text->len);
  if (read_cgroup_file(root, dir, "cgroup.procs", text)) {
    GArray *procs = g_array_new(FALSE, FALSE, sizeof(pid_t));
    if (mv_pid_list_parse(text->str, text->len, add_pid, procs, NULL))
      cg->procs = procs;
    else
      g_array_unref(procs);
  }
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Appends the cgroup at @rel_dir (relative to the cgroup root @root) and
 * its descendants. @depth bounds the walk (cgroupfs nests at most a few
 * dozen levels in practice; the kernel allows more but not unboundedly). */
static void
walk_cgroups(const MvCgroupLocation *top, int root, const char *rel_dir, int depth,
             GPtrArray *out)
{
  g_autoptr(MvCgroup) cg = mv_cgroup_new();
  g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func(g_free);
  DIR *listing;
  int dir_fd;

  cg->location.version = top->version;
  cg->location.mount_root = g_strdup(top->mount_root);
  cg->location.mount_point = g_strdup(top->mount_point);
  set_location_paths(&cg->location, rel_dir);
  mv_cgroup_read_values(cg);
  g_ptr_array_add(out, g_steal_pointer(&cg));

  if (depth >= 64 || (dir_fd = openat(root, rel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return;
  if ((listing = fdopendir(dir_fd)) == NULL) {
    close(dir_fd);
    return;
  }
  for (struct dirent *entry; (entry = readdir(listing)) != NULL;) {
    struct stat st;
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    /* lstat: a symlink to a directory is not a child cgroup */
    if (fstatat(dirfd(listing), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode))
      g_ptr_array_add(children, g_strdup(entry->d_name));
  }
  closedir(listing);
  g_ptr_array_sort(children, compare_names);
  for (guint i = 0; i < children->len; i++) {
    const char *name = g_ptr_array_index(children, i);
    g_autofree char *child = strcmp(rel_dir, ".") == 0 ? g_strdup(name)
                                                        : g_build_filename(rel_dir, name, NULL);
    walk_cgroups(top, root, child, depth + 1, out);
  }
}

GPtrArray *
mv_cgroup_read_all(GError **error)
{
  g_auto(MvCgroupLocation) self = { 0 };
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) mv_cgroup_free);
  int root;

  if (!mv_cgroup_locate(0, &self, error))
    return NULL;
  if ((root = cgroup_root_fd(&self)) < 0) {
    mv_set_errno(error, ENOENT, "memory cgroup mount %s: cannot be opened", self.mount_point);
    return NULL;
  }
  walk_cgroups(&self, root, ".", 0, out);
  return g_steal_pointer(&out);
}

gboolean
mv_cgroup_foreach(MvCgroupFunc func, gpointer user_data, GError **error)
{
  g_autoptr(GPtrArray) cgroups = mv_cgroup_read_all(error);

  if (cgroups == NULL)
    return FALSE;
  for (guint i = 0; i < cgroups->len; i++)
    func(g_ptr_array_index(cgroups, i), user_data);
  return TRUE;
}
