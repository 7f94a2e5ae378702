/* SPDX-License-Identifier: MIT */
/* Metadata pools: span descriptors and arena page maps come from the
 * allocator's own mmap'd memory (never malloc), so it can bootstrap under
 * LD_PRELOAD before libc is initialised. */
#include "sa-meta.h"
#include "spanalloc-stats.h"
#include "sa-os.h"
#include "sa-span.h"
#include <string.h>

#define SA_META_CHUNK ((size_t)64 << 10) /* bytes per span-descriptor pool chunk */

sa_lock_t sa_meta_lock;
static struct sa_span *sa_span_freelist;
static char *sa_span_chunk_cur, *sa_span_chunk_end;
static uint64_t sa_meta_sys_bytes, sa_span_sys_bytes, sa_span_inuse_count;

void *sa_meta_alloc_pages(size_t bytes)
{
	bytes = (bytes + 4095) & ~(size_t)4095;
	void *p = sa_os_map(bytes, 4096);
	if (!p)
		return NULL;
	sa_os_name(p, bytes, SA_META_VMA_NAME);
	sa_lock(&sa_meta_lock);
	sa_meta_sys_bytes += bytes;
	sa_unlock(&sa_meta_lock);
	return p;
}

struct sa_span *sa_meta_span_new(void)
{
	sa_lock(&sa_meta_lock);
	struct sa_span *s = sa_span_freelist;
	if (s) {
		sa_span_freelist = s->next;
	} else {
		if (sa_span_chunk_cur + sizeof(*s) > sa_span_chunk_end) {
			char *c = sa_os_map(SA_META_CHUNK, 4096);
			if (!c) {
				sa_unlock(&sa_meta_lock);
				return NULL;
			}
			sa_os_name(c, SA_META_CHUNK, SA_META_VMA_NAME);
			sa_meta_sys_bytes += SA_META_CHUNK;
			sa_span_sys_bytes += SA_META_CHUNK;
			sa_span_chunk_cur = c;
			sa_span_chunk_end = c + SA_META_CHUNK;
		}
		s = (struct sa_span *)sa_span_chunk_cur;
		sa_span_chunk_cur += sizeof(*s);
	}
	sa_span_inuse_count++;
	sa_unlock(&sa_meta_lock);
	memset(s, 0, sizeof(*s));
	return s;
}

void sa_meta_span_delete(struct sa_span *s)
{
	s->state = SA_SPAN_NONE;
	s->cls = 0;
	sa_lock(&sa_meta_lock);
	s->next = sa_span_freelist;
	sa_span_freelist = s;
	sa_span_inuse_count--;
	sa_unlock(&sa_meta_lock);
}

void sa_meta_counters(struct sa_meta_counters *out)
{
	sa_lock(&sa_meta_lock);
	out->meta_sys = sa_meta_sys_bytes;
	out->span_sys = sa_span_sys_bytes;
	out->span_inuse = sa_span_inuse_count * sizeof(struct sa_span);
	sa_unlock(&sa_meta_lock);
}
