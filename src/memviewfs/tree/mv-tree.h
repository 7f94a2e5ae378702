/* SPDX-License-Identifier: MIT */
/* The tree: a table of nodes (name, type, who may read it, how it renders,
 * one line of help), in the manner of the kernel's fs/proc/base.c. Lookup,
 * getattr, readdir, open and the root README are all driven by the same
 * tables, so a file exists in exactly one place in the source. No FUSE
 * here: the front end (mv-fuse.c) is a thin adapter over this API. */
#pragma once

#include <glib.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mv-error.h"
#include "proc/mv-proc.h"

G_BEGIN_DECLS

typedef enum {
  MV_NODE_DIR,
  MV_NODE_FILE,
  MV_NODE_LINK,
} MvNodeType;

/* Who may read a node's content, decided at open() from the caller's
 * credentials, as /proc decides it. */
typedef enum {
  MV_ACCESS_ANY,         /* like /proc/<pid>/status: everyone */
  MV_ACCESS_PTRACE_READ, /* like /proc/<pid>/smaps: PTRACE_MODE_READ on the process */
} MvAccess;

typedef struct MvReader MvReader;

/* Who asks, and about which process. */
typedef struct {
  pid_t caller_pid; /* the calling thread (as FUSE reports it) */
  uid_t caller_uid; /* the caller's fsuid */
  gid_t caller_gid; /* the caller's fsgid */
  pid_t pid;        /* the process of a <pid>/ subtree, 0 elsewhere */
  /* Where the caller's credentials, with which /proc/<pid> is read (see
   * mv-access.c), are made on first use (mv_context_reader()) and kept for
   * the request; NULL reads as the daemon itself (in-process tests). */
  MvReader **reader_slot;
} MvContext;

typedef struct MvNode MvNode;

/* Renders @node's content (or a link's target) into @out. */
typedef gboolean (*MvRenderFunc)(const MvContext *ctx, const MvNode *node, GString *out,
                                 GError **error);

/* Takes the bytes of one write(2) to @node (a command, as the kernel's
 * /proc/<pid>/clear_refs does). Returns FALSE with an errno in @error when
 * the write is refused; then it changed nothing. */
typedef gboolean (*MvWriteFunc)(const MvContext *ctx, const MvNode *node, const char *data,
                                gsize len, GError **error);

/* Reports one dynamic child of a directory while listing. */
typedef void (*MvListAddFunc)(const char *name, const MvNode *child, const MvContext *child_ctx,
                              gpointer user_data);

/* Dynamic children of a directory (the pids of the root). */
typedef struct {
  /* Resolves @name; FALSE (no error) when it is not a dynamic child. */
  gboolean (*lookup)(const MvNode *dir, const char *name, MvContext *ctx, const MvNode **child,
                     GError **error);
  void (*list)(const MvNode *dir, const MvContext *ctx, MvListAddFunc add, gpointer user_data);
} MvDynamicChildren;

struct MvNode {
  const char *name;
  MvNodeType type;
  MvAccess access;
  MvRenderFunc render;        /* files and links */
  gsize arg;                  /* for the render function, e.g. an offsetof() */
  const MvNode *children;     /* static children of a directory */
  gsize n_children;
  const MvDynamicChildren *dynamic;
  const MvNode *alias;        /* an entry standing for a directory defined in
                               * another file (C cannot copy it into a table) */
  const char *help;           /* one line, shown in the root README */
  const char *proc_source;    /* in <pid>/: the /proc/<pid>/ file it is read from */
  mode_t mode;                /* permission bits; 0: the default of the type
                               * (dirs 0555, files 0444, links 0777) */
  MvWriteFunc write;          /* files that take commands; only the daemon's
                               * owner may write them (mv_tree_may_write) */
  gboolean (*present)(void);  /* NULL, or FALSE when the entry is switched
                               * off (e.g. demo/ with -o nodemo) */
  /* NULL, or FALSE when the entry does not exist for this reader (a value
   * its cgroup or kernel does not have): left out of listings and ENOENT
   * at lookup, as /proc leaves out what does not apply. The root README
   * still documents it. */
  gboolean (*present_for)(const MvContext *ctx, const MvNode *node);
};

