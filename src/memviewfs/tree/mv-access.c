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

#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mv-pid-load.h"

#define MV_CAP_SYS_PTRACE 19 /* linux/capability.h */

pid_t
mv_tgid_of(pid_t tid)
{
  MvStatus status;

  if (!mv_pid_load_status(tid, &status, NULL))
    return 0;
  return status.tgid;
}

/* The capability sets of thread @tid, from capget(2): one cheap syscall
 * instead of formatting and parsing /proc/<tid>/status on every open(). */
static gboolean
thread_caps(pid_t tid, guint64 *effective, guint64 *permitted)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, tid };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

  if (syscall(SYS_capget, &header, data) != 0)
    return FALSE;
  *effective = data[0].effective | ((guint64) data[1].effective << 32);
  *permitted = data[0].permitted | ((guint64) data[1].permitted << 32);
  return TRUE;
}

static gboolean
user_namespace_of(pid_t pid, char *link, gsize size)
{
  char path[48];
  ssize_t len;

  g_snprintf(path, sizeof path, "/proc/%d/ns/user", (int) pid);
  len = readlink(path, link, size - 1);
  if (len <= 0)
    return FALSE;
  link[len] = '\0';
  return TRUE;
}

/* The daemon's own user namespace, read once ("user:[4026531837]"). */
static const char *
daemon_user_namespace(void)
{
  static char link[64];
  static gsize done;

  if (g_once_init_enter(&done)) {
    if (!user_namespace_of(getpid(), link, sizeof link))
      link[0] = '\0';
    g_once_init_leave(&done, 1);
  }
  return link;
}

static gboolean
in_user_namespace(pid_t pid, const char *ns_link)
{
  char link[64];

  return ns_link[0] != '\0' && user_namespace_of(pid, link, sizeof link) &&
         strcmp(link, ns_link) == 0;
}

struct MvCaller {
  pid_t tid;                 /* the calling thread */
  pid_t tgid;                /* its thread group, 0 until needed */
  uid_t fsuid;
  gid_t fsgid;
  guint64 cap_prm;
  gboolean has_ptrace_cap;   /* CAP_SYS_PTRACE in the effective set */
  gboolean in_daemon_userns; /* ... and held in the daemon's user namespace */
  char userns[64];           /* the caller's user namespace, when it has the cap */
};

MvCaller *
mv_caller_new(const MvContext *ctx, GError **error)
{
  guint64 cap_eff, cap_prm;
  MvCaller *caller;

  if (!thread_caps(ctx->caller_pid, &cap_eff, &cap_prm)) {
    mv_set_errno(error, EACCES, "caller %d has gone", (int) ctx->caller_pid);
    return NULL;
  }
  caller = g_new0(MvCaller, 1);
  caller->tid = ctx->caller_pid;
  caller->fsuid = ctx->caller_uid;
  caller->fsgid = ctx->caller_gid;
  caller->cap_prm = cap_prm;
  caller->has_ptrace_cap = (cap_eff & (G_GUINT64_CONSTANT(1) << MV_CAP_SYS_PTRACE)) != 0 &&
                           user_namespace_of(ctx->caller_pid, caller->userns,
                                             sizeof caller->userns);
  caller->in_daemon_userns = caller->has_ptrace_cap &&
                             strcmp(caller->userns, daemon_user_namespace()) == 0;
  return caller;
}

void
mv_caller_free(MvCaller *caller)
{
  g_free(caller);
}

/* Is the caller a thread of process @pid? */
static gboolean
caller_in_thread_group(const MvCaller *caller, pid_t pid)
{
  char task_path[64];

  if (caller->tid == pid)
    return TRUE;
  if (caller->tgid != 0)
    return caller->tgid == pid;
  g_snprintf(task_path, sizeof task_path, "/proc/%d/task/%d", (int) pid, (int) caller->tid);
  return access(task_path, F_OK) == 0;
}

gboolean
mv_caller_may_read_mm(const MvCaller *caller, pid_t pid, const MvStatus *target,
                      GError **error)
{
  MvStatus target_status;
  gboolean creds_match = TRUE;

  /* CAP_SYS_PTRACE counts over everything the daemon sees when the caller
   * holds it in the daemon's user namespace (normally the initial one), and
   * over processes of the caller's own namespace otherwise. */
  if (caller->has_ptrace_cap &&
      (caller->in_daemon_userns || in_user_namespace(pid, caller->userns)))
    return TRUE;
  if (caller_in_thread_group(caller, pid))
    return TRUE;

  if (target == NULL) {
    if (!mv_pid_load_status(pid, &target_status, error))
      return FALSE;
    target = &target_status;
  }
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

  return caller != NULL && mv_caller_may_read_mm(caller, ctx->pid, NULL, error);
}
