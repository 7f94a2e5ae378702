/* SPDX-License-Identifier: MIT */
/* Errors inside the daemon: GError in the MV_ERRNO domain carries an errno
 * value as its code, so that the FUSE front end can answer -code. Parse
 * errors of /proc text use the same domain with EIO (the kernel gave us
 * something we cannot trust: no number is better than a wrong one). */
#pragma once

#include <errno.h>
#include <glib.h>

G_BEGIN_DECLS

#define MV_ERRNO (mv_errno_quark())
GQuark mv_errno_quark(void);

/* The errno to answer for @error: its code in MV_ERRNO, EIO otherwise. */
int mv_error_errno(const GError *error);

/* Sets @error to MV_ERRNO/@errnum with a printf-style message. Returns FALSE
 * so that callers can write `return mv_set_errno(error, ENOENT, ...);`. */
gboolean mv_set_errno(GError **error, int errnum, const char *format, ...) G_GNUC_PRINTF(3, 4);

G_END_DECLS
