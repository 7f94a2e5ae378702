/* SPDX-License-Identifier: MIT */
/* The node table types: what one entry of the tree is (name, type, who may
 * read it, how it renders, one line of help) and the context it renders in.
 * Types and inline helpers only, so every layer above proc/ may include it
 * without depending on the tree's code (mv-tree.h), access (mv-access.h) or
 * pid enumeration (mv-pids.h). */
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

G_END_DECLS
