/* SPDX-License-Identifier: MIT */
/*
 * The text printers of the statistics (libspanalloc-stats), generated from
 * the X-macro lists of include/spanalloc-stats.h, so that a new field shows
 * up in every printer. The fd printers use fixed buffers and write(2): no
 * stdio, no malloc.
 */
#include "sa-base.h"
#include "spanalloc-stats.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* An empty buffer writing to @fd (the buffer itself is left as it is). */
static void sa_out_init(struct sa_outbuf *o, int fd)
{
	o->fd = fd;
	o->err = 0;
	o->len = 0;
}

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
	sa_out_init(&o, fd);
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
	sa_out_init(&o, fd);
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

#define SA_FD_ARENA_HDR(name, desc) sa_out_str(&o, " " #name);
#define SA_FD_ARENA_CELL(name, desc) sa_out_str(&o, " "); sa_out_u64(&o, r->name);

SA_EXPORT int sa_arenas_print_fd(int fd, const struct sa_arena_table *t)
{
	if (fd < 0 || !t)
		return EINVAL;
	struct sa_outbuf o;
	sa_out_init(&o, fd);
	sa_out_str(&o, "arenas_total ");
	sa_out_u64(&o, t->arenas_total);
	sa_out_str(&o, "\npages_total ");
	sa_out_u64(&o, t->pages_total);
	sa_out_str(&o, "\n#");
	SA_ARENA_FIELDS(SA_FD_ARENA_HDR)
	/* pages per state, from the page-state map */
	sa_out_str(&o, " unused idle small large released_free released_dontneed\n");
	uint64_t n = t->narenas < SA_STATS_MAX_ARENAS ? t->narenas : SA_STATS_MAX_ARENAS;
	for (uint64_t k = 0; k < n; k++) {
		const struct sa_arena_stats *r = &t->arenas[k];
		SA_ARENA_FIELDS(SA_FD_ARENA_CELL)
		uint64_t count[6] = { 0 };
		for (uint64_t i = 0; i < r->length / SA_PAGE_SIZE; i++) {
			if (r->first_page + i >= t->npages)
				break;
			unsigned st = sa_page_state_at(t, r->first_page + i);
			if (st < 6)
				count[st]++;
		}
		for (int st = 0; st < 6; st++) {
			sa_out_str(&o, " ");
			sa_out_u64(&o, count[st]);
		}
		sa_out_str(&o, "\n");
	}
	sa_out_flush(&o);
	return o.err;
}
