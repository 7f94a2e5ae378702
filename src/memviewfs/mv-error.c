/* SPDX-License-Identifier: MIT */
#include "mv-error.h"

G_DEFINE_QUARK(memviewfs-errno-quark, mv_errno)

int
mv_error_errno(const GError *error)
{
  if (error != NULL && error->domain == MV_ERRNO && error->code > 0)
    return error->code;
  return EIO;
}

gboolean
mv_set_errno(GError **error, int errnum, const char *format, ...)
{
  va_list ap;

  if (error == NULL)
    return FALSE;
  va_start(ap, format);
  g_autofree char *message = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error_literal(error, MV_ERRNO, errnum, message);
  return FALSE;
}
