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
 * 4. Validation, in this order: magic == SA_STATS_MAGIC, version in
 *    SA_STATS_VERSION_MIN..SA_STATS_VERSION (else EPROTO); for the version
 *    read: header_size and total_size are that version's sizes,
 *    stats_offset/stats_size, classes_offset/class_entry_size lie inside
 *    total_size, nclasses <= max_classes == SA_STATS_MAX_CLASSES,
 *    spans_offset/span_entry_size/max_spans likewise and nspans <= max_spans;
 *    version 2 also arenas_offset/arena_entry_size/max_arenas/max_pages,
 *    narenas <= max_arenas, npages <= max_pages, every listed arena inside
 *    the page-state map it claims (else EINVAL). No pointer is ever stored in
 *    the segment: only offsets. A version 1 segment is converted to this
 *    layout (new fields 0, no arena table). The header's pid must be the
 *    process's own pid in its own pid namespace (the last NSpid of
 *    /proc/<pid>/status), else EINVAL: a copy of another process's segment is
 *    not this process's statistics.
 * 5. Seqlock: the writer increments `seq` to an odd value, writes, then
 *    increments it to the next even value. The reader copies the segment,
 *    then re-reads `seq`; an odd value or a change means a torn copy: retry
 *    (bounded; EAGAIN after SA_STATS_READ_RETRIES attempts).
 *
 * Freshness: a background thread (started at the allocator's first use,
 * restarted in a fork child) wakes every SA_BACKGROUND_INTERVAL_MS, runs the
 * scavenger when a free run's SPANALLOC_SCAVENGE_MS delay is due, and
 * publishes the ladder whenever it changed (an idle process's ladder is at
 * most ~100 ms behind), and the span table and the arenas with it at most
 * every 250 ms (they walk every span), so they too are current within
 * ~300 ms once the process is quiet. Slow-path events (thread-cache refill or flush, large
 * allocation/free, thread exit) also publish the ladder (at most once per
 * 20 ms, the tables at most once per second), and sa_stats()/sa_scavenge()
 * publish everything. Times: publish_time_ns (the ladder), tables_time_ns
 * (span table and arenas) and verified_time_ns (the last time the
 * background thread found the published ladder still current: an idle
 * process's numbers are not old just because nothing changed) are
 * CLOCK_REALTIME in ns since the epoch, so a reader in any process (any
 * time namespace) computes the age of what it shows as its own
 * CLOCK_REALTIME minus verified_time_ns (publish_time_ns for version 1). SPANALLOC_BACKGROUND=0 disables the thread
 * (the segment is then only refreshed by the events above).
 *
 * sa_stats_read_pid() implements 2-5; spanalloc-stat(1) (examples/) uses it.
 * The reader and the printers below are in libspanalloc-stats
 * (pkg-config spanalloc-stats), which never allocates and does not replace
 * malloc; the allocator is libspanalloc (sa_* API, pkg-config spanalloc) or
 * libspanalloc-malloc (the malloc replacement, pkg-config spanalloc-malloc).
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

/* Bytes; objects larger than this are their own spans ("large"). */
#define SA_MAX_SMALL_SIZE 32768u
/* Bytes of one page-heap page. */
#define SA_PAGE_SIZE 8192u

enum sa_release_mode {
	SA_RELEASE_FREE = 1,     /* madvise(MADV_FREE): lazy, stays in RSS as LazyFree */
	SA_RELEASE_DONTNEED = 2, /* madvise(MADV_DONTNEED): RSS drops at once */
};

#define SA_STATS_MEMFD_NAME "spanalloc-stats"
#define SA_STATS_MAGIC 0x5350414e53544154ULL /* "SPANSTAT" */
/* Version 2 (this header) adds the arena table and page-state map, the
 * v2 ladder fields and span rows split by release state; readers accept
 * version 1 too (sa_stats_read_pid converts it: new fields read as 0). */
#define SA_STATS_VERSION 2u
#define SA_STATS_VERSION_MIN 1u
/* Fixed upper bound of size classes in the segment (the allocator uses fewer). */
#define SA_STATS_MAX_CLASSES 96u
#define SA_STATS_READ_RETRIES 1000
/* Fixed upper bound of span rows in the segment (more spans: truncated). */
#define SA_STATS_MAX_SPANS 1024u
/* Period of the background thread (ms): statistics at most this much plus
 * one publication behind, the scavenger at most this much late. */
#define SA_BACKGROUND_INTERVAL_MS 50u
/* Fixed upper bound of arena reservations listed in the segment. */
#define SA_STATS_MAX_ARENAS 256u
/* Fixed upper bound of 8 KiB pages in the page-state map (4 GiB of arenas). */
#define SA_STATS_MAX_PAGES 524288u

/* Names given to the allocator's anonymous mappings with
 * prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME) where the kernel has
 * CONFIG_ANON_VMA_NAME (smaps/maps then show "[anon:spanalloc-arena]"). */
#define SA_ARENA_VMA_NAME "spanalloc-arena"
#define SA_META_VMA_NAME "spanalloc-meta"

/*
 * State of an 8 KiB page (page-state map) and of a span row (span table).
 * Version 1 segments only have 1..3 in span rows, and there 1 means "free
 * run" with released_pages of its pages released (any mode).
 */
enum sa_page_state {
	SA_PAGE_UNUSED = 0,            /* reserved, never handed to the page heap (untouched) */
	SA_PAGE_IDLE = 1,              /* free page-heap page, not released (may be resident) */
	SA_PAGE_SMALL = 2,             /* in a small-object span (in use) */
	SA_PAGE_LARGE = 3,             /* in a large object (in use) */
	SA_PAGE_RELEASED_FREE = 4,     /* free, released with MADV_FREE (resident until reclaimed) */
	SA_PAGE_RELEASED_DONTNEED = 5, /* free, released with MADV_DONTNEED (not resident) */
};

/*
 * The MemStats ladder. X(name, description). Invariants (exact when no other
 * thread allocates concurrently):
 *   heap_idle = heap_sys - heap_inuse; heap_released <= heap_idle;
 *   heap_released = heap_released_free + heap_released_dontneed;
 *   heap_objects = mallocs - frees; heap_alloc <= heap_inuse;
 *   sys = heap_sys + meta_sys.
 */
#define SA_STATS_FIELDS_V1(X) \
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

/* Fields added by version 2 (appended: a version 1 segment is a prefix). */
#define SA_STATS_FIELDS_V2(X) \
	X(heap_unused, "bytes of in-use spans not holding live objects (heap_inuse - heap_alloc)") \
	X(heap_unreleased, "idle bytes not returned to the OS (heap_idle - heap_released)") \
	X(total_alloc, "cumulative bytes allocated (small: class size; large: whole pages)") \
	X(arena_reserved, "bytes of address space reserved for arenas (>= heap_sys; the rest untouched)") \
	X(background_thread, "1 while the background publisher/scavenger thread runs, else 0") \
	X(background_wakeups, "cumulative wake-ups of the background thread")

/* The whole list, in segment order. */
#define SA_STATS_FIELDS(X) SA_STATS_FIELDS_V1(X) SA_STATS_FIELDS_V2(X)

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
	X(state, "enum sa_page_state: 1 idle, 2 small-object span, 3 large object, 4 released (MADV_FREE), 5 released (MADV_DONTNEED)") \
	X(class_id, "size class (small spans; 0 otherwise)") \
	X(objects, "objects per span (small spans)") \
	X(objects_inuse, "objects handed out: live or in a thread cache (small spans)") \
	X(released_pages, "pages released to the OS (free rows: all or none of them in version 2)") \
	X(idle_ms, "milliseconds since the run became free (free rows)")

/* One row per arena reservation (one mmap). X(name, description). */
#define SA_ARENA_FIELDS(X) \
	X(start, "first address of the reservation") \
	X(length, "bytes reserved (mapped read/write)") \
	X(heap_bytes, "bytes from start handed to the page heap (the rest: SA_PAGE_UNUSED)") \
	X(first_page, "index of its first 8 KiB page in the page-state map")

#define SA_STATS_DECLARE_FIELD(name, desc) uint64_t name;

struct sa_span_stats {
	SA_SPAN_FIELDS(SA_STATS_DECLARE_FIELD)
};

/* The span table: the first SA_STATS_MAX_SPANS spans (small spans by class,
 * then large objects, then free runs, each free run split into rows of one
 * state: idle, released with MADV_FREE, released with MADV_DONTNEED);
 * spans_total counts all rows. */
struct sa_span_table {
	uint64_t nspans;      /* valid rows */
	uint64_t spans_total; /* spans that exist (> nspans: truncated) */
	struct sa_span_stats spans[SA_STATS_MAX_SPANS];
};

struct sa_arena_stats {
	SA_ARENA_FIELDS(SA_STATS_DECLARE_FIELD)
};

/*
 * The arenas (version 2): the reservations in address order and, for their
 * pages in the same order, one enum sa_page_state per 8 KiB page, two per
 * byte (page i: low nibble of page_states[i / 2] when i is even, high nibble
 * when odd). Arena k's pages are map entries first_page .. first_page +
 * length / 8192 - 1 (those below npages). Exact at publication: with the
 * span table, rebuilt together.
 */
struct sa_arena_table {
	uint64_t narenas;      /* valid rows */
	uint64_t arenas_total; /* reservations that exist (> narenas: truncated) */
	uint64_t npages;       /* valid page-state entries */
	uint64_t pages_total;  /* pages of all reservations (> npages: truncated) */
	struct sa_arena_stats arenas[SA_STATS_MAX_ARENAS];
	uint8_t page_states[SA_STATS_MAX_PAGES / 2];
};

static inline enum sa_page_state sa_page_state_at(const struct sa_arena_table *t, uint64_t i)
{
	if (i >= t->npages || i >= SA_STATS_MAX_PAGES)
		return SA_PAGE_UNUSED;
	uint8_t b = t->page_states[i / 2];
	return (enum sa_page_state)((i & 1) ? b >> 4 : b & 15);
}

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
	uint64_t publish_time_ns;  /* CLOCK_REALTIME of the last publication (ns since the epoch) */
	/* version 2 (a version 1 header ends here: SA_STATS_V1_HEADER_SIZE) */
	uint32_t arenas_offset;    /* offset of struct sa_arena_table */
	uint32_t arena_entry_size; /* sizeof(struct sa_arena_stats) */
	uint32_t max_arenas;       /* SA_STATS_MAX_ARENAS */
	uint32_t max_pages;        /* SA_STATS_MAX_PAGES */
	uint64_t tables_time_ns;   /* CLOCK_REALTIME when span table and arenas were last rebuilt (ns) */
	uint64_t verified_time_ns; /* CLOCK_REALTIME when the ladder was last known current (ns):
				    * publish_time_ns, or later when the background thread found
				    * nothing changed; 0 in a version 1 segment */
};

