/* SPDX-License-Identifier: MIT */
/* Access as /proc decides it, by letting the kernel decide: this thread
 * opens the /proc source with the READER's credentials (fsuid, fsgid,
 * supplementary groups, effective capabilities), so ptrace_may_access(),
 * hidepid=, its gid= and every LSM give the reader exactly what /proc gives
 * it. The switch is per thread: setfsuid/setfsgid, the raw setgroups
 * syscall (glibc's setgroups() changes every thread of the process) and the
 * raw capset on this thread; the daemon's own credentials are restored
 * before the thread does anything else.
 *
 * An explicit rule remains only where credentials alone cannot carry the
 * kernel's answer:
 *  - the reader's own process: the kernel always lets a thread group read
 *    itself, whatever its credentials (setuid, non-dumpable): read as the
 *    daemon;
 *  - the daemon's own process: to the kernel the switched thread is part of
 *    it and may always read it: the rule below decides;
 *  - a reader in another user namespace than the daemon's: the capability
 *    subset shortcut of cap_ptrace_access_check() (security/commoncap.c)
 *    holds only when reader and target share a user namespace, and
 *    CAP_SYS_PTRACE counts only in the target's namespace or below the
 *    reader's; a switched thread would carry the reader's capabilities into
 *    the daemon's namespace: the rule below decides.
 * A reader the daemon cannot see (FUSE reports pid 0: it lives outside the
 * daemon's PID namespace) is known only by its fsuid/fsgid: it is read with
 * those, no supplementary groups and no capabilities, never with the
 * daemon's own. */
#include "mv-access.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mv-pid-load.h"

/* A capability bit (CAP_* of linux/capability.h) in a 64-bit set. */
#define MV_CAP_BIT(cap) (G_GUINT64_CONSTANT(1) << (cap))
/* NGROUPS_MAX of the kernel */
#define MV_MAX_GROUPS 65536

typedef struct {
  dev_t dev;
  ino_t ino;
} MvNamespaceId;

struct MvReader {
  pid_t tid;          /* the calling thread; 0 when the daemon cannot see it */
  pid_t tgid;         /* its process */
  uid_t fsuid, euid;
  gid_t fsgid;
  gid_t *groups;
  gsize n_groups;
  guint64 cap_eff;    /* effective capabilities, in the reader's user namespace */
  gboolean foreign_userns;
  MvNamespaceId userns;
  /* The reader's credentials are the daemon's own (same fsuid, fsgid,
   * groups, effective capabilities and user namespace): the kernel answers
   * it exactly as it answers the daemon, so nothing needs deciding or
   * switching (root reading with a root daemon, the common case). */
  gboolean same_as_daemon;
  /* The last decision (mv_reader_decide_full), for the next request step
   * about the same process: a lookup, then a stat or an open, each ask.
   * Shared by the scan's threads, hence the lock. */
  GMutex decision_lock;
  gboolean decision_valid;
  pid_t decision_pid;
  MvAccess decision_access;
  gboolean decision_pid_is_process;
  MvReadAs decision_as;
};

/* The daemon's credentials as every thread starts with them. */
typedef struct {
  uid_t fsuid;
  gid_t fsgid;
  gid_t *groups;
  int n_groups;
  struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
  guint64 cap_eff;
  gboolean can_switch_ids; /* CAP_SETUID and CAP_SETGID */
  MvNamespaceId userns;
  gboolean userns_known;
} MvDaemonCreds;

static gboolean
namespace_id(pid_t pid, MvNamespaceId *id)
{
  char path[48];
  struct stat st;

  mv_proc_pid_path(path, sizeof path, pid, "ns/user");
  if (fstatat(mv_proc_root_fd(), path, &st, 0) != 0)
    return FALSE;
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  return TRUE;
}

static gboolean
namespace_equal(const MvNamespaceId *a, const MvNamespaceId *b)
{
  return a->dev == b->dev && a->ino == b->ino;
}

static guint64
caps_effective(const struct __user_cap_data_struct caps[2])
{
  return caps[0].effective | ((guint64) caps[1].effective << 32);
}

static int
compare_gid(const void *a, const void *b)
{
  gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;

  return x < y ? -1 : x > y;
}