/* The node an entry stands for (itself, or its alias). */
static inline const MvNode *
mv_node_target(const MvNode *node)
{
  return node->alias != NULL ? node->alias : node;
}

#define MV_FILE(name_, access_, render_, arg_, help_) \
  { .name = (name_), .type = MV_NODE_FILE, .access = (access_), .render = (render_), \
    .arg = (arg_), .help = (help_) }
/* A file of <pid>/ read from /proc/<pid>/<source_>. */
#define MV_PID_FILE(name_, access_, render_, arg_, source_, help_) \
  { .name = (name_), .type = MV_NODE_FILE, .access = (access_), .render = (render_), \
    .arg = (arg_), .help = (help_), .proc_source = (source_) }
#define MV_LINK(name_, render_, help_) \
  { .name = (name_), .type = MV_NODE_LINK, .access = MV_ACCESS_ANY, .render = (render_), \
    .help = (help_) }
#define MV_DIR(name_, children_, dynamic_, help_) \
  { .name = (name_), .type = MV_NODE_DIR, .access = MV_ACCESS_ANY, .children = (children_), \
    .n_children = G_N_ELEMENTS(children_), .dynamic = (dynamic_), .help = (help_) }

/* A file that takes commands (one per write(2)), owned by the daemon's
 * user: mode_ is 0200 (write-only) or 0600 (render_ also set). */
#define MV_CTL_FILE(name_, mode_, render_, write_, help_) \
  { .name = (name_), .type = MV_NODE_FILE, .access = MV_ACCESS_ANY, .render = (render_), \
    .mode = (mode_), .write = (write_), .help = (help_) }

#define MV_SUBDIR(name_, node_) \
  { .name = (name_), .type = MV_NODE_DIR, .access = MV_ACCESS_ANY, .alias = (node_) }

/* The root of the tree. */
const MvNode *mv_tree_root(void);

/* FALSE when @node is switched off (its present() says so). */
static inline gboolean
mv_node_present(const MvNode *node)
{
  return node->present == NULL || node->present();
}

/* FALSE when @node does not exist for @ctx's reader (present_for). */
static inline gboolean
mv_node_present_for(const MvNode *node, const MvContext *ctx)
{
  return mv_node_present(node) && (node->present_for == NULL || node->present_for(ctx, node));
}

/* Walks @path ("/", "/123/pss", "/self"...) from the root. On success
 * *node is the node and ctx->pid the process of a <pid>/ subtree (the
 * caller fields of @ctx are the caller's and are left alone). ENOENT for
 * anything that does not exist, ENOTDIR for a walk through a file. */
gboolean mv_tree_resolve(const char *path, MvContext *ctx, const MvNode **node, GError **error);

/* Attributes of a resolved node: mode like /proc (dirs 0555, files 0444,
 * links 0777, or the node's own mode), owner the process's owner inside
 * <pid>/ (as /proc shows it), the daemon's user for writable files, root
 * elsewhere. Size 0 for files: content exists only once opened. */
gboolean mv_tree_stat(const MvNode *node, const MvContext *ctx, struct stat *st, GError **error);

/* Lists a directory: every static child then every dynamic one. */
void mv_tree_list(const MvNode *dir, const MvContext *ctx, MvListAddFunc add, gpointer user_data);

/* Checks @node's access rule for @ctx's caller and renders it into @out:
 * what open() does. EACCES exactly where /proc would refuse. */
gboolean mv_tree_render(const MvNode *node, const MvContext *ctx, GString *out, GError **error);

/* Refuses open(O_TRUNC) as /proc refuses it to the caller: inside <pid>/
 * by opening the node's /proc source that way as the reader. */
