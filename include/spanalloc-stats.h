/* SPDX-License-Identifier: MIT */
/*
 * spanalloc statistics: the field list (one X-macro list generates the
 * struct and every printer) and the layout of the shared statistics segment
 * that another process (the memviewfs daemon, spanalloc-stat) reads without
 * stopping the allocating process.
 *
 * All sizes are bytes, all counts are plain counts; every field is uint64_t.
 *
 * ## Discovery protocol (reader side, needs only /proc)
 *
 * 1. The allocating process creates, at its first statistics publication (a
 *    slow-path event: thread-cache refill/flush, page-heap growth, scavenge,
 *    sa_stats()), a memfd named SA_STATS_MEMFD_NAME ("spanalloc-stats") with
 *    memfd_create(2), sizes it to sizeof(struct sa_stats_segment), maps it
 *    MAP_SHARED read/write, closes the fd and keeps the mapping for the life
 *    of the process. A fork child drops the inherited mapping and creates its
 *    own segment at its own first publication.
 * 2. The reader scans /proc/<pid>/maps for a line whose path is exactly
 *    "/memfd:spanalloc-stats" (the kernel appends " (deleted)"; a path that
 *    merely ends so, e.g. "/dev/shm/memfd:spanalloc-stats", is not it),
 *    mapped "rw-s" from offset 0, and takes its "<start>-<end>" hex address
 *    range (end - start >= total_size), device and inode.
 * 3. Before reading a byte, the reader makes sure the mapping is a memfd: its
 *    device (maps) must be the one every memfd lives on (the reader's own
 *    memfd_create() probe tells it), else EINVAL. A hostile process could
 *    otherwise map, under that name, a file whose read never returns (a FUSE
 *    file) and hang the reader. The reader then reads the bytes either by
 *    opening /proc/<pid>/map_files/<start>-<end> (the memfd itself; needs
 *    CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE; the opened file is checked
 *    again: tmpfs or hugetlbfs by fstatfs, same device and inode) or by
 *    pread(2) of /proc/<pid>/mem at offset <start> (needs ptrace-read
 *    access). Both work from another mount namespace (a container) since
 *    they use only /proc. Time is bounded: nothing but /proc text and a
 *    verified memfd is read, and the seqlock retries are bounded (step 5).
 * 4. Validation, in this order: magic == SA_STATS_MAGIC, version ==
 *    SA_STATS_VERSION (else EPROTO); header_size == sizeof(struct
 *    sa_stats_header), total_size == sizeof(struct sa_stats_segment),
 *    stats_offset/stats_size, classes_offset/class_entry_size lie inside
 *    total_size, nclasses <= max_classes == SA_STATS_MAX_CLASSES,
 *    spans_offset/span_entry_size/max_spans likewise and nspans <= max_spans
 *    (else EINVAL). No pointer is ever stored in the segment: only offsets.
 *    The header's pid must be the process's own pid in its own pid
 *    namespace (the last NSpid of /proc/<pid>/status), else EINVAL: a copy
 *    of another process's segment is not this process's statistics.
 * 5. Seqlock: the writer increments `seq` to an odd value, writes, then
 *    increments it to the next even value. The reader copies the segment,
 *    then re-reads `seq`; an odd value or a change means a torn copy: retry
 *    (bounded; EAGAIN after SA_STATS_READ_RETRIES attempts).
 *
 * Freshness: the writer publishes at slow-path events (thread-cache refill
 * or flush, large allocation/free, thread exit; at most one publication per
 * 20 ms) and on every sa_stats()/sa_scavenge(), never on the fast path. An
 * idle process therefore shows its state as of its last publication: the
 * header's publish_time_ns says how old that is. The span table costs a walk
 * of every span, so slow-path publications rebuild it at most once per
 * second, the first time one second after the first publication (until
 * then nspans = spans_total = 0; afterwards it may be up to 1 s older than
 * publish_time_ns); sa_stats() and sa_scavenge() always rebuild it.
 *
 * sa_stats_read_pid() implements 2-5; spanalloc-stat(1) (examples/) uses it.
 */