static const MvDaemonCreds *
daemon_creds(void)
{
  static MvDaemonCreds creds;
  static gsize done;

  if (g_once_init_enter(&done)) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    int n;

    creds.fsuid = (uid_t) setfsuid((uid_t) -1);
    creds.fsgid = (gid_t) setfsgid((gid_t) -1);
    n = getgroups(0, NULL);
    creds.groups = g_new0(gid_t, MAX(n, 1));
    creds.n_groups = MAX(getgroups(n, creds.groups), 0);
    /* sorted, as the kernel keeps a task's groups and status lists them:
     * a reader's list compares with memcmp (reader_is_daemon) */
    qsort(creds.groups, creds.n_groups, sizeof(gid_t), compare_gid);
    if (syscall(SYS_capget, &header, creds.caps) != 0)
      memset(creds.caps, 0, sizeof creds.caps);
    creds.cap_eff = caps_effective(creds.caps);
    creds.can_switch_ids = (creds.cap_eff & MV_CAP_BIT(CAP_SETUID)) != 0 &&
                           (creds.cap_eff & MV_CAP_BIT(CAP_SETGID)) != 0;
    creds.userns_known = namespace_id(getpid(), &creds.userns);
    g_once_init_leave(&done, 1);
  }
  return &creds;
}

static gboolean
set_caps(const struct __user_cap_data_struct caps[2])
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };

  return syscall(SYS_capset, &header, caps) == 0;
}

/* Back to the daemon's credentials. Capabilities first: setgroups and
 * setfsuid need CAP_SETGID/CAP_SETUID; again last, because setfsuid(0)
 * raises only the filesystem capabilities. Failing here would leave a
 * daemon thread with a reader's credentials for every later request:
 * that is not survivable. */
/* The reader this thread has switched to, NULL while it is the daemon. */
static __thread const MvReader *switched_reader;

void
mv_reader_restore(void)
{
  const MvDaemonCreds *d = daemon_creds();

  switched_reader = NULL;

  if (!set_caps(d->caps))
    g_error("cannot restore the daemon's capabilities: %s", g_strerror(errno));
  if (d->can_switch_ids) {
    setfsuid(d->fsuid);
    setfsgid(d->fsgid);
    if (syscall(SYS_setgroups, (size_t) d->n_groups, d->groups) != 0)
      g_error("cannot restore the daemon's groups: %s", g_strerror(errno));
    if (!set_caps(d->caps))
      g_error("cannot restore the daemon's capabilities: %s", g_strerror(errno));
  }
  if ((uid_t) setfsuid((uid_t) -1) != d->fsuid || (gid_t) setfsgid((gid_t) -1) != d->fsgid)
    g_error("cannot restore the daemon's fsuid/fsgid");
}

gboolean
mv_reader_switch(const MvReader *reader, GError **error)
{
  const MvDaemonCreds *d = daemon_creds();
  struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];

  if (d->can_switch_ids) {
    if (syscall(SYS_setgroups, reader->n_groups, reader->groups) != 0)
      goto failed;
    setfsgid(reader->fsgid);
    setfsuid(reader->fsuid);
    if ((gid_t) setfsgid((gid_t) -1) != reader->fsgid ||
        (uid_t) setfsuid((uid_t) -1) != reader->fsuid)
      goto failed;
  } else if (reader->fsuid != d->fsuid || reader->fsgid != d->fsgid) {
    /* An unprivileged daemon can read only as itself. */
    return mv_set_errno(error, EACCES, "the daemon cannot take uid %u's credentials",
                        (unsigned) reader->fsuid);
  }
  /* The reader's effective set, within what the daemon holds. */
  memcpy(caps, d->caps, sizeof caps);
  caps[0].effective = caps[0].permitted & (guint32) reader->cap_eff;
  caps[1].effective = caps[1].permitted & (guint32) (reader->cap_eff >> 32);
  if (!set_caps(caps))
    goto failed;
  switched_reader = reader;
  return TRUE;

failed:
  {
    int saved = errno != 0 ? errno : EPERM;
    mv_reader_restore();
    return mv_set_errno(error, EACCES, "cannot take uid %u's credentials: %s",
                        (unsigned) reader->fsuid, g_strerror(saved));
  }
}

/* Are @reader's credentials the daemon's own? Groups compare as sorted
 * lists: status lists the kernel's sorted group_info, the daemon's were
 * sorted once (a list in another order would only make the reader one
 * that is decided and switched: slower, still exact). Only with
 * CAP_SYS_PTRACE: without it the daemon's own process is one the kernel
 * may refuse to a reader with the daemon's credentials (it never refuses
 * the daemon itself), and the rule must decide that one. */
