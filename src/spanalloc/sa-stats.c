/* SPDX-License-Identifier: MIT */
/*
 * Statistics: collection (exact when no other thread allocates meanwhile)
 * and the text printers, generated from the X-macro lists of
 * include/spanalloc-stats.h.
 *
 * Per class: objects_inuse = out (handed to caches by the central list)
 * - objects sitting in thread caches - objects orphaned at fork;
 * mallocs = per-thread counters (+ exited threads); frees = mallocs - live.
 */
#include "sa-internal.h"
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

void sa_stats_collect(struct sa_stats *out)
{
	uint64_t cached[SA_NUM_CLASSES] = { 0 }, nmalloc[SA_NUM_CLASSES] = { 0 };
	memset(out, 0, sizeof(*out));

	sa_lock(&sa_reg_lock);
	for (struct sa_tcache *tc = sa_reg_head; tc; tc = tc->next) {
		out->threads++;
		for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
			cached[c] += __atomic_load_n(&tc->bins[c].count, __ATOMIC_RELAXED);
			nmalloc[c] += __atomic_load_n(&tc->bins[c].nmalloc, __ATOMIC_RELAXED);
		}
	}
	sa_unlock(&sa_reg_lock);

	out->nclasses = SA_NUM_CLASSES - 1;
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
		struct sa_class_stats *cs = &out->classes[c - 1];
		uint64_t outn = 0, spans = 0;
		for (uint32_t sh = 0; sh < SA_SHARDS; sh++) {
			struct sa_central *ce = &sa_centrals[sh][c];
			sa_lock(&ce->lock);
			outn += ce->out;
			spans += ce->nspans;
			sa_unlock(&ce->lock);
		}
		uint64_t orphan = __atomic_load_n(&sa_orphaned[c], __ATOMIC_RELAXED);
		uint64_t dead = __atomic_load_n(&sa_dead_nmalloc[c], __ATOMIC_RELAXED);
		cs->class_id = c;
		cs->size = sa_class_size_table[c];
		cs->pages_per_span = sa_class_pages_table[c];
		cs->objects_per_span = sa_class_objs(c);
		cs->spans = spans;
		uint64_t gone = cached[c] + orphan;
		cs->objects_inuse = outn > gone ? outn - gone : 0;
		cs->objects_free = spans * cs->objects_per_span - cs->objects_inuse;
		cs->mallocs = nmalloc[c] + dead;
		out->heap_objects += cs->objects_inuse;
		out->heap_alloc += cs->objects_inuse * cs->size;
		out->mallocs += cs->mallocs;
		out->tcache_bytes += cached[c] * cs->size;
		out->central_free_bytes += (spans * cs->objects_per_span - (outn < spans * cs->objects_per_span ? outn : spans * cs->objects_per_span)) * cs->size;
	}

	struct sa_heap_counters h;
	sa_heap_counters(&h);
	out->heap_sys = h.sys_pages << SA_PAGE_SHIFT;
	out->heap_inuse = h.inuse_pages << SA_PAGE_SHIFT;
	out->heap_idle = out->heap_sys - out->heap_inuse;
	out->heap_released_free = h.rel_free_pages << SA_PAGE_SHIFT;
	out->heap_released_dontneed = h.rel_dontneed_pages << SA_PAGE_SHIFT;
	out->heap_released = out->heap_released_free + out->heap_released_dontneed;
	out->large_allocs = h.large_allocs;
	out->large_frees = h.large_frees;
	out->large_inuse = h.large_inuse_pages << SA_PAGE_SHIFT;
	out->heap_objects += h.large_inuse_objs;
	out->heap_alloc += out->large_inuse;
	out->mallocs += h.large_allocs;
	out->frees = out->mallocs - out->heap_objects;
	out->arenas = h.arenas;
	out->scavenges = h.scavenges;

	struct sa_meta_counters m;
	sa_meta_counters(&m);
	out->meta_sys = m.meta_sys;
	out->span_sys = m.span_sys;
	out->span_inuse = m.span_inuse;
	out->sys = out->heap_sys + out->meta_sys;
	out->pages_per_span_unit = SA_PAGE_SIZE;
	out->release_mode = (uint64_t)__atomic_load_n(&sa_release_mode_cur, __ATOMIC_RELAXED);
	out->scavenge_delay_ms = sa_scavenge_delay_ms;
}

void sa_spans_collect(struct sa_span_table *t)
{
	t->nspans = 0;
	t->spans_total = 0;
	sa_central_spans(t);
	sa_heap_spans(t);
}