/* Frozen layout of version 1 (sizes in bytes), for readers of old segments. */
#define SA_STATS_V1_HEADER_SIZE 80u
#define SA_STATS_V1_COUNT(name, desc) + 1
#define SA_STATS_V1_NFIELDS (0 SA_STATS_FIELDS_V1(SA_STATS_V1_COUNT))

struct sa_stats_segment {
	struct sa_stats_header hdr;
	struct sa_stats stats;
	struct sa_span_table spans;
	struct sa_arena_table arenas; /* version 2 */
};

/* A reader's private, validated copy of another process's segment, always
 * in this header's (version 2) layout. ~340 KiB: keep it off small stacks. */
struct sa_stats_segment_copy {
	struct sa_stats_segment seg;
	uint32_t source_version; /* version of the segment that was read (1 or 2) */
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
/*
 * The same, in two steps with possibly different credentials: `maps_fd` is
 * the process's /proc/<pid>/maps, opened by whoever decides access (reading
 * it needs PTRACE_MODE_READ, as smaps and pagemap do); the segment itself is
 * opened through `proc_dirfd` (/proc/<pid>, e.g. O_PATH), which pins the
 * process, with the caller's credentials at the call: its map_files entry
 * needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE), /proc/<pid>/mem
 * PTRACE_MODE_ATTACH, stricter than what the maps open proved (Yama). So a
 * privileged reader (memviewfs) that has checked a client's right with the
 * maps open can read the segment with its own credentials. Errors as above.
 */
int sa_stats_read_at(int proc_dirfd, int maps_fd, struct sa_stats_segment_copy *out);
/* Validates a segment image of `len` bytes, of either version: 0, EINVAL,
 * EPROTO, or EAGAIN (written at that moment). */
int sa_stats_segment_validate(const void *buf, size_t len);

/* Text printers, generated from the X-macro lists: "name value" lines, then a
 * size-class table with a header line. Return 0 or an errno. */
int sa_stats_print(FILE *f, const struct sa_stats *s);
int sa_stats_print_fd(int fd, const struct sa_stats *s); /* no malloc, write(2) */
/* The span table as text: a header line, then one row per span. */
int sa_spans_print_fd(int fd, const struct sa_span_table *t);
/* The arena table as text: one row per arena with its pages per state. */
int sa_arenas_print_fd(int fd, const struct sa_arena_table *t);

#ifdef __cplusplus
}
#endif
#endif