static gboolean
reader_is_daemon(const MvReader *reader)
{
  const MvDaemonCreds *d = daemon_creds();

  return !reader->foreign_userns && reader->tid > 0 && reader->fsuid == d->fsuid &&
         reader->fsgid == d->fsgid && reader->cap_eff == d->cap_eff &&
         (reader->cap_eff & MV_CAP_BIT(CAP_SYS_PTRACE)) != 0 &&
         reader->n_groups == (gsize) d->n_groups &&
         memcmp(reader->groups, d->groups, reader->n_groups * sizeof(gid_t)) == 0;
}

MvReader *
mv_reader_new(const MvContext *ctx, GError **error)
{
  g_autoptr(MvReader) reader = g_new0(MvReader, 1);
  g_autoptr(GString) text = NULL;
  g_autoptr(GError) local_error = NULL;
  MvStatus status;

  g_mutex_init(&reader->decision_lock);
  reader->fsuid = reader->euid = ctx->caller_uid;
  reader->fsgid = ctx->caller_gid;
  if (ctx->caller_pid <= 0) {
    /* Outside the daemon's PID namespace: uid and gid are all we know. */
    reader->groups = g_new0(gid_t, 1);
    return g_steal_pointer(&reader);
  }
  text = g_string_sized_new(2048);
  if (!mv_proc_read(ctx->caller_pid, "status", text, &local_error) ||
      !mv_status_parse(text->str, text->len, &status, &local_error)) {
    mv_set_errno(error, EACCES, "caller %d has gone", (int) ctx->caller_pid);
    return NULL;
  }
  {
    /* A few groups on the stack (most requests inside <pid>/ make a reader); the
     * kernel's maximum only for a reader that has more. */
    gid_t few[64];
    g_autofree gid_t *many = NULL;
    gid_t *groups = few;

    if (!mv_status_parse_groups(text->str, text->len, few, G_N_ELEMENTS(few),
                                &reader->n_groups, NULL)) {
      groups = many = g_new(gid_t, MV_MAX_GROUPS);
      if (!mv_status_parse_groups(text->str, text->len, many, MV_MAX_GROUPS,
                                  &reader->n_groups, &local_error)) {
        mv_set_errno(error, EACCES, "caller %d: %s", (int) ctx->caller_pid,
                     local_error->message);
        return NULL;
      }
    }
    reader->groups = g_new(gid_t, MAX(reader->n_groups, 1));
    memcpy(reader->groups, groups, reader->n_groups * sizeof(gid_t));
  }
  reader->tid = ctx->caller_pid;
  reader->tgid = status.tgid;
  /* FUSE's uid/gid are the caller's fsuid/fsgid; status agrees unless the
   * thread changed them since: FUSE's are the ones of this request. */
  reader->euid = status.uid[1];
  reader->cap_eff = status.cap_eff;
  if (!namespace_id(ctx->caller_pid, &reader->userns)) {
    mv_set_errno(error, EACCES, "caller %d has gone", (int) ctx->caller_pid);
    return NULL;
  }
  reader->foreign_userns = !daemon_creds()->userns_known ||
                           !namespace_equal(&reader->userns, &daemon_creds()->userns);
  reader->same_as_daemon = reader_is_daemon(reader);
  return g_steal_pointer(&reader);
}

gboolean
mv_context_reader(const MvContext *ctx, const MvReader **reader, GError **error)
{
  *reader = NULL;
  if (ctx->reader_slot == NULL)
    return TRUE;
  if (*ctx->reader_slot == NULL && (*ctx->reader_slot = mv_reader_new(ctx, error)) == NULL)
    return FALSE;
  *reader = *ctx->reader_slot;
  return TRUE;
}

void
mv_reader_free(MvReader *reader)
{
  if (reader == NULL)
    return;
  g_mutex_clear(&reader->decision_lock);
  g_free(reader->groups);
  g_free(reader);
}

pid_t
mv_reader_tgid(const MvReader *reader)
{
  return reader->tgid;
}

