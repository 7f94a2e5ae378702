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

SA_EXPORT int sa_stats_segment_validate(const void *buf, size_t len)
{
	const struct sa_stats_header *h = buf;
	if (!buf || len < sizeof(*h))
		return EINVAL;
	if (h->magic != SA_STATS_MAGIC || h->version != SA_STATS_VERSION)
		return EPROTO;
	if (h->header_size != sizeof(struct sa_stats_header) ||
	    h->total_size != sizeof(struct sa_stats_segment) || h->total_size > len)
		return EINVAL;
	if (h->stats_offset < h->header_size || h->stats_size != sizeof(struct sa_stats) ||
	    (uint64_t)h->stats_offset + h->stats_size > h->total_size ||
	    h->stats_offset != offsetof(struct sa_stats_segment, stats))
		return EINVAL;
	if (h->max_classes != SA_STATS_MAX_CLASSES ||
	    h->class_entry_size != sizeof(struct sa_class_stats) ||
	    h->classes_offset != offsetof(struct sa_stats_segment, stats.classes) ||
	    (uint64_t)h->classes_offset + (uint64_t)h->max_classes * h->class_entry_size > h->total_size)
		return EINVAL;
	if (h->max_spans != SA_STATS_MAX_SPANS ||
	    h->span_entry_size != sizeof(struct sa_span_stats) ||
	    h->spans_offset != offsetof(struct sa_stats_segment, spans) ||
	    (uint64_t)h->spans_offset + sizeof(struct sa_span_table) > h->total_size)
		return EINVAL;
	if (h->seq & 1)
		return EAGAIN;
	const struct sa_stats *s = (const struct sa_stats *)((const char *)buf + h->stats_offset);
	if (s->nclasses > h->max_classes)
		return EINVAL;
	const struct sa_span_table *t =
		(const struct sa_span_table *)((const char *)buf + h->spans_offset);
	if (t->nspans > h->max_spans || t->nspans > t->spans_total)
		return EINVAL;
	return 0;
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

/* Finds the segment's address range in /proc/<pid>/maps. */
static int sa_find_segment(pid_t pid, uint64_t *start, uint64_t *stop)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ENOENT : errno;
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
	close(fd);
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
	uint64_t start, stop;
	int e = sa_find_segment(pid, &start, &stop);
	if (e)
		return e;
	if (stop - start < sizeof(struct sa_stats_header))
		return EINVAL;
	size_t len = sizeof(out->seg);
	if (stop - start < len)
		len = (size_t)(stop - start);

	/* map_files gives the memfd itself (offset 0); /proc/<pid>/mem the address. */
	char path[96];
	off_t base = 0;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)start, (unsigned long long)stop);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return errno;
		base = (off_t)start;
	}
	int err = EAGAIN;
	for (int attempt = 0; attempt < SA_STATS_READ_RETRIES; attempt++) {
		memset(out, 0, sizeof(*out));
		e = sa_pread_full(fd, &out->seg, len, base);
		if (e) {
			err = e;
			break;
		}
		e = sa_stats_segment_validate(&out->seg, len);
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
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
}