#ifndef SPANALLOC_STATS_H
#define SPANALLOC_STATS_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SA_STATS_MEMFD_NAME "spanalloc-stats"
#define SA_STATS_MAGIC 0x5350414e53544154ULL /* "SPANSTAT" */
#define SA_STATS_VERSION 1u
/* Fixed upper bound of size classes in the segment (the allocator uses fewer). */
#define SA_STATS_MAX_CLASSES 96u
#define SA_STATS_READ_RETRIES 1000
/* Fixed upper bound of span rows in the segment (more spans: truncated). */
#define SA_STATS_MAX_SPANS 1024u

/*
 * The MemStats ladder. X(name, description). Invariants (exact when no other
 * thread allocates concurrently):
 *   heap_idle = heap_sys - heap_inuse; heap_released <= heap_idle;
 *   heap_released = heap_released_free + heap_released_dontneed;
 *   heap_objects = mallocs - frees; heap_alloc <= heap_inuse;
 *   sys = heap_sys + meta_sys.
 */
#define SA_STATS_FIELDS(X) \
	X(sys, "bytes obtained from the OS: heap_sys + meta_sys") \
	X(heap_sys, "bytes of arena memory handed to the page heap") \
	X(heap_alloc, "bytes of live objects (small: class size; large: whole pages)") \
	X(heap_inuse, "bytes in in-use spans (small-object spans and large objects)") \
	X(heap_idle, "bytes in free page-heap runs (heap_sys - heap_inuse)") \
	X(heap_released, "idle bytes returned to the OS (madvise)") \
	X(heap_released_free, "idle bytes returned with MADV_FREE (may stay resident: LazyFree)") \
	X(heap_released_dontneed, "idle bytes returned with MADV_DONTNEED (no longer resident)") \
	X(heap_objects, "live objects (small and large)") \
	X(mallocs, "cumulative objects allocated") \
	X(frees, "cumulative objects freed") \
	X(large_allocs, "cumulative large (> 32 KiB) allocations") \
	X(large_frees, "cumulative large frees") \
	X(large_inuse, "bytes of live large objects (whole pages)") \
	X(span_sys, "bytes of span-descriptor pools") \
	X(span_inuse, "bytes of span descriptors in use") \
	X(meta_sys, "bytes of allocator metadata (span pools, arena page maps, pagemap nodes)") \
	X(tcache_bytes, "bytes of free objects held in thread caches") \
	X(central_free_bytes, "bytes of free objects in partially used central spans") \
	X(threads, "threads with a registered thread cache") \
	X(arenas, "arena reservations (64 MiB each, more for huge objects)") \
	X(pages_per_span_unit, "page size of the page heap (bytes)") \
	X(release_mode, "current release mode: 1 = MADV_FREE, 2 = MADV_DONTNEED") \
	X(scavenge_delay_ms, "idle time after which a free run is released (ms)") \
	X(scavenges, "cumulative madvise calls made by the scavenger") \
	X(nclasses, "number of valid rows in classes[]")

/* Per size class. X(name, description). */
#define SA_CLASS_FIELDS(X) \
	X(class_id, "size class index") \
	X(size, "object size (bytes)") \
	X(pages_per_span, "span length (8 KiB pages)") \
	X(objects_per_span, "objects per span") \
	X(spans, "spans of this class in use") \
	X(objects_inuse, "live objects") \
	X(objects_free, "free objects in this class's spans and thread caches") \
	X(mallocs, "cumulative allocations")

/* One row per span (in-use small-object span, large object, or free page
 * run), in the segment's span table. X(name, description). */
