/* SPDX-License-Identifier: MIT */
/*
 * Multi-threaded malloc exerciser for the preload suite: the same binary runs
 * under glibc and under LD_PRELOAD=libspanalloc-malloc.so and must print the same
 * line. N threads keep a working set of objects (sizes 0 B .. 256 KiB, so small
 * and large objects), and replace / realloc / calloc / aligned-allocate /
 * free them at random; every object carries a pattern derived from a tag that
 * is verified before each free or realloc. Each round the threads also hand a
 * batch of objects to their neighbour, which verifies, reallocs, keeps or
 * frees them (cross-thread frees). Meanwhile the main thread forks children
 * that must be able to allocate (an allocator lock held at fork would hang
 * them). Any corruption or contract violation exits non-zero.
 *
 * usage: threads THREADS ROUNDS SLOTS [FORKS]
 * stdout: threads=.. rounds=.. slots=.. forks=.. ops=.. checksum=<hex>
 *   (computed from the deterministic operation stream and the verified
 *   contents, so it is identical under every correct allocator)
 * stderr: "mapped:" / "spanalloc-mallocs:" lines (see preload-evidence.h)
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "preload-evidence.h"

enum {
	MAX_THREADS = 64,
	HANDOFF_OBJECTS = 64,   /* objects passed to the neighbour per round */
	STEPS_PER_ROUND = 400,  /* random operations per thread per round */
	FORK_CHILD_TIMEOUT_MS = 10000,
};

struct object {
	unsigned char *p;
	size_t size; /* bytes requested */
	uint64_t tag;
};

struct worker {
	pthread_t tid;
	unsigned index;
	uint64_t rng;
	uint64_t checksum;
	uint64_t ops;
	uint64_t allocations; /* calls that must have created an object */
	struct object *slots;
	struct object handoff[HANDOFF_OBJECTS];
};

static unsigned nthreads, nrounds, nslots;
static struct worker workers[MAX_THREADS];
static pthread_barrier_t round_barrier;

static void die(const char *what, unsigned thread, size_t size)
{
	fprintf(stderr, "threads: thread %u: %s (size %zu bytes)\n", thread, what, size);
	exit(1);
}