/* ---------- printers ---------- */
#define SA_PRINT_FIELD(name, desc) fprintf(f, "%-24s %" PRIu64 "\n", #name, s->name);
#define SA_PRINT_HDR(name, desc) fprintf(f, " %s", #name);
#define SA_PRINT_CELL(name, desc) fprintf(f, " %" PRIu64, cs->name);

SA_EXPORT int sa_stats_print(FILE *f, const struct sa_stats *s)
{
	if (!f || !s)
		return EINVAL;
	SA_STATS_FIELDS(SA_PRINT_FIELD)
	uint64_t n = s->nclasses < SA_STATS_MAX_CLASSES ? s->nclasses : SA_STATS_MAX_CLASSES;
	fprintf(f, "#");
	SA_CLASS_FIELDS(SA_PRINT_HDR)
	fprintf(f, "\n");
	for (uint64_t i = 0; i < n; i++) {
		const struct sa_class_stats *cs = &s->classes[i];
		SA_CLASS_FIELDS(SA_PRINT_CELL)
		fprintf(f, "\n");
	}
	return ferror(f) ? EIO : 0;
}

/* Fixed-buffer formatting for the fd printer: no stdio, no malloc. */
struct sa_outbuf {
	int fd;
	int err;
	size_t len;
	char buf[4096];
};

static void sa_out_flush(struct sa_outbuf *o)
{
	size_t off = 0;
	while (off < o->len && !o->err) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			o->err = errno;
		} else {
			off += (size_t)w;
		}
	}
	o->len = 0;
}

static void sa_out_str(struct sa_outbuf *o, const char *str)
{
	for (; *str; str++) {
		if (o->len == sizeof(o->buf))
			sa_out_flush(o);
		o->buf[o->len++] = *str;
	}
}

static void sa_out_u64(struct sa_outbuf *o, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	char s[24];
	for (int i = 0; i < n; i++)
		s[i] = tmp[n - 1 - i];
	s[n] = 0;
	sa_out_str(o, s);
}

static void sa_out_pad(struct sa_outbuf *o, const char *name, size_t width)
{
	sa_out_str(o, name);
	for (size_t l = strlen(name); l < width; l++)
		sa_out_str(o, " ");
}

#define SA_FD_FIELD(name, desc) sa_out_pad(&o, #name, 25); sa_out_u64(&o, s->name); sa_out_str(&o, "\n");
#define SA_FD_HDR(name, desc) sa_out_str(&o, " " #name);
#define SA_FD_CELL(name, desc) sa_out_str(&o, " "); sa_out_u64(&o, cs->name);

SA_EXPORT int sa_stats_print_fd(int fd, const struct sa_stats *s)
{
	if (fd < 0 || !s)
		return EINVAL;
	struct sa_outbuf o;
	o.fd = fd;
	o.err = 0;
	o.len = 0;
	SA_STATS_FIELDS(SA_FD_FIELD)
	uint64_t n = s->nclasses < SA_STATS_MAX_CLASSES ? s->nclasses : SA_STATS_MAX_CLASSES;
	sa_out_str(&o, "#");
	SA_CLASS_FIELDS(SA_FD_HDR)
	sa_out_str(&o, "\n");
	for (uint64_t i = 0; i < n; i++) {
		const struct sa_class_stats *cs = &s->classes[i];
		SA_CLASS_FIELDS(SA_FD_CELL)
		sa_out_str(&o, "\n");
	}
	sa_out_flush(&o);
	return o.err;
}

#define SA_FD_SPAN_HDR(name, desc) sa_out_str(&o, " " #name);
#define SA_FD_SPAN_CELL(name, desc) sa_out_str(&o, " "); sa_out_u64(&o, r->name);

SA_EXPORT int sa_spans_print_fd(int fd, const struct sa_span_table *t)
{
	if (fd < 0 || !t)
		return EINVAL;
	struct sa_outbuf o;
	o.fd = fd;
	o.err = 0;
	o.len = 0;
	sa_out_str(&o, "spans_total ");
	sa_out_u64(&o, t->spans_total);
	sa_out_str(&o, "\n#");
	SA_SPAN_FIELDS(SA_FD_SPAN_HDR)
	sa_out_str(&o, "\n");
	uint64_t n = t->nspans < SA_STATS_MAX_SPANS ? t->nspans : SA_STATS_MAX_SPANS;
	for (uint64_t i = 0; i < n; i++) {
		const struct sa_span_stats *r = &t->spans[i];
		SA_SPAN_FIELDS(SA_FD_SPAN_CELL)
		sa_out_str(&o, "\n");
	}
	sa_out_flush(&o);
	return o.err;
}
