/* SPDX-License-Identifier: MIT */
/* /proc/<pid>/pagemap: one 64-bit entry per virtual page of the process
 * (Documentation/admin-guide/mm/pagemap.rst). Only the two bits that need
 * no privilege are used: present (bit 63) and swapped (bit 62); the page
 * frame number (bits 0-54) reads as 0 without CAP_SYS_ADMIN and is ignored.
 * Opening it needs PTRACE_MODE_READ on the process, like smaps. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "mv-error.h"

G_BEGIN_DECLS

#define MV_PAGEMAP_PRESENT (G_GUINT64_CONSTANT(1) << 63) /* the page is in RAM */
#define MV_PAGEMAP_SWAPPED (G_GUINT64_CONSTANT(1) << 62) /* the page is in swap */
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

/* Clears the present bit of the @n @entries that map the zero page
 * @zero_pfn (nothing when @zero_pfn is 0), so that "present" means what
 * smaps counts as resident. */
void mv_pagemap_drop_zero_page(guint64 *entries, gsize n, guint64 zero_pfn);

G_END_DECLS