static uint64_t next_random(uint64_t *state)
{
	/* splitmix64: good enough, and identical everywhere */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void mix(uint64_t *checksum, uint64_t v)
{
	*checksum = (*checksum ^ v) * 0x100000001b3ULL;
}

static size_t random_size(uint64_t *rng)
{
	uint64_t r = next_random(rng);
	unsigned bucket = r % 100;

	r >>= 8;
	if (bucket < 1)
		return 0;
	if (bucket < 70)
		return 1 + r % 256;
	if (bucket < 90)
		return 257 + r % (4096 - 256);
	if (bucket < 99)
		return 4097 + r % (32768 - 4096);
	return 32769 + r % (262144 - 32768); /* large (> 32 KiB): own span */
}

static unsigned char pattern_byte(uint64_t tag, size_t k)
{
	return (unsigned char)((tag >> (k % 7 * 8)) + k * 131);
}

static void fill(struct object *o)
{
	for (size_t k = 0; k < o->size; k++)
		o->p[k] = pattern_byte(o->tag, k);
}

/* Verifies the first `len` bytes of o against its pattern; folds them in. */
static void verify(struct worker *w, const struct object *o, const unsigned char *p, size_t len)
{
	uint64_t sum = 0;

	for (size_t k = 0; k < len; k++) {
		if (p[k] != pattern_byte(o->tag, k))
			die("object contents corrupted", w->index, o->size);
		sum += p[k];
	}
	mix(&w->checksum, sum ^ ((uint64_t)len << 32));
}

/* Bytes: glibc and spanalloc (include/spanalloc.h) both align every object,
 * even malloc(0) and malloc(8), to 16 bytes. */
#define MALLOC_ALIGNMENT 16

static void check_alignment(struct worker *w, const void *p, size_t alignment, size_t size)
{
	if ((uintptr_t)p % alignment != 0)
		die("misaligned pointer", w->index, size);
}

static void new_object(struct worker *w, struct object *o, size_t size)
{
	o->size = size;
	o->tag = next_random(&w->rng);
	o->p = malloc(size);
	w->allocations++;
	if (!o->p)
		die("malloc returned NULL", w->index, size);
	check_alignment(w, o->p, MALLOC_ALIGNMENT, size);
	fill(o);
}

static void release(struct worker *w, struct object *o)
{
	if (!o->p)
		return;
	verify(w, o, o->p, o->size);
	free(o->p);
	o->p = NULL;
}

static void op_realloc(struct worker *w, struct object *o, size_t size)
{
	if (!o->p) {
		/* realloc(NULL, n) is malloc(n) */
		o->p = realloc(NULL, size);
		w->allocations++;
		if (!o->p)
			die("realloc(NULL) returned NULL", w->index, size);
	} else {
		size_t keep = o->size < size ? o->size : size;

		verify(w, o, o->p, o->size);
		unsigned char *q = realloc(o->p, size ? size : 1);
		if (!q)
			die("realloc returned NULL", w->index, size);
		verify(w, o, q, keep);
		o->p = q;
	}
	check_alignment(w, o->p, MALLOC_ALIGNMENT, size);
	o->size = size;
	o->tag = next_random(&w->rng);
	fill(o);
}

static void op_calloc(struct worker *w, struct object *o, size_t size)
{
	size_t n = size % 8 == 0 && size ? size / 8 : size, m = size % 8 == 0 && size ? 8 : 1;

	release(w, o);
	o->p = calloc(n, m);
	w->allocations++;
	if (!o->p)
		die("calloc returned NULL", w->index, size);
	for (size_t k = 0; k < size; k++)
		if (o->p[k] != 0)
			die("calloc memory not zeroed", w->index, size);
	o->size = size;
	o->tag = next_random(&w->rng);
	fill(o);
}

static void op_aligned(struct worker *w, struct object *o, size_t size, uint64_t r)
{
	size_t alignment = (size_t)1 << (4 + r % 9); /* 16 .. 4096 bytes */
	void *p = NULL;

	release(w, o);
	switch ((r >> 8) % 3) {
	case 0:
		if (posix_memalign(&p, alignment, size) != 0)
			p = NULL;
		break;
	case 1:
		size = (size + alignment - 1) / alignment * alignment; /* C11 wants a multiple */
		p = aligned_alloc(alignment, size);
		break;
	default:
		p = memalign(alignment, size);
		break;
	}
	w->allocations++;
	if (!p)
		die("aligned allocation returned NULL", w->index, size);
	check_alignment(w, p, alignment, size);
	o->p = p;
	o->size = size;
	o->tag = next_random(&w->rng);
	fill(o);
}

static void op_usable(struct worker *w, struct object *o)
{
	if (!o->p)
		return;
	size_t usable = malloc_usable_size(o->p);

	if (usable < o->size)
		die("malloc_usable_size below the requested size", w->index, o->size);
	/* the usable tail is the caller's to write: it must not hit anything */
	memset(o->p + o->size, 0xa5, usable - o->size);
	verify(w, o, o->p, o->size);
}

static void op_overflow(struct worker *w, struct object *o)
{
	/* volatile: keeps the compiler from flagging (or folding) the overflow */
	volatile size_t half = SIZE_MAX / 2, huge = SIZE_MAX - 4096, sixteenth = SIZE_MAX / 16;

	errno = 0;
	if (reallocarray(o->p, half, 4) != NULL || errno != ENOMEM)
		die("reallocarray overflow did not fail with ENOMEM", w->index, o->size);
	errno = 0;
	if (malloc(huge) != NULL || errno != ENOMEM)
		die("huge malloc did not fail with ENOMEM", w->index, o->size);
	errno = 0;
	if (calloc(sixteenth, 32) != NULL || errno != ENOMEM)
		die("overflowing calloc did not fail with ENOMEM", w->index, o->size);
	if (o->p)
		verify(w, o, o->p, o->size); /* untouched by the failed reallocarray */
}

static void random_step(struct worker *w)
{
	uint64_t r = next_random(&w->rng);
	struct object *o = &w->slots[r % nslots];
	unsigned what = (r >> 32) % 100;
	size_t size = random_size(&w->rng);

	mix(&w->checksum, what);
	if (what < 40) {
		release(w, o);
		new_object(w, o, size);
	} else if (what < 60) {
		op_realloc(w, o, size);
	} else if (what < 70) {
		op_calloc(w, o, size);
	} else if (what < 78) {
		op_aligned(w, o, size, r >> 16);
	} else if (what < 88) {
		op_usable(w, o);
	} else if (what < 98) {
		release(w, o);
	} else {
		op_overflow(w, o);
	}
	w->ops++;
}

static void take_handoff(struct worker *w, struct worker *from)
{
	for (unsigned k = 0; k < HANDOFF_OBJECTS; k++) {
		struct object *o = &from->handoff[k];

		switch (k % 4) {
		case 0: { /* adopt it: it will be freed later by this thread */
			struct object *slot = &w->slots[next_random(&w->rng) % nslots];
			release(w, slot);
			verify(w, o, o->p, o->size);
			*slot = *o;
			o->p = NULL;
			break;
		}
		case 1: /* grow or shrink a foreign object, then free it */
			op_realloc(w, o, random_size(&w->rng));
			release(w, o);
			break;
		default:
			release(w, o);
			break;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (unsigned round = 0; round < nrounds; round++) {
		for (unsigned s = 0; s < STEPS_PER_ROUND; s++)
			random_step(w);
		for (unsigned k = 0; k < HANDOFF_OBJECTS; k++)
			new_object(w, &w->handoff[k], random_size(&w->rng));
		pthread_barrier_wait(&round_barrier);
		take_handoff(w, &workers[(w->index + 1) % nthreads]);
		pthread_barrier_wait(&round_barrier);
	}
	for (unsigned s = 0; s < nslots; s++)
		release(w, &w->slots[s]);
	return NULL;
}

/* A fork child must get a working malloc even though other threads were in
 * the middle of malloc/free when the parent forked. */
static void fork_and_check_child(unsigned n)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("threads: fork");
		exit(1);
	}
	if (pid == 0) {
		uint64_t rng = n;
		void *keep[64];

		for (unsigned i = 0; i < 64; i++) {
			size_t size = random_size(&rng);
			keep[i] = malloc(size);
			if (!keep[i])
				_exit(3);
			memset(keep[i], (int)i, size);
		}
		for (unsigned i = 0; i < 64; i++)
			free(keep[i]);
		_exit(0);
	}
	int status;
	for (unsigned waited_ms = 0;; waited_ms++) {
		pid_t got = waitpid(pid, &status, WNOHANG);
		if (got == pid)
			break;
		if (waited_ms >= FORK_CHILD_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "threads: fork child %u hung in malloc (lock held across fork?)\n", n);
			exit(1);
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL); /* 1 ms */
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "threads: fork child %u failed (status 0x%x)\n", n, status);
		exit(1);
	}
}

