/* SPDX-License-Identifier: MIT */
/* Reading /proc as the reader (mv-access.c): the caller's credentials, who
 * decides (the kernel, by opening as the reader; or the explicit rule), and
 * switching a thread's credentials. */
#pragma once

#include "mv-node.h"

G_BEGIN_DECLS

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
  gboolean switched;        /* this thread took the reader's credentials */
  gboolean kernel_decides;  /* /proc is opened with the reader's credentials
                             * (switched, or they are the daemon's own) */
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

/* Resolves the thread group of @tid (FUSE reports the calling thread). */
pid_t mv_tgid_of(pid_t tid);

G_END_DECLS
