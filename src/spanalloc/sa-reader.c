/* SPDX-License-Identifier: MIT */
/*
 * Reading another process's statistics segment through /proc/<pid> alone
 * (protocol in include/spanalloc-stats.h). No malloc: fixed buffers only, so
 * the reader also works inside a process that runs spanalloc itself.
 */
#include "sa-internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Version 1's layout (frozen): header, then the v1 ladder fields and the
 * class table, then the span table (same row layout as today). */
#define SA_V1_STATS_OFFSET SA_STATS_V1_HEADER_SIZE
#define SA_V1_FIELDS_SIZE ((uint32_t)(SA_STATS_V1_NFIELDS * sizeof(uint64_t)))
#define SA_V1_STATS_SIZE (SA_V1_FIELDS_SIZE + SA_STATS_MAX_CLASSES * (uint32_t)sizeof(struct sa_class_stats))
#define SA_V1_CLASSES_OFFSET (SA_V1_STATS_OFFSET + SA_V1_FIELDS_SIZE)
#define SA_V1_SPANS_OFFSET (SA_V1_STATS_OFFSET + SA_V1_STATS_SIZE)
#define SA_V1_TOTAL_SIZE (SA_V1_SPANS_OFFSET + (uint32_t)sizeof(struct sa_span_table))

_Static_assert(offsetof(struct sa_stats_header, arenas_offset) == SA_STATS_V1_HEADER_SIZE,
	       "version 1 header is a prefix of version 2's");
_Static_assert(offsetof(struct sa_stats, heap_unused) == SA_STATS_V1_NFIELDS * sizeof(uint64_t),
	       "version 2 ladder fields follow version 1's");

/* The layout a segment of version v must have (sizes and offsets, bytes). */
struct sa_layout {
	uint32_t header_size, total_size, stats_offset, stats_size, classes_offset, spans_offset;
};

static void sa_layout_of(uint32_t version, struct sa_layout *l)
{
	if (version == 1) {
		*l = (struct sa_layout){ SA_STATS_V1_HEADER_SIZE, SA_V1_TOTAL_SIZE, SA_V1_STATS_OFFSET,
					 SA_V1_STATS_SIZE, SA_V1_CLASSES_OFFSET, SA_V1_SPANS_OFFSET };
		return;
	}
	*l = (struct sa_layout){ sizeof(struct sa_stats_header), sizeof(struct sa_stats_segment),
				 offsetof(struct sa_stats_segment, stats), sizeof(struct sa_stats),
				 offsetof(struct sa_stats_segment, stats.classes),
				 offsetof(struct sa_stats_segment, spans) };
}

static int sa_validate_arenas(const struct sa_stats_header *h, const void *buf)
{
	if (h->max_arenas != SA_STATS_MAX_ARENAS || h->max_pages != SA_STATS_MAX_PAGES ||
	    h->arena_entry_size != sizeof(struct sa_arena_stats) ||
	    h->arenas_offset != offsetof(struct sa_stats_segment, arenas) ||
	    (uint64_t)h->arenas_offset + sizeof(struct sa_arena_table) > h->total_size)
		return EINVAL;
	const struct sa_arena_table *t =
		(const struct sa_arena_table *)((const char *)buf + h->arenas_offset);
	if (t->narenas > h->max_arenas || t->narenas > t->arenas_total ||
	    t->npages > h->max_pages || t->npages > t->pages_total)
		return EINVAL;
	uint64_t next = 0;
	for (uint64_t k = 0; k < t->narenas; k++) {
		const struct sa_arena_stats *r = &t->arenas[k];
		/* whole pages, in map order, inside the address space */
		if (r->length == 0 || r->length % SA_PAGE_SIZE || r->heap_bytes > r->length ||
		    r->heap_bytes % SA_PAGE_SIZE || r->start % SA_PAGE_SIZE ||
		    r->start + r->length < r->start || r->first_page != next ||
		    r->first_page > t->npages)
			return EINVAL;
		next = r->first_page + r->length / SA_PAGE_SIZE;
	}
	return 0;
}