static gboolean
in_thread_group(pid_t tgid, pid_t pid)
{
  char task_path[64];

  if (pid == tgid)
    return TRUE;
  g_snprintf(task_path, sizeof task_path, "%d/task/%d", (int) tgid, (int) pid);
  return faccessat(mv_proc_root_fd(), task_path, F_OK, 0) == 0;
}

pid_t
mv_tgid_of(pid_t tid)
{
  MvStatus status;

  if (!mv_pid_load_status(tid, &status, NULL))
    return 0;
  return status.tgid;
}

static gboolean
reader_in_group(const MvReader *reader, gid_t gid)
{
  if (reader->fsgid == gid)
    return TRUE;
  for (gsize i = 0; i < reader->n_groups; i++)
    if (reader->groups[i] == gid)
      return TRUE;
  return FALSE;
}

gboolean
mv_reader_in_group(const MvReader *reader, gid_t gid)
{
  return reader_in_group(reader, gid);
}

/* Does @reader hold @cap in the user namespace of @pid? The kernel's
 * cap_capable(): walking up from the target's namespace, the reader's
 * effective set counts when the walk meets the reader's namespace, and the
 * owner of a namespace whose parent is the reader's holds every capability
 * in it; reaching the top without meeting it, nothing. */
static gboolean
reader_capable_over(const MvReader *reader, pid_t pid, int cap)
{
  char path[48];
  int fd;
  gboolean capable = FALSE;

  mv_proc_pid_path(path, sizeof path, pid, "ns/user");
  fd = openat(mv_proc_root_fd(), path, O_RDONLY | O_CLOEXEC);
  while (fd >= 0) {
    struct stat st;
    int parent;
    uid_t owner;

    if (fstat(fd, &st) != 0)
      break;
    if (st.st_dev == reader->userns.dev && st.st_ino == reader->userns.ino) {
      capable = (reader->cap_eff & MV_CAP_BIT(cap)) != 0;
      break;
    }
    parent = ioctl(fd, NS_GET_PARENT);
    if (parent < 0)
      break; /* the top (as far as the daemon sees): not below the reader */
    if (fstat(parent, &st) == 0 && st.st_dev == reader->userns.dev &&
        st.st_ino == reader->userns.ino && ioctl(fd, NS_GET_OWNER_UID, &owner) == 0 &&
        owner == reader->euid) {
      capable = TRUE;
      close(parent);
      break;
    }
    close(fd);
    fd = parent;
  }
  if (fd >= 0)
    close(fd);
  return capable;
}

/* Is the target's address space dumpable (SUID_DUMP_USER)? The daemon's
 * own is known; for another process /proc shows its files as owned by the
 * root of its user namespace when it is not (task_dump_owner()), which
 * tells only when its own uid differs from that root. When it cannot tell
 * (a target running as root, or in another user namespace than the
 * daemon's, whose root may be the target's own uid) it counts as not
 * dumpable: the stricter answer. */
static gboolean
target_dumpable(pid_t pid, const MvStatus *target, gboolean target_ns_is_daemons)
{
  char path[48];
  struct stat st;

  if (in_thread_group(getpid(), pid))
    return prctl(PR_GET_DUMPABLE) == 1;
  mv_proc_pid_path(path, sizeof path, pid, "status");
  if (fstatat(mv_proc_root_fd(), path, &st, 0) != 0)
    return FALSE;
  if (st.st_uid != target->uid[1] || st.st_gid != target->gid[1])
    return FALSE;
  return target->uid[1] != 0 && target_ns_is_daemons;
}

/* __ptrace_may_access(PTRACE_MODE_READ_FSCREDS) with commoncap's check,
 * for the cases credential switching cannot express (see the top). */
static gboolean
rule_may_read_mm(const MvReader *reader, pid_t pid, gboolean *may, gboolean *has_mm,
                 GError **error)
{
  MvStatus target;
  MvNamespaceId target_ns = { 0, 0 };
  gboolean ptrace_cap, ids_match = TRUE;

  if (!mv_pid_load_status(pid, &target, error))
    return FALSE;
  *has_mm = target.has_mm;
  /* A namespace the daemon may not see (a process holding capabilities
   * the daemon lacks) is nobody's the reader is in. */
  if (!namespace_id(pid, &target_ns) && errno == ENOENT)
    return mv_set_errno(error, ENOENT, "process %d has gone", (int) pid);
  ptrace_cap = reader_capable_over(reader, pid, CAP_SYS_PTRACE);
  for (int i = 0; i < 3; i++) {
    ids_match = ids_match && target.uid[i] == reader->fsuid;
    ids_match = ids_match && target.gid[i] == reader->fsgid;
  }
  *may = FALSE;
  if (!ids_match && !ptrace_cap)
    return TRUE;
  if (target.has_mm && !ptrace_cap &&
      !target_dumpable(pid, &target, daemon_creds()->userns_known &&
                                         namespace_equal(&target_ns, &daemon_creds()->userns)))
    return TRUE;
  if (namespace_equal(&reader->userns, &target_ns) && (target.cap_prm & ~reader->cap_eff) == 0)
    *may = TRUE;
  else
    *may = ptrace_cap;
  return TRUE;
}

