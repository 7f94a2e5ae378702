/* SPDX-License-Identifier: MIT */
/*
 * Reading another process's statistics segment through /proc/<pid> alone
 * (protocol in include/spanalloc-stats.h). No malloc: fixed buffers only, so
 * the reader also works inside a process that runs spanalloc itself.
 */
#include "sa-base.h"
#include "sa-reader.h"
#include "spanalloc-stats.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
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

static const char *sa_skip_blanks(const char *l, const char *end)
{
	while (l < end && *l == ' ')
		l++;
	return l;
}

/* Reads one field of hex (@base 16) or decimal digits, then one ' ' or ':'
 * (@sep) unless @sep is 0. */
static const char *sa_scan_number(const char *l, const char *end, int base, char sep,
				  uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;
	for (; l < end; l++) {
		int d = sa_hexval(*l);
		if (d < 0 || d >= base)
			break;
		if (++digits > 16 || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return NULL;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (!digits)
		return NULL;
	if (sep) {
		if (l >= end || *l != sep)
			return NULL;
		l++;
	}
	*out = v;
	return l;
}

SA_HIDDEN bool sa_maps_line_parse(const char *l, const char *end, struct sa_maps_segment *out)
{
	static const char name[] = "/memfd:" SA_STATS_MEMFD_NAME;
	static const char deleted[] = " (deleted)";
	const size_t nl = sizeof(name) - 1, dl = sizeof(deleted) - 1;
	uint64_t offset, major, minor, inode;

	if (!sa_parse_range(l, end, &out->start, &out->stop))
		return false;
	l = memchr(l, ' ', (size_t)(end - l));
	/* the writer maps it MAP_SHARED, read and write, from offset 0 */
	if (!l || end - l < 6 || memcmp(l, " rw", 3) != 0 || l[4] != 's' || l[5] != ' ')
		return false;
	l += 6;
	if (!(l = sa_scan_number(l, end, 16, ' ', &offset)) || offset != 0 ||
	    !(l = sa_scan_number(l, end, 16, ':', &major)) ||
	    !(l = sa_scan_number(l, end, 16, ' ', &minor)) ||
	    !(l = sa_scan_number(l, end, 10, 0, &inode)))
		return false;
	if (l >= end || *l != ' ')
		return false;
	l = sa_skip_blanks(l, end);
	/* exactly the memfd's name: not a path that merely contains it */
	size_t left = (size_t)(end - l);
	if (left < nl || memcmp(l, name, nl) != 0)
		return false;
	l += nl;
	left -= nl;
	if (!(left == 0 || (left == dl && memcmp(l, deleted, dl) == 0)))
		return false;
	out->dev_major = major;
	out->dev_minor = minor;
	out->inode = inode;
	return true;
}

/* The device every memfd lives on (the kernel's internal tmpfs mount,
 * shared by all memfds without MFD_HUGETLB, which the writer does not use):
 * a mapping named like the segment on any other device is an impostor. */
static int sa_memfd_device(dev_t *out)
{
	static dev_t cached;
	static int have; /* 0 unknown, 1 cached */
	if (__atomic_load_n(&have, __ATOMIC_ACQUIRE)) {
		*out = cached;
		return 0;
	}
	int fd = (int)syscall(SYS_memfd_create, "spanalloc-probe", 1u /* MFD_CLOEXEC */);
	if (fd < 0)
		return errno;
	struct stat st;
	int e = fstat(fd, &st) == 0 ? 0 : errno;
	close(fd);
	if (e)
		return e;
	cached = st.st_dev;
	__atomic_store_n(&have, 1, __ATOMIC_RELEASE);
	*out = st.st_dev;
	return 0;
}

SA_HIDDEN int sa_status_nspid(const char *text, size_t len, uint64_t *out)
{
	static const char key[] = "\nNSpid:";
	const size_t kl = sizeof(key) - 1;
	const char *end = text + len;
	for (const char *p = text; p + kl <= end; p++) {
		if (memcmp(p, key, kl) != 0)
			continue;
		const char *l = p + kl;
		const char *eol = memchr(l, '\n', (size_t)(end - l));
		if (!eol)
			return EINVAL; /* cut off */
		int found = 0;
		for (;;) {
			while (l < eol && (*l == ' ' || *l == '\t'))
				l++;
			if (l == eol)
				break;
			if (!(l = sa_scan_number(l, eol, 10, 0, out)))
				return EINVAL;
			found = 1; /* the last one: the pid in the process's own namespace */
		}
		return found ? 0 : EINVAL;
	}
	return ENOENT;
}

/* The pid of the process of @proc_dirfd (/proc/<pid>) in its own pid
 * namespace (what its getpid() returned when it wrote the segment): the last
 * NSpid of its status, or its Pid on a kernel without NSpid. */
static int sa_own_namespace_pid(int proc_dirfd, uint64_t *out)
{
	char buf[4096];
	int fd = openat(proc_dirfd, "status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	size_t have = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have == sizeof(buf) - 1)
			break;
	}
	close(fd);
	int e = sa_status_nspid(buf, have, out);
	if (e == ENOENT) {
		/* a kernel without NSpid has one pid namespace: the Pid line */
		static const char key[] = "\nPid:";
		const char *p = memmem(buf, have, key, sizeof(key) - 1);
		if (!p)
			return EINVAL;
		p += sizeof(key) - 1;
		const char *end = buf + have;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol || !sa_scan_number(p, eol, 10, 0, out))
			return EINVAL;
		return 0;
	}
	return e;
}

/* Finds the segment's mapping in an open /proc/<pid>/maps. */
static int sa_find_segment(int fd, struct sa_maps_segment *seg)
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
			if (found == ENOENT && sa_maps_line_parse(buf + pos, nl, seg))
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

/* Opens the segment's bytes, having made sure they are a memfd's: reading
 * anything else could block forever (a FUSE file whose read never answers,
 * mapped under the segment's name by a hostile process). Returns the fd and
 * the offset of the segment in it. */
static int sa_open_segment(int proc_dirfd, const struct sa_maps_segment *seg, int *fd_out,
			   off_t *base_out)
{
	dev_t memfd_dev;
	int e = sa_memfd_device(&memfd_dev);
	if (e)
		return e;
	/* the kernel's own record of the mapping: a memfd's device */
	if (seg->dev_major != major(memfd_dev) || seg->dev_minor != minor(memfd_dev))
		return EINVAL;

	/* map_files gives the memfd itself (offset 0), needs CAP_SYS_ADMIN or
	 * CAP_CHECKPOINT_RESTORE; the file opened is checked again (fstatfs,
	 * device and inode), so a mapping replaced since maps was read is
	 * refused, not read. */
	char path[96];
	snprintf(path, sizeof(path), "map_files/%llx-%llx", (unsigned long long)seg->start,
		 (unsigned long long)seg->stop);
	int fd = openat(proc_dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct statfs sfs;
		struct stat st;
		if (fstatfs(fd, &sfs) != 0 || fstat(fd, &st) != 0 ||
		    (sfs.f_type != TMPFS_MAGIC && sfs.f_type != HUGETLBFS_MAGIC) ||
		    st.st_dev != memfd_dev || st.st_ino != (ino_t)seg->inode ||
		    !S_ISREG(st.st_mode)) {
			close(fd);
			return EINVAL;
		}
		*fd_out = fd;
		*base_out = 0;
		return 0;
	}
	/* /proc/<pid>/mem at the address (needs ptrace-read access to pid). The
	 * maps line said memfd; a process that swaps the mapping for another
	 * file between that read and this one can stall only a reader it could
	 * already ptrace (same user), never root's map_files path above. */
	fd = openat(proc_dirfd, "mem", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	*fd_out = fd;
	*base_out = (off_t)seg->start;
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
	struct sa_maps_segment seg;
	int e = sa_find_segment(maps_fd, &seg);
	if (e)
		return e;
	if (seg.stop - seg.start < SA_STATS_V1_HEADER_SIZE)
		return EINVAL;
	size_t len = sizeof(out->seg);
	if (seg.stop - seg.start < len)
		len = (size_t)(seg.stop - seg.start);
	uint64_t own_pid;
	e = sa_own_namespace_pid(proc_dirfd, &own_pid);
	if (e)
		return e;

	int fd = -1;
	off_t base = 0;
	e = sa_open_segment(proc_dirfd, &seg, &fd, &base);
	if (e)
		return e;
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
			/* another process's segment (a copy or a forgery) is not pid's */
			if (out->seg.hdr.pid != own_pid) {
				err = EINVAL;
				break;
			}
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