SA_EXPORT int sa_stats_segment_validate(const void *buf, size_t len)
{
	const struct sa_stats_header *h = buf;
	if (!buf || len < SA_STATS_V1_HEADER_SIZE)
		return EINVAL;
	if (h->magic != SA_STATS_MAGIC || h->version < SA_STATS_VERSION_MIN ||
	    h->version > SA_STATS_VERSION)
		return EPROTO;
	struct sa_layout l;
	sa_layout_of(h->version, &l);
	if (h->header_size != l.header_size || h->total_size != l.total_size || h->total_size > len)
		return EINVAL;
	if (h->stats_offset < h->header_size || h->stats_size != l.stats_size ||
	    (uint64_t)h->stats_offset + h->stats_size > h->total_size ||
	    h->stats_offset != l.stats_offset)
		return EINVAL;
	if (h->max_classes != SA_STATS_MAX_CLASSES ||
	    h->class_entry_size != sizeof(struct sa_class_stats) ||
	    h->classes_offset != l.classes_offset ||
	    (uint64_t)h->classes_offset + (uint64_t)h->max_classes * h->class_entry_size > h->total_size)
		return EINVAL;
	if (h->max_spans != SA_STATS_MAX_SPANS ||
	    h->span_entry_size != sizeof(struct sa_span_stats) ||
	    h->spans_offset != l.spans_offset ||
	    (uint64_t)h->spans_offset + sizeof(struct sa_span_table) > h->total_size)
		return EINVAL;
	if (h->version >= 2) {
		int e = sa_validate_arenas(h, buf);
		if (e)
			return e;
	}
	if (h->seq & 1)
		return EAGAIN;
	/* nclasses is the last version 1 field: same place in both versions */
	const struct sa_stats *s = (const struct sa_stats *)((const char *)buf + h->stats_offset);
	if (s->nclasses > h->max_classes)
		return EINVAL;
	const struct sa_span_table *t =
		(const struct sa_span_table *)((const char *)buf + h->spans_offset);
	if (t->nspans > h->max_spans || t->nspans > t->spans_total)
		return EINVAL;
	return 0;
}

/* Rewrites a validated version 1 image at the start of `seg` into this
 * header's layout. Every section moves to a higher offset, so moving them
 * last to first never overwrites one not yet moved. */
static void sa_upgrade_v1(struct sa_stats_segment *seg)
{
	char *b = (char *)seg;
	memmove(&seg->spans, b + SA_V1_SPANS_OFFSET, sizeof(struct sa_span_table));
	memmove(seg->stats.classes, b + SA_V1_CLASSES_OFFSET,
		SA_STATS_MAX_CLASSES * sizeof(struct sa_class_stats));
	memmove(&seg->stats, b + SA_V1_STATS_OFFSET, SA_V1_FIELDS_SIZE);
	memset((char *)&seg->stats + SA_V1_FIELDS_SIZE, 0,
	       offsetof(struct sa_stats, classes) - SA_V1_FIELDS_SIZE);
	memset(&seg->arenas, 0, sizeof(seg->arenas));
	struct sa_stats_header *h = &seg->hdr;
	memset((char *)h + SA_STATS_V1_HEADER_SIZE, 0, sizeof(*h) - SA_STATS_V1_HEADER_SIZE);
	h->header_size = sizeof(*h);
	h->total_size = sizeof(*seg);
	h->stats_offset = offsetof(struct sa_stats_segment, stats);
	h->stats_size = sizeof(struct sa_stats);
	h->classes_offset = offsetof(struct sa_stats_segment, stats.classes);
	h->spans_offset = offsetof(struct sa_stats_segment, spans);
	h->arenas_offset = offsetof(struct sa_stats_segment, arenas);
	h->arena_entry_size = sizeof(struct sa_arena_stats);
	h->max_arenas = SA_STATS_MAX_ARENAS;
	h->max_pages = SA_STATS_MAX_PAGES;
	/* version 1 rebuilt its span table at most once per second: age unknown */
	h->tables_time_ns = 0;
}

static int sa_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses "<start>-<end> " at the start of a maps line. */
static bool sa_parse_range(const char *l, const char *end, uint64_t *start, uint64_t *stop)
{
	uint64_t v[2] = { 0, 0 };
	int which = 0, digits = 0;
	for (; l < end; l++) {
		int d = sa_hexval(*l);
		if (d >= 0) {
			if (++digits > 16)
				return false;
			v[which] = v[which] * 16 + (uint64_t)d;
		} else if (*l == '-' && which == 0 && digits) {
			which = 1;
			digits = 0;
		} else {
			break;
		}
	}
	if (which != 1 || !digits || v[1] <= v[0])
		return false;
	*start = v[0];
	*stop = v[1];
	return true;
}