static gboolean
load_proc_mount_options(MvProcMountOptions *options)
{
  g_autoptr(GString) text = g_string_sized_new(4096);

  return mv_read_file_at(mv_proc_root_fd(), "self/mountinfo", text, NULL) &&
         mv_mountinfo_parse_proc_options(text->str, text->len, mv_proc_root_path(), options, NULL);
}

/* Is @pid a thread of process @tgid? @pid_is_process: it came from a
 * listing of /proc, which has processes only. */
static gboolean
in_process(pid_t tgid, pid_t pid, gboolean pid_is_process)
{
  return pid_is_process ? pid == tgid : in_thread_group(tgid, pid);
}

gboolean
mv_proc_hides_pids(void)
{
  MvProcMountOptions options = { MV_HIDEPID_OFF, FALSE, 0 };

  load_proc_mount_options(&options);
  return options.hidepid != MV_HIDEPID_OFF;
}

gboolean
mv_reader_decide(const MvReader *reader, pid_t pid, MvAccess access, MvReadAs *as,
                 GError **error)
{
  return mv_reader_decide_full(reader, pid, FALSE, access, as, error);
}

static gboolean decide(const MvReader *reader, pid_t pid, gboolean pid_is_process,
                       MvAccess access, MvReadAs *as, GError **error);

gboolean
mv_reader_decide_full(const MvReader *reader, pid_t pid, gboolean pid_is_process,
                      MvAccess access, MvReadAs *as, GError **error)
{
  MvReader *cache = (MvReader *) reader; /* the cache only; credentials are not touched */
  gboolean hit;

  if (reader->same_as_daemon) {
    *as = MV_READ_AS_DAEMON;
    return TRUE;
  }
  g_mutex_lock(&cache->decision_lock);
  hit = cache->decision_valid && cache->decision_pid == pid &&
        cache->decision_access == access && cache->decision_pid_is_process == pid_is_process;
  if (hit)
    *as = cache->decision_as;
  g_mutex_unlock(&cache->decision_lock);
  if (hit)
    return TRUE;
  if (!decide(reader, pid, pid_is_process, access, as, error))
    return FALSE; /* refusals are not kept: each is decided (and logged) anew */
  g_mutex_lock(&cache->decision_lock);
  cache->decision_valid = TRUE;
  cache->decision_pid = pid;
  cache->decision_access = access;
  cache->decision_pid_is_process = pid_is_process;
  cache->decision_as = *as;
  g_mutex_unlock(&cache->decision_lock);
  return TRUE;
}

static gboolean
decide(const MvReader *reader, pid_t pid, gboolean pid_is_process, MvAccess access,
       MvReadAs *as, GError **error)
{
  MvProcMountOptions options = { MV_HIDEPID_OFF, FALSE, 0 };
  gboolean may_read_mm, has_mm, exempt;

  if (reader->tgid != 0 && in_process(reader->tgid, pid, pid_is_process)) {
    *as = MV_READ_AS_DAEMON; /* the kernel lets a process read itself */
    return TRUE;
  }
  if (!reader->foreign_userns && !in_process(getpid(), pid, pid_is_process)) {
    *as = MV_READ_AS_READER;
    return TRUE;
  }
  if (!rule_may_read_mm(reader, pid, &may_read_mm, &has_mm, error))
    return FALSE;
  if (!may_read_mm) {
    /* has_pid_permissions(): what hidepid= hides from this reader */
    load_proc_mount_options(&options);
    exempt = options.hidepid != MV_HIDEPID_NOT_PTRACEABLE && options.has_gid &&
             reader_in_group(reader, options.gid);
    if (options.hidepid >= MV_HIDEPID_INVISIBLE && !exempt)
      return mv_set_errno(error, ENOENT, "process %d is hidden from the reader", (int) pid);
    if (options.hidepid == MV_HIDEPID_NO_ACCESS && !exempt)
      return mv_set_errno(error, EPERM, "process %d is hidden from the reader", (int) pid);
    /* mm_access() asks only when there is an address space to protect:
     * a kernel thread's smaps (empty) is everyone's. */
    if (access == MV_ACCESS_PTRACE_READ && has_mm)
      return mv_set_errno(error, EACCES, "the reader may not read process %d's memory",
                          (int) pid);
  }
  *as = MV_READ_AS_DAEMON;
  return TRUE;
}

