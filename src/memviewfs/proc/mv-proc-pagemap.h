/* SPDX-License-Identifier: MIT */
/* /proc/<pid>/pagemap: one 64-bit entry per virtual page of the process
 * (Documentation/admin-guide/mm/pagemap.rst). Used: present (bit 63),
 * swapped (bit 62), file-page-or-shared-anon (bit 61), exclusively mapped
 * (bit 56), and the page frame number (bits 0-54), which reads as 0 when the
 * file was opened without CAP_SYS_ADMIN, only to recognise the zero page.
 * Opening it needs PTRACE_MODE_READ on the process, like smaps. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "mv-error.h"

G_BEGIN_DECLS

#define MV_PAGEMAP_PRESENT (G_GUINT64_CONSTANT(1) << 63) /* the page is in RAM */
#define MV_PAGEMAP_SWAPPED (G_GUINT64_CONSTANT(1) << 62) /* the page is in swap */
#define MV_PAGEMAP_FILE (G_GUINT64_CONSTANT(1) << 61) /* file page or shared anonymous */
#define MV_PAGEMAP_EXCLUSIVE (G_GUINT64_CONSTANT(1) << 56) /* mapped by this process only */
#define MV_PAGEMAP_PFN_MASK ((G_GUINT64_CONSTANT(1) << 55) - 1) /* bits 0-54 */

/* Opens /proc/<pid>/pagemap; the open's errno is kept (ENOENT, EACCES...). */
int mv_pagemap_open(pid_t pid, GError **error);

/* Reads the entries of the pages [@start, @end) (addresses, multiples of
 * @page_size bytes) into @entries, (@end - @start) / @page_size of them. */
gboolean mv_pagemap_read(int fd, guint64 start, guint64 end, gsize page_size, guint64 *entries,
                         GError **error);

/* The page frame of the kernel's shared zero page, which a read of a never
 * written anonymous page maps: pagemap calls such a page present, smaps
 * does not count it in Rss (it is no memory of the process). 0 when it
 * cannot be learnt (PFNs read as 0 without CAP_SYS_ADMIN). Computed once. */
guint64 mv_pagemap_zero_pfn(void);

/* Clears the present bit of the @n @entries that map the zero page, so that
 * "present" means what smaps counts as resident. Returns how many.
 * - An entry with a page frame: it is the zero page when the frame is
 *   @zero_pfn (0: unknown, nothing is cleared).
 * - An entry without one (the reader lacks CAP_SYS_ADMIN): the kernel sets
 *   neither the exclusive nor the file bit for the zero page (it is no page
 *   of the process), but neither does it for an anonymous page that another
 *   process maps too (after fork, before either writes it). When
 *   @none_shared_anon (smaps Shared_Clean + Shared_Dirty of the mappings
 *   read are 0), such an entry can only be the zero page, and is cleared;
 *   otherwise it is kept (counted resident): the two cannot be told apart. */
gsize mv_pagemap_drop_zero_page(guint64 *entries, gsize n, guint64 zero_pfn,
                                gboolean none_shared_anon);

G_END_DECLS