gboolean mv_tree_check_truncate(const MvNode *node, const MvContext *ctx, GError **error);
/* May the caller of @ctx write @node? Only files with a write function, and
 * only their owner, the daemon's effective uid (the mode is 0200/0600):
 * EACCES otherwise, decided at open() like a permission check. */
gboolean mv_tree_may_write(const MvNode *node, const MvContext *ctx, GError **error);

/* Checks mv_tree_may_write() and hands the bytes of one write(2) to the
 * node's write function. */
gboolean mv_tree_write(const MvNode *node, const MvContext *ctx, const char *data, gsize len,
                       GError **error);

/* ---- shared pieces used by the node tables ---------------------------- */

/* The <pid>/ directory node (lookup of a numeric name at the root). */
extern const MvNode mv_pid_dir;
/* The root's subdirectories. */
extern const MvNode mv_system_dir;
extern const MvNode mv_metrics_dir;
extern const MvNode mv_cgroup_dir;
/* <pid>/heap/ (mv-node-heap.c). */
extern const MvNode mv_heap_dir;
/* The ladder of a process that publishes valid spanalloc statistics, and
 * their age (ms): FALSE when it publishes none or an invalid segment (for
 * metrics/, which shows what there is and skips the rest). */
struct sa_stats;
gboolean mv_heap_load_stats(pid_t pid, struct sa_stats *stats, guint64 *age_ms);
extern const MvNode mv_demo_dir;

/* <pid>/cgroup: the process's memory cgroup path (mv-node-cgroup.c). */
gboolean mv_render_pid_cgroup(const MvContext *ctx, const MvNode *node, GString *out,
                              GError **error);

/* The gauges of every memory cgroup the daemon sees, for metrics/
 * (mv-node-cgroup.c): adds the number exported to *@cgroups, and 1 to
 * *@read_errors when the hierarchy cannot be walked. */
void mv_metrics_append_cgroups(GString *out, guint *cgroups, guint *read_errors);

/* The root's cgroups table (mv-node-cgroup.c). */
gboolean mv_render_cgroups(const MvContext *ctx, const MvNode *node, GString *out,
                           GError **error);

/* -o metrics_pids: per-process series in metrics/ too; -o metrics_gid=GID
 * (@has_gid): readers in group @gid get metrics/ computed with the
 * daemon's credentials (every process), as /proc's hidepid gid= exempts a
 * group. Nothing else in the tree changes for them. */
void mv_metrics_configure(gboolean per_pid, gboolean has_gid, gid_t gid);

/* Appends "<value>\n": the contract of every value file (bytes). */
void mv_render_value(GString *out, guint64 value);

/* Appends @text with space, tab, newline and backslash written as octal
 * escapes (\040 \011 \012 \134), the /proc/mounts convention, so that one
 * table cell is always one whitespace-separated column. With
 * @kernel_escaped, @text is a path as smaps prints it (the kernel already
 * wrote a newline as "\012" and leaves backslashes raw): backslashes are
 * kept, so the cell reads exactly as the kernel's path with blanks escaped. */
void mv_render_escaped(GString *out, const char *text, gsize len, gboolean kernel_escaped);

/* ---- reading as the reader (mv-access.c) -------------------------------- */

/* The credentials of a FUSE caller, as the kernel would judge them: fsuid,
 * fsgid, supplementary groups, effective capabilities, user namespace and
 * thread group (from /proc/<caller>/status and ns/user). A caller the
 * daemon cannot see (FUSE pid 0) is known by fsuid/fsgid only. */
MvReader *mv_reader_new(const MvContext *ctx, GError **error);
void mv_reader_free(MvReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MvReader, mv_reader_free)

/* The reader of @ctx, made on first use: *reader NULL when @ctx reads
 * as the daemon; FALSE (EACCES) when the caller has gone. */
gboolean mv_context_reader(const MvContext *ctx, const MvReader **reader, GError **error);