#define SA_SPAN_FIELDS(X) \
	X(base, "first address of the span") \
	X(pages, "length (8 KiB pages)") \
	X(state, "1 = free run, 2 = small-object span, 3 = large object") \
	X(class_id, "size class (small spans; 0 otherwise)") \
	X(objects, "objects per span (small spans)") \
	X(objects_inuse, "objects handed out: live or in a thread cache (small spans)") \
	X(released_pages, "pages released to the OS (free runs)") \
	X(idle_ms, "milliseconds since the run became free (free runs)")

#define SA_STATS_DECLARE_FIELD(name, desc) uint64_t name;

struct sa_span_stats {
	SA_SPAN_FIELDS(SA_STATS_DECLARE_FIELD)
};

/* The span table: the first SA_STATS_MAX_SPANS spans (small spans by class,
 * then large objects, then free runs); spans_total counts all of them. */
struct sa_span_table {
	uint64_t nspans;      /* valid rows */
	uint64_t spans_total; /* spans that exist (> nspans: truncated) */
	struct sa_span_stats spans[SA_STATS_MAX_SPANS];
};

struct sa_class_stats {
	SA_CLASS_FIELDS(SA_STATS_DECLARE_FIELD)
};

struct sa_stats {
	SA_STATS_FIELDS(SA_STATS_DECLARE_FIELD)
	struct sa_class_stats classes[SA_STATS_MAX_CLASSES];
};

/* The segment header. All offsets are from the segment start (bytes). */
struct sa_stats_header {
	uint64_t magic;            /* SA_STATS_MAGIC */
	uint32_t version;          /* SA_STATS_VERSION */
	uint32_t header_size;      /* sizeof(struct sa_stats_header) */
	uint32_t total_size;       /* sizeof(struct sa_stats_segment) */
	uint32_t stats_offset;     /* offset of struct sa_stats */
	uint32_t stats_size;       /* sizeof(struct sa_stats) */
	uint32_t classes_offset;   /* offset of sa_stats.classes[0] */
	uint32_t class_entry_size; /* sizeof(struct sa_class_stats) */
	uint32_t max_classes;      /* SA_STATS_MAX_CLASSES */
	uint32_t pid;              /* writer's pid (tgid) */
	uint32_t spans_offset;     /* offset of struct sa_span_table */
	uint32_t span_entry_size;  /* sizeof(struct sa_span_stats) */
	uint32_t max_spans;        /* SA_STATS_MAX_SPANS */
	uint64_t seq;              /* seqlock: odd while being written */
	uint64_t publications;     /* number of completed publications */
	uint64_t publish_time_ns;  /* CLOCK_REALTIME of the last publication (ns) */
};

struct sa_stats_segment {
	struct sa_stats_header hdr;
	struct sa_stats stats;
	struct sa_span_table spans;
};

/* A reader's private, validated copy of another process's segment. */
struct sa_stats_segment_copy {
	struct sa_stats_segment seg;
};

/*
 * Reads the statistics segment of process `pid` (see the protocol above).
 * Returns 0, or an errno: ENOENT (no segment: not a spanalloc process, or
 * nothing published yet, or no such process), EACCES/EPERM (no access),
 * EINVAL (bad sizes/offsets/bounds; a mapping of that name that is not a
 * memfd; a segment naming another pid), EPROTO (bad magic/version), EAGAIN
 * (never got a consistent copy). Never allocates with malloc; returns in
 * bounded time whatever the target process does.
 */
int sa_stats_read_pid(pid_t pid, struct sa_stats_segment_copy *out);
/* Validates a segment image of `len` bytes: 0, EINVAL or EPROTO. */
int sa_stats_segment_validate(const void *buf, size_t len);

/* Text printers, generated from the X-macro lists: "name value" lines, then a
 * size-class table with a header line. Return 0 or an errno. */
int sa_stats_print(FILE *f, const struct sa_stats *s);
int sa_stats_print_fd(int fd, const struct sa_stats *s); /* no malloc, write(2) */
/* The span table as text: a header line, then one row per span. */
int sa_spans_print_fd(int fd, const struct sa_span_table *t);

#ifdef __cplusplus
}
#endif
#endif