static unsigned parse_count(const char *s, unsigned max, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0 || v > max) {
		fprintf(stderr, "threads: %s must be 1..%u\n", what, max);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s THREADS ROUNDS SLOTS [FORKS]\n", argv[0]);
		return 2;
	}
	nthreads = parse_count(argv[1], MAX_THREADS, "THREADS");
	nrounds = parse_count(argv[2], 1000000, "ROUNDS");
	nslots = parse_count(argv[3], 1000000, "SLOTS");
	unsigned nforks = argc == 5 ? (unsigned)strtoul(argv[4], NULL, 10) : 0;

	if (pthread_barrier_init(&round_barrier, NULL, nthreads) != 0)
		return 1;
	for (unsigned t = 0; t < nthreads; t++) {
		workers[t].index = t;
		workers[t].rng = 0x5eed0000ULL + t;
		workers[t].checksum = 0xcbf29ce484222325ULL;
		workers[t].slots = calloc(nslots, sizeof(struct object));
		if (!workers[t].slots)
			return 1;
		if (pthread_create(&workers[t].tid, NULL, worker_main, &workers[t]) != 0)
			return 1;
	}
	for (unsigned f = 0; f < nforks; f++)
		fork_and_check_child(f);
	uint64_t checksum = 0, ops = 0, allocations = 0;
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_join(workers[t].tid, NULL);
		mix(&checksum, workers[t].checksum);
		ops += workers[t].ops;
		allocations += workers[t].allocations;
		free(workers[t].slots);
	}

	uint64_t sa_mallocs, sa_scavenges;
	int have_spanalloc = preload_evidence_spanalloc_stats(&sa_mallocs, &sa_scavenges);
	preload_evidence_report();
	if (have_spanalloc < 0)
		return 1;
	if (have_spanalloc == 1 && sa_mallocs < allocations) {
		fprintf(stderr, "threads: spanalloc counted %llu mallocs, this program made %llu\n",
			(unsigned long long)sa_mallocs, (unsigned long long)allocations);
		return 1;
	}
	printf("threads=%u rounds=%u slots=%u forks=%u ops=%llu checksum=%016llx\n", nthreads, nrounds,
	       nslots, nforks, (unsigned long long)ops, (unsigned long long)checksum);
	return 0;
}