/* The reader's process (0: unknown). /proc lists it to the reader even
 * where the reader's credentials alone would not (hidepid=, non-dumpable):
 * listings add it. */
pid_t mv_reader_tgid(const MvReader *reader);

typedef enum {
  MV_READ_AS_READER, /* open /proc/<pid> with the reader's credentials: the kernel decides */
  MV_READ_AS_DAEMON, /* decided here already (allowed): open as the daemon */
} MvReadAs;

/* How this thread must read /proc/<pid> for @reader, for a node of
 * @access. FALSE with the errno /proc would give (ENOENT for a process
 * hidepid= hides, EACCES...) where the explicit rule (the reader's own or
 * the daemon's process, a reader in another user namespace) refuses. */
gboolean mv_reader_decide(const MvReader *reader, pid_t pid, MvAccess access, MvReadAs *as,
                          GError **error);
/* The same, where @pid_is_process says @pid came from a listing of /proc
 * (a process, never another thread's id): saves a lookup per pid. */
gboolean mv_reader_decide_full(const MvReader *reader, pid_t pid, gboolean pid_is_process,
                               MvAccess access, MvReadAs *as, GError **error);

/* Is @gid the reader's fsgid or one of its supplementary groups? */
gboolean mv_reader_in_group(const MvReader *reader, gid_t gid);

/* Switches this thread to @reader's credentials (fsuid, fsgid, groups,
 * effective capabilities); mv_reader_restore() switches back. */
gboolean mv_reader_switch(const MvReader *reader, GError **error);
void mv_reader_restore(void);

/* mv_reader_decide() then mv_reader_switch() when the kernel decides;
 * @pid 0: no process (a /proc file outside <pid>/), always switched. */
typedef struct {
  gboolean switched;
} MvReaderScope;
gboolean mv_reader_enter(const MvReader *reader, pid_t pid, MvAccess access,
                         MvReaderScope *scope, GError **error);
/* The same for @ctx's reader and @pid (no switch when ctx->reader is NULL). */
gboolean mv_tree_enter_as_reader(const MvContext *ctx, pid_t pid, MvAccess access,
                                 MvReaderScope *scope, GError **error);
void mv_reader_leave(MvReaderScope *scope);
/* For a source the kernel guards more strictly than the access it stands
 * for (a spanalloc segment: /proc/<pid>/mem needs PTRACE_MODE_ATTACH, its
 * map_files entry CAP_SYS_ADMIN, where the segment needs what smaps needs),
 * once the reader's right was proven by an open made as the reader: back
 * to the daemon's credentials (returns the reader this thread had switched
 * to, or NULL), then to the reader's again (nothing for NULL). */
const MvReader *mv_reader_suspend(void);
gboolean mv_reader_resume(const MvReader *reader, GError **error);

/* Is /proc mounted with hidepid= (so that which pids exist depends on
 * who asks)? */
gboolean mv_proc_hides_pids(void);

/* Would the kernel give the reader write permission on a file of @st's
 * owner, group and mode (what open(O_TRUNC) asks)? */
gboolean mv_reader_may_write(const MvReader *reader, const struct stat *st);

/* A pid as /proc spells it: decimal digits, no sign, no leading zero. */
gboolean mv_parse_pid_name(const char *name, pid_t *pid);

/* Adds the reader's own process to @pids (ascending pid_t) when listing
 * as the reader left it out. */
void mv_add_reader_pid(const MvContext *ctx, GArray *pids);

/* Calls @func for every process in /proc, in /proc's order (ascending). */
void mv_foreach_pid(void (*func)(pid_t pid, gpointer user_data), gpointer user_data);

/* Resolves the thread group of @tid (FUSE reports the calling thread). */
pid_t mv_tgid_of(pid_t tid);

/* The root README (generated from the tables). */
gboolean mv_render_readme(const MvContext *ctx, const MvNode *node, GString *out, GError **error);

G_END_DECLS