/* Is @id (as the daemon sees it) mapped in the reader's user namespace
 * (/proc/<reader>/uid_map or gid_map: "inside outside count" lines)? */
static gboolean
reader_maps_id(const MvReader *reader, const char *map, guint32 id)
{
  g_autoptr(GString) text = g_string_sized_new(256);
  g_auto(GStrv) lines = NULL;

  if (reader->tid <= 0 || !mv_proc_read(reader->tid, map, text, NULL))
    return FALSE;
  lines = g_strsplit(text->str, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++) {
    guint64 inside, outside, count;
    if (sscanf(lines[i], "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
               &inside, &outside, &count) == 3 &&
        id >= outside && id - outside < count)
      return TRUE;
  }
  return FALSE;
}

static gboolean
reader_may_override(const MvReader *reader, const struct stat *st)
{
  if ((reader->cap_eff & MV_CAP_BIT(CAP_DAC_OVERRIDE)) == 0)
    return FALSE;
  return !reader->foreign_userns || (reader_maps_id(reader, "uid_map", st->st_uid) &&
                                     reader_maps_id(reader, "gid_map", st->st_gid));
}

gboolean
mv_reader_may_write(const MvReader *reader, const struct stat *st)
{
  /* generic_permission(MAY_WRITE): the mode bits for the owner, the group
   * or others, else CAP_DAC_OVERRIDE held in the reader's user namespace,
   * counting only for a file whose owner and group that namespace maps
   * (capable_wrt_inode_uidgid()). */
  if (st->st_uid == reader->fsuid)
    return (st->st_mode & S_IWUSR) != 0 || reader_may_override(reader, st);
  if (reader_in_group(reader, st->st_gid))
    return (st->st_mode & S_IWGRP) != 0 || reader_may_override(reader, st);
  return (st->st_mode & S_IWOTH) != 0 || reader_may_override(reader, st);
}

gboolean
mv_reader_enter(const MvReader *reader, pid_t pid, MvAccess access, MvReaderScope *scope,
                GError **error)
{
  MvReadAs as = MV_READ_AS_READER;

  scope->switched = FALSE;
  scope->kernel_decides = FALSE;
  if (reader->same_as_daemon) {
    /* the daemon's credentials are the reader's: no switch needed */
    scope->kernel_decides = TRUE;
    return TRUE;
  }
  if (pid > 0 && !mv_reader_decide(reader, pid, access, &as, error))
    return FALSE;
  if (as == MV_READ_AS_READER) {
    if (!mv_reader_switch(reader, error))
      return FALSE;
    scope->switched = TRUE;
    scope->kernel_decides = TRUE;
  }
  return TRUE;
}

const MvReader *
mv_reader_suspend(void)
{
  const MvReader *reader = switched_reader;

  if (reader != NULL)
    mv_reader_restore();
  return reader;
}

gboolean
mv_reader_resume(const MvReader *reader, GError **error)
{
  return reader == NULL || mv_reader_switch(reader, error);
}

void
mv_reader_leave(MvReaderScope *scope)
{
  if (scope->switched)
    mv_reader_restore();
  scope->switched = FALSE;
}

gboolean
mv_tree_enter_as_reader(const MvContext *ctx, pid_t pid, MvAccess access, MvReaderScope *scope,
                        GError **error)
{
  const MvReader *reader;

  scope->switched = FALSE;
  scope->kernel_decides = FALSE;
  if (!mv_context_reader(ctx, &reader, error))
    return FALSE;
  if (reader == NULL)
    return TRUE;
  return mv_reader_enter(reader, pid, access, scope, error);
}
