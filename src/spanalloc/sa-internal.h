/* SPDX-License-Identifier: MIT */
/*
 * spanalloc internals, all of them: includes every internal header, for the
 * tests and fuzz targets. The library's own files include only the headers
 * they need, so that the include graph stays a DAG (dev/check-includes).
 *
 * Layers, one direction: thread cache (sa-tcache.h, sa-tcache.c, no locks)
 * -> central lists (sa-central.c, one lock per class) -> page heap
 * (sa-heap.c, one lock) -> OS (sa-os.c, mmap/madvise). Metadata comes from
 * sa-meta.c (own mmap'd pools, never malloc). Lock order: publish ->
 * registry -> class -> heap -> meta.
 *
 * Headers, bottom up: sa-base.h (types, visibility, hints); sa-os.h (locks,
 * sa_die, SA_ASSERT, OS calls); sa-options.h (SPANALLOC_* options and the
 * settings from them); sa-span.h (span descriptor, page map);
 * sa-sizeclass.h; sa-freelist.h (encoded links); sa-meta.h; sa-heap.h;
 * sa-central.h; sa-tcache-state.h (caches' data, registry);
 * sa-background-state.h; sa-stats.h; sa-publish.h; sa-background.h;
 * sa-init.h (start-up, registry functions); sa-fork.h; sa-large.h;
 * sa-tcache.h (the inline fast paths); sa-api.h. The stats reader
 * (libspanalloc-stats) uses only sa-base.h and sa-reader.h.
 */
#ifndef SA_INTERNAL_H
#define SA_INTERNAL_H

#include "spanalloc.h"
#include "sa-base.h"
#include "sa-reader.h"
#include "sa-os.h"
#include "sa-options.h"
#include "sa-span.h"
#include "sa-sizeclass.h"
#include "sa-freelist.h"
#include "sa-meta.h"
#include "sa-heap.h"
#include "sa-central.h"
#include "sa-tcache-state.h"
#include "sa-background-state.h"
#include "sa-stats.h"
#include "sa-publish.h"
#include "sa-background.h"
#include "sa-init.h"
#include "sa-fork.h"
#include "sa-large.h"
#include "sa-tcache.h"
#include "sa-api.h"

#endif
