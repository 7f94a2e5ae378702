/* SPDX-License-Identifier: MIT */
#include "mv-pid-load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int
mv_pid_pin(pid_t pid)
{
  char path[32];

  mv_proc_pid_path(path, sizeof path, pid, NULL);
  return openat(mv_proc_root_fd(), path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

gboolean
mv_pid_unpin(int pin, pid_t pid, GError **error)
{
  struct stat st;
  /* a lookup under the directory of a process that has gone fails, even
   * when its pid belongs to another process by now */
  gboolean alive = pin >= 0 && fstatat(pin, "stat", &st, 0) == 0;

  if (pin >= 0)
    close(pin);
  if (!alive)
    return mv_set_errno(error, ENOENT, "process %d exited while being read", (int) pid);
  return TRUE;
}

gboolean
mv_pid_read(pid_t pid, const char *name, GString *out, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  int errnum;

  if (mv_proc_read(pid, name, out, &local_error))
    return TRUE;
  errnum = mv_error_errno(local_error);
  return mv_set_errno(error, errnum == ESRCH ? ENOENT : errnum, "%s", local_error->message);
}

gboolean
mv_pid_load_status(pid_t pid, MvStatus *status, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new(2048);

  return mv_pid_read(pid, "status", text, error) &&
         mv_status_parse(text->str, text->len, status, error);
}

/* After a read that came back empty or ESRCH: is the process there without
 * an address space (TRUE, the values are 0), or gone (FALSE, ENOENT)? */
static gboolean
has_no_address_space(pid_t pid, GError **error)
{
  MvStatus status;

  if (!mv_pid_load_status(pid, &status, error))
    return FALSE;
  if (status.has_mm)
    return mv_set_errno(error, ENOENT, "process %d changed while being read", (int) pid);
  return TRUE;
}

/* The rollup from its text, @read_ok and @local_error saying how reading
 * it went (one mapping of /proc's answers to ours, for both ways of
 * reading it). */
static gboolean
rollup_from_text(pid_t pid, gboolean read_ok, const GString *text, GError **read_error,
                 MvPidRollup *rollup, GError **error)
{
  MvSmapsValues values;

  memset(rollup, 0, sizeof *rollup);
  if (read_ok && mv_smaps_rollup_parse(text->str, text->len, &values, read_error)) {
    mv_pid_rollup_from_values(&values, rollup);
    return TRUE;
  }
  if (mv_error_errno(*read_error) == ESRCH) {
    /* /proc's answer for a process without an address space (kernel
     * thread, zombie) is ESRCH, and so is ours. */
    if (!has_no_address_space(pid, error))
      return FALSE;
    return mv_set_errno(error, ESRCH, "process %d has no address space", (int) pid);
  }
  if (mv_error_errno(*read_error) == ENOENT)
    return mv_set_errno(error, ENOENT, "process %d has gone", (int) pid);
  g_propagate_error(error, g_steal_pointer(read_error));
  return FALSE;
}

gboolean
mv_pid_load_rollup(pid_t pid, MvPidRollup *rollup, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new(1024);
  g_autoptr(GError) local_error = NULL;
  gboolean ok = mv_proc_read(pid, "smaps_rollup", text, &local_error);

  return rollup_from_text(pid, ok, text, &local_error, rollup, error);
}

gboolean
mv_pid_read_smaps(pid_t pid, GString *text, MvStatus *status_out, GError **error)
{
  MvStatus local_status;
  MvStatus *status = status_out != NULL ? status_out : &local_status;

  if (!mv_pid_read(pid, "smaps", text, error))
    return FALSE;
  /* Only now, after the whole text was read: if the address space is
   * still there, every chunk of the text came from it. */
  if (!mv_pid_load_status(pid, status, error))
    return FALSE;
  if (text->len == 0 && status->has_mm)
    return mv_set_errno(error, ENOENT, "process %d changed while being read", (int) pid);
  if (text->len > 0 && !status->has_mm)
    return mv_set_errno(error, ENOENT, "process %d exited while being read", (int) pid);
  return TRUE;
}

typedef struct {
  pid_t pid;
  gsize bytes_read; /* the length of the whole smaps text */
  gboolean want_rollup;      /* start the rollup's read once smaps is large */
  MvProcPending *rollup;     /* that read, started */
} SmapsFile;

static void
start_rollup(gpointer data)
{
  SmapsFile *file = data;

  if (file->want_rollup)
    file->rollup = mv_proc_read_begin(file->pid, "smaps_rollup");
}

static gboolean
stream_smaps(MvSmapsFunc func, gpointer func_data, gpointer source_data, GError **error)
{
  SmapsFile *file = source_data;
  g_autoptr(GError) local_error = NULL;
  char path[32];
  int errnum;

  mv_proc_pid_path(path, sizeof path, file->pid, "smaps");
  if (mv_smaps_parse_file_full(path, func, func_data, start_rollup, file, &file->bytes_read,
                               &local_error))
    return TRUE;
  errnum = mv_error_errno(local_error);
  return mv_set_errno(error, errnum == ESRCH ? ENOENT : errnum, "%s", local_error->message);
}

/* smaps streamed (see mv_smaps_parse_file): a process with a huge address
 * space costs its rows, one per distinct label, not its whole smaps text
 * (60,000 mappings: ~60 MB of text per reader). */
static MvPidSmaps *
load_smaps(pid_t pid, MvStatus *status_out, SmapsFile *file, GError **error)
{
  g_autoptr(MvPidSmaps) model = mv_pid_smaps_new();
  MvStatus local_status;
  MvStatus *status = status_out != NULL ? status_out : &local_status;

  if (!mv_pid_smaps_build_from(model, stream_smaps, file, error))
    return NULL;
  /* As mv_pid_read_smaps: only after the whole text was read, and checked
   * the same way. */
  if (!mv_pid_load_status(pid, status, error))
    return NULL;
  if (file->bytes_read == 0 && status->has_mm)
    return mv_set_errno(error, ENOENT, "process %d changed while being read", (int) pid), NULL;
  if (file->bytes_read > 0 && !status->has_mm)
    return mv_set_errno(error, ENOENT, "process %d exited while being read", (int) pid), NULL;
  return g_steal_pointer(&model);
}

MvPidSmaps *
mv_pid_load_smaps(pid_t pid, MvStatus *status_out, GError **error)
{
  SmapsFile file = { pid, 0, FALSE, NULL };

  return load_smaps(pid, status_out, &file, error);
}

MvPidSmaps *
mv_pid_load_smaps_rollup(pid_t pid, MvStatus *status, MvPidRollup *rollup, GError **error)
{
  SmapsFile file = { pid, 0, TRUE, NULL };
  g_autoptr(MvPidSmaps) model = load_smaps(pid, status, &file, error);
  g_autoptr(GString) text = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean ok;

  if (model == NULL || !status->has_mm) {
    /* no address space: its smaps is empty, its rollup values 0 */
    mv_proc_read_discard(file.rollup);
    memset(rollup, 0, sizeof *rollup);
    return g_steal_pointer(&model);
  }
  if (file.rollup == NULL)
    return mv_pid_load_rollup(pid, rollup, error) ? g_steal_pointer(&model) : NULL;
  text = g_string_sized_new(1024);
  ok = mv_proc_read_finish(file.rollup, text, &local_error);
  if (!rollup_from_text(pid, ok, text, &local_error, rollup, error))
    return NULL;
  return g_steal_pointer(&model);
}