static bool sa_line_is_segment(const char *l, const char *end)
{
	static const char name[] = "/memfd:" SA_STATS_MEMFD_NAME;
	size_t nl = sizeof(name) - 1;
	for (const char *p = l; p + nl <= end; p++)
		if (memcmp(p, name, nl) == 0) {
			const char *after = p + nl;
			return after == end || *after == ' ' || *after == '\n';
		}
	return false;
}

/* Finds the segment's address range in an open /proc/<pid>/maps. */
static int sa_find_segment(int fd, uint64_t *start, uint64_t *stop)
{
	char buf[8192];
	size_t have = 0;
	int found = ENOENT;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			found = errno;
			break;
		}
		have += (size_t)r;
		size_t pos = 0;
		for (;;) {
			char *nl = memchr(buf + pos, '\n', have - pos);
			if (!nl)
				break;
			if (found == ENOENT && sa_line_is_segment(buf + pos, nl) &&
			    sa_parse_range(buf + pos, nl, start, stop))
				found = 0;
			pos = (size_t)(nl - buf) + 1;
		}
		if (pos == 0 && have == sizeof(buf))
			pos = have; /* absurdly long line: skip it */
		memmove(buf, buf + pos, have - pos);
		have -= pos;
		if (r == 0 || found == 0)
			break;
	}
	return found;
}

static int sa_pread_full(int fd, void *dst, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(fd, (char *)dst + got, len - got, off + (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EIO ? EINVAL : errno;
		}
		if (r == 0)
			return EINVAL; /* shorter than it claims */
		got += (size_t)r;
	}
	return 0;
}

SA_EXPORT int sa_stats_read_pid(pid_t pid, struct sa_stats_segment_copy *out)
{
	if (pid <= 0 || !out)
		return EINVAL;
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	int dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno;
	int maps_fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC);
	int e = maps_fd < 0 ? errno : sa_stats_read_at(dirfd, maps_fd, out);
	if (maps_fd >= 0)
		close(maps_fd);
	close(dirfd);
	return e;
}

SA_EXPORT int sa_stats_read_at(int proc_dirfd, int maps_fd, struct sa_stats_segment_copy *out)
{
	if (proc_dirfd < 0 || maps_fd < 0 || !out)
		return EINVAL;
	uint64_t start, stop;
	int e = sa_find_segment(maps_fd, &start, &stop);
	if (e)
		return e;
	if (stop - start < SA_STATS_V1_HEADER_SIZE)
		return EINVAL;
	size_t len = sizeof(out->seg);
	if (stop - start < len)
		len = (size_t)(stop - start);

	/* map_files gives the memfd itself (offset 0; CAP_SYS_ADMIN or
	 * CAP_CHECKPOINT_RESTORE); mem the address (PTRACE_MODE_ATTACH) */
	char path[96];
	off_t base = 0;
	snprintf(path, sizeof(path), "map_files/%llx-%llx", (unsigned long long)start,
		 (unsigned long long)stop);
	int fd = openat(proc_dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fd = openat(proc_dirfd, "mem", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return errno;
		base = (off_t)start;
	}
	int err = EAGAIN;
	for (int attempt = 0; attempt < SA_STATS_READ_RETRIES; attempt++) {
		memset(out, 0, sizeof(*out));
		/* the header says how long this version's segment is: reading
		 * past it would hit the end of the memfd */
		e = sa_pread_full(fd, &out->seg, SA_STATS_V1_HEADER_SIZE, base);
		size_t rlen = len;
		if (!e && out->seg.hdr.total_size >= SA_STATS_V1_HEADER_SIZE &&
		    out->seg.hdr.total_size < rlen)
			rlen = out->seg.hdr.total_size;
		if (!e)
			e = sa_pread_full(fd, &out->seg, rlen, base);
		if (e) {
			err = e;
			break;
		}
		e = sa_stats_segment_validate(&out->seg, rlen);
		if (e == EAGAIN) {
			usleep(10);
			continue;
		}
		if (e) {
			err = e;
			break;
		}
		uint64_t seq2;
		e = sa_pread_full(fd, &seq2, sizeof(seq2),
				  base + (off_t)offsetof(struct sa_stats_header, seq));
		if (e) {
			err = e;
			break;
		}
		if (seq2 == out->seg.hdr.seq) {
			out->source_version = out->seg.hdr.version;
			if (out->source_version == 1) {
				sa_upgrade_v1(&out->seg);
				out->seg.hdr.version = SA_STATS_VERSION; /* now in this layout */
			}
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
}
