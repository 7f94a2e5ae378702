/* SPDX-License-Identifier: MIT */
/* The memory cgroup model (see mv-model-cgroup.h). */
#include "mv-model-cgroup.h"

#include <string.h>

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes (LONG_MAX rounded
 * down to a page): anything this large is no limit on any real machine. */
#define MV_CGROUP_V1_UNLIMITED (G_GUINT64_CONSTANT(1) << 62)

#define SET(cg, field, v)                                       \
  do {                                                          \
    (cg)->field = (v);                                          \
    (cg)->present |= G_GUINT64_CONSTANT(1) << MV_CGROUP_FIELD_##field; \
  } while (0)

void
mv_cgroup_location_clear(MvCgroupLocation *location)
{
  g_clear_pointer(&location->cgroup_path, g_free);
  g_clear_pointer(&location->mount_root, g_free);
  g_clear_pointer(&location->mount_point, g_free);
  g_clear_pointer(&location->dir, g_free);
  location->version = 0;
}

/* @path (absolute) under the root prefix. */
static char *
under_root(const char *root, const char *path)
{
  if (root == NULL || root[0] == '\0' || strcmp(root, "/") == 0)
    return g_strdup(path);
  return g_build_filename(root, path, NULL);
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

typedef struct {
  MvCgroupVersion version;
  const char *cgroup_path;
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
  if (!path_is_within(s->cgroup_path, root))
    return TRUE;
  /* the most specific mount wins (a bind mount of the cgroup itself beats
   * the whole hierarchy); on a tie the first, as the kernel lists them */
  if (s->best_root == NULL || strlen(root) > strlen(s->best_root)) {
    g_free(s->best_root);
    g_free(s->best_mount_point);
    s->best_root = g_strdup(root);
    s->best_mount_point = g_strdup(mount_point);
  }
  return TRUE;
}

gboolean
mv_cgroup_locate(const char *root, pid_t pid, MvCgroupLocation *out, GError **error)
{
  g_autoptr(GString) text = g_string_new(NULL);
  g_autofree char *cgroup_file = NULL;
  g_autofree char *mountinfo_file = under_root(root, "/proc/self/mountinfo");
  char cgroup_path[4096];
  MvCgroupVersion version;

  memset(out, 0, sizeof *out);
  if (pid > 0) {
    g_autofree char *rel = g_strdup_printf("/proc/%ld/cgroup", (long)pid);
    cgroup_file = under_root(root, rel);
  } else {
    cgroup_file = under_root(root, "/proc/self/cgroup");
  }
  if (!mv_read_file(cgroup_file, text, error) ||
      !mv_proc_cgroup_parse(text->str, text->len, &version, cgroup_path, sizeof cgroup_path, error))
    return FALSE;
  if (!mv_read_file(mountinfo_file, text, error))
    return FALSE;

  MountSearch search = { version, cgroup_path, NULL, NULL };
  if (!mv_mountinfo_parse(text->str, text->len, consider_mount, &search, error)) {
    g_free(search.best_root);
    g_free(search.best_mount_point);
    return FALSE;
  }
  if (search.best_root == NULL)
    return mv_set_errno(error, ENOENT, "memory cgroup %s (v%d): no mount of its hierarchy shows it",
                        cgroup_path, (int)version);

  const char *rel = cgroup_path;
  if (strcmp(search.best_root, "/") != 0)
    rel += strlen(search.best_root);
  out->version = version;
  out->cgroup_path = g_strdup(cgroup_path);
  out->mount_root = search.best_root;
  out->mount_point = search.best_mount_point;
  out->dir = rel[0] == '\0' || strcmp(rel, "/") == 0 ? g_strdup(out->mount_point)
                                                     : g_build_filename(out->mount_point, rel, NULL);
  return TRUE;
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

/* <root><dir>/<name> into @text; FALSE (no error: the value is absent)
 * when it cannot be read. */
static gboolean
read_cgroup_file(const char *root, const char *dir, const char *name, GString *text)
{
  g_autofree char *abs = g_build_filename(dir, name, NULL);
  g_autofree char *path = under_root(root, abs);
  return mv_read_file(path, text, NULL);
}

static gboolean
read_single(const char *root, const char *dir, const char *name, guint64 *value, gboolean *is_max)
{
  g_autoptr(GString) text = g_string_new(NULL);
  return read_cgroup_file(root, dir, name, text) &&
         mv_single_value_parse(text->str, text->len, value, is_max, NULL);
}

/* The smallest limit from @dir up to @top. */
static void
read_effective_limit(MvCgroup *cg, const char *root)
{
  const MvCgroupLocation *loc = &cg->location;
  const char *file = loc->version == MV_CGROUP_V2 ? "memory.max" : "memory.limit_in_bytes";
  g_autofree char *level = g_strdup(loc->dir);
  guint64 smallest = G_MAXUINT64;
  gboolean any_finite = FALSE;

  for (;;) {
    gboolean is_top = strcmp(level, loc->mount_point) == 0 || !path_is_within(level, loc->mount_point);
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
    if (slash == NULL || slash == level)
      break;
    *slash = '\0';
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
read_stat(MvCgroup *cg, const char *root)
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

  if (!read_cgroup_file(root, cg->location.dir, "memory.stat", text) ||
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
read_available(MvCgroup *cg, const char *root)
{
  if (!mv_cgroup_has(cg, MV_CGROUP_FIELD_limit))
    return;
  if (cg->limit_is_max) {
    g_autoptr(GString) text = g_string_new(NULL);
    g_autofree char *path = under_root(root, "/proc/meminfo");
    MvMeminfo meminfo;
    if (mv_read_file(path, text, NULL) && mv_meminfo_parse(text->str, text->len, &meminfo, NULL) &&
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
read_events(MvCgroup *cg, const char *root)
{
  const char *dir = cg->location.dir;
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
mv_cgroup_read(MvCgroup *cg, const char *root, pid_t pid, GError **error)
{
  if (!mv_cgroup_locate(root, pid, &cg->location, error))
    return FALSE;
  mv_cgroup_read_values(cg, root);
  return TRUE;
}

void
mv_cgroup_read_values(MvCgroup *cg, const char *root)
{
  const char *dir = cg->location.dir;
  gboolean v2 = cg->location.version == MV_CGROUP_V2;
  guint64 value, value2;
  gboolean is_max;

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
  read_available(cg, root);
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

/* Appends the cgroup at @dir (under the mount point, no root prefix) and
 * its descendants. @depth bounds the walk (cgroupfs nests at most a few
 * dozen levels in practice; the kernel allows more but not unboundedly). */
static void
walk_cgroups(const MvCgroupLocation *top, const char *root, const char *dir, int depth,
             GPtrArray *out)
{
  g_autoptr(MvCgroup) cg = mv_cgroup_new();
  const char *rel = dir + strlen(top->mount_point);
  g_autofree char *abs = under_root(root, dir);
  g_autoptr(GDir) listing = NULL;
  g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func(g_free);
  const char *name;

  cg->location.version = top->version;
  cg->location.mount_root = g_strdup(top->mount_root);
  cg->location.mount_point = g_strdup(top->mount_point);
  cg->location.dir = g_strdup(dir);
  if (rel[0] == '\0')
    cg->location.cgroup_path = g_strdup(top->mount_root);
  else if (strcmp(top->mount_root, "/") == 0)
    cg->location.cgroup_path = g_strdup(rel);
  else
    cg->location.cgroup_path = g_strconcat(top->mount_root, rel, NULL);
  mv_cgroup_read_values(cg, root);
  g_ptr_array_add(out, g_steal_pointer(&cg));

  if (depth >= 64 || (listing = g_dir_open(abs, 0, NULL)) == NULL)
    return;
  while ((name = g_dir_read_name(listing)) != NULL) {
    g_autofree char *child_abs = g_build_filename(abs, name, NULL);
    if (g_file_test(child_abs, G_FILE_TEST_IS_DIR) &&
        !g_file_test(child_abs, G_FILE_TEST_IS_SYMLINK))
      g_ptr_array_add(children, g_strdup(name));
  }
  g_ptr_array_sort(children, compare_names);
  for (guint i = 0; i < children->len; i++) {
    g_autofree char *child = g_build_filename(dir, g_ptr_array_index(children, i), NULL);
    walk_cgroups(top, root, child, depth + 1, out);
  }
}

GPtrArray *
mv_cgroup_read_all(const char *root, GError **error)
{
  g_auto(MvCgroupLocation) self = { 0 };
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) mv_cgroup_free);

  if (!mv_cgroup_locate(root, 0, &self, error))
    return NULL;
  walk_cgroups(&self, root, self.mount_point, 0, out);
  return g_steal_pointer(&out);
}

gboolean
mv_cgroup_foreach(const char *root, MvCgroupFunc func, gpointer user_data, GError **error)
{
  g_autoptr(GPtrArray) cgroups = mv_cgroup_read_all(root, error);

  if (cgroups == NULL)
    return FALSE;
  for (guint i = 0; i < cgroups->len; i++)
    func(g_ptr_array_index(cgroups, i), user_data);
  return TRUE;
}
