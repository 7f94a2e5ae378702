/* SPDX-License-Identifier: MIT */
/* Who may read a process's memory layout: the kernel's answer to opening
 * /proc/<pid>/smaps (mm_access() -> __ptrace_may_access() with
 * PTRACE_MODE_READ_FSCREDS), reproduced from what /proc shows about the two
 * processes, so that the daemon (root) never shows a caller more than /proc
 * would show that caller:
 *
 *  1. the caller's own thread group may always read;
 *  2. otherwise the caller's fsuid/fsgid must equal the target's real,
 *     effective and saved uid/gid, or the caller must hold CAP_SYS_PTRACE
 *     over the target (its user namespace, or the daemon's);
 *  3. a non-dumpable target (setuid programs, prctl(PR_SET_DUMPABLE, 0))
 *     needs CAP_SYS_PTRACE: /proc shows its files as owned by root, which is
 *     how we see it too (task_dump_owner());
 *  4. commoncap: the target's permitted capabilities must be a subset of
 *     the caller's, unless the caller holds CAP_SYS_PTRACE.
 *
 * Yama's ptrace_scope restricts only PTRACE_MODE_ATTACH, not READ, so it
 * plays no part. The answer is EACCES, as /proc's open() gives. */
#include "mv-tree.h"

#include <string.h>
#include <unistd.h>

#include "proc/mv-proc.h"

#define MV_CAP_SYS_PTRACE 19 /* linux/capability.h */

pid_t
mv_tgid_of(pid_t tid)
{
  g_autoptr(GString) text = g_string_sized_new(2048);
  MvStatus status;

  if (!mv_proc_read(tid, "status", text, NULL) ||
      !mv_status_parse(text->str, text->len, &status, NULL))
    return 0;
  return status.tgid;
}

static gboolean
read_status(pid_t pid, MvStatus *status, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new(2048);

  return mv_proc_read(pid, "status", text, error) &&
         mv_status_parse(text->str, text->len, status, error);
}

static gboolean
same_user_namespace(pid_t a, pid_t b)
{
  char path_a[64], path_b[64], link_a[64], link_b[64];
  ssize_t len_a, len_b;

  if (a == 0)
    g_strlcpy(path_a, "/proc/self/ns/user", sizeof path_a);
  else
    g_snprintf(path_a, sizeof path_a, "/proc/%d/ns/user", (int) a);
  g_snprintf(path_b, sizeof path_b, "/proc/%d/ns/user", (int) b);
  len_a = readlink(path_a, link_a, sizeof link_a - 1);
  len_b = readlink(path_b, link_b, sizeof link_b - 1);
  return len_a > 0 && len_a == len_b && memcmp(link_a, link_b, (size_t) len_a) == 0;
}

struct MvCaller {
  pid_t tgid;
  uid_t fsuid;
  gid_t fsgid;
  guint64 cap_prm;
  gboolean has_ptrace_cap;     /* CAP_SYS_PTRACE in CapEff */
  gboolean in_daemon_userns;   /* the caller shares the daemon's user namespace */
  pid_t pid;                   /* the calling thread */
};

MvCaller *
mv_caller_new(const MvContext *ctx, GError **error)
{
  MvStatus status;
  MvCaller *caller;

  if (!read_status(ctx->caller_pid, &status, NULL)) {
    mv_set_errno(error, EACCES, "caller %d has gone", (int) ctx->caller_pid);
    return NULL;
  }
  caller = g_new0(MvCaller, 1);
  caller->pid = ctx->caller_pid;
  caller->tgid = status.tgid;
  caller->fsuid = ctx->caller_uid;
  caller->fsgid = ctx->caller_gid;
  caller->cap_prm = status.cap_prm;
  caller->has_ptrace_cap = (status.cap_eff & (G_GUINT64_CONSTANT(1) << MV_CAP_SYS_PTRACE)) != 0;
  caller->in_daemon_userns = caller->has_ptrace_cap && same_user_namespace(0, ctx->caller_pid);
  return caller;
}

void
mv_caller_free(MvCaller *caller)
{
  g_free(caller);
}

gboolean
mv_caller_may_read_mm(const MvCaller *caller, pid_t pid, const MvStatus *target,
                      GError **error)
{
  gboolean creds_match = TRUE;

  if (caller->tgid == target->tgid)
    return TRUE;
  /* CAP_SYS_PTRACE counts over processes of the caller's own user
   * namespace, and over everything the daemon sees when the caller is in
   * the daemon's namespace (normally the initial one). */
  if (caller->has_ptrace_cap &&
      (caller->in_daemon_userns || same_user_namespace(pid, caller->pid)))
    return TRUE;

  for (int i = 0; i < 3; i++) {
    creds_match = creds_match && target->uid[i] == caller->fsuid;
    creds_match = creds_match && target->gid[i] == caller->fsgid;
  }
  if (!creds_match)
    return mv_set_errno(error, EACCES, "process %d belongs to another user", (int) pid);

  if (target->has_mm) {
    char proc_file[48];
    struct stat st;

    /* task_dump_owner() gives a non-dumpable process's files (not its
     * 0555 directory) to root. */
    g_snprintf(proc_file, sizeof proc_file, "/proc/%d/status", (int) pid);
    if (stat(proc_file, &st) != 0)
      return mv_set_errno(error, ENOENT, "process %d has gone", (int) pid);
    if (st.st_uid != target->uid[1] || st.st_gid != target->gid[1])
      return mv_set_errno(error, EACCES, "process %d is not dumpable", (int) pid);
  }

  if ((target->cap_prm & ~caller->cap_prm) != 0)
    return mv_set_errno(error, EACCES, "process %d holds capabilities the caller lacks",
                        (int) pid);
  return TRUE;
}

gboolean
mv_access_may_read_mm(const MvContext *ctx, GError **error)
{
  g_autoptr(MvCaller) caller = mv_caller_new(ctx, error);
  MvStatus target;

  if (caller == NULL)
    return FALSE;
  if (!read_status(ctx->pid, &target, error))
    return FALSE;
  return mv_caller_may_read_mm(caller, ctx->pid, &target, error);
}
