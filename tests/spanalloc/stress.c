/* SPDX-License-Identifier: MIT */
/*
 * spanalloc stress tests (suite 'stress'), bounded by a size argument:
 *   stress threads N   threads allocate, hand objects to each other through
 *                      a shared ring, free them on another thread, and check
 *                      contents at every step; then the stats must balance
 *   stress fork N      fork repeatedly while other threads allocate; the
 *                      child allocates, checks and exits (meson's timeout
 *                      catches a hang)
 *   stress churn N     create/exit threads that allocate; the exited
 *                      threads' caches must be returned (stats: no cached
 *                      bytes left behind, thread count back to 1)
 * Exit status 0 = pass; a message on stderr otherwise.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <spanalloc.h>

#define FAIL(...) do { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

static long scale = 1;

struct obj_hdr {
	uint64_t tag;
	uint64_t size;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static size_t rand_size(uint64_t *rng)
{
	*rng = mix(*rng + 0x9e3779b97f4a7c15ULL);
	uint64_t r = *rng;
	if (r % 100 == 0)
		return 32768 + r % 200000;       /* large */
	if (r % 10 == 0)
		return 1024 + r % 31744;         /* medium */
	return sizeof(struct obj_hdr) + r % 1008; /* small */
}

static void *make_obj(size_t size, uint64_t tag)
{
	struct obj_hdr *h = sa_malloc(size);
	if (!h)
		FAIL("malloc(%zu) failed: %s", size, strerror(errno));
	h->tag = tag;
	h->size = size;
	memset(h + 1, (int)(tag & 0xff), size - sizeof(*h));
	return h;
}

static void check_free_obj(void *p)
{
	struct obj_hdr *h = p;
	unsigned char *b = (unsigned char *)(h + 1);
	for (size_t i = 0; i < h->size - sizeof(*h); i += 61)
		if (b[i] != (unsigned char)(h->tag & 0xff))
			FAIL("object %p (tag %llu size %llu) corrupted at %zu", p,
			     (unsigned long long)h->tag, (unsigned long long)h->size, i);
	if (sa_usable_size(p) < h->size)
		FAIL("usable size shrank");
	sa_free(p);
}

/* ---------- threads: cross-thread frees through a locked ring ---------- */
#define RING 4096
static void *ring[RING];
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 1;
	enum { LOCAL = 256 };
	void *local[LOCAL] = { 0 };
	long iters = 20000 * scale;
	for (long i = 0; i < iters; i++) {
		rng = mix(rng + 1);
		unsigned slot = (unsigned)(rng % LOCAL);
		if (local[slot])
			check_free_obj(local[slot]);
		local[slot] = make_obj(rand_size(&rng), rng);
		if (i % 4 == 0) {
			/* swap an object with the shared ring: it will be freed elsewhere */
			unsigned r = (unsigned)(mix(rng) % RING);
			pthread_mutex_lock(&ring_lock);
			void *other = ring[r];
			ring[r] = local[slot];
			pthread_mutex_unlock(&ring_lock);
			local[slot] = other;
		}
		if (i % 1000 == 0) {
			void *p = sa_realloc(local[slot], 3000);
			if (p) { /* realloc keeps the header; rebuild the object */
				sa_free(p);
				local[slot] = NULL;
			}
		}
	}
	for (int i = 0; i < LOCAL; i++)
		if (local[i])
			check_free_obj(local[i]);
	return NULL;
}

static void run_threads(void)
{
	struct sa_stats a, b;
	sa_stats(&a);
	enum { T = 6 };
	pthread_t t[T];
	for (int i = 0; i < T; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < T; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < RING; i++)
		if (ring[i]) {
			check_free_obj(ring[i]);
			ring[i] = NULL;
		}
	sa_thread_flush();
	sa_stats(&b);
	if (b.heap_objects != a.heap_objects)
		FAIL("heap_objects %llu -> %llu", (unsigned long long)a.heap_objects,
		     (unsigned long long)b.heap_objects);
	if (b.heap_alloc != a.heap_alloc)
		FAIL("heap_alloc %llu -> %llu", (unsigned long long)a.heap_alloc,
		     (unsigned long long)b.heap_alloc);
	if (b.threads != 1 || b.tcache_bytes != 0)
		FAIL("threads %llu tcache_bytes %llu after join", (unsigned long long)b.threads,
		     (unsigned long long)b.tcache_bytes);
	if (b.mallocs - a.mallocs < (uint64_t)(T * 20000 * scale))
		FAIL("mallocs not counted");
	printf("threads: ok, %llu mallocs, heap_sys %llu\n",
	       (unsigned long long)(b.mallocs - a.mallocs), (unsigned long long)b.heap_sys);
}

/* ---------- fork while other threads allocate ---------- */
static volatile int stop_bg;

static void *bg_alloc(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	void *keep[64] = { 0 };
	while (!__atomic_load_n(&stop_bg, __ATOMIC_RELAXED)) {
		rng = mix(rng + 1);
		unsigned s = (unsigned)(rng % 64);
		if (keep[s])
			check_free_obj(keep[s]);
		keep[s] = make_obj(rand_size(&rng), rng);
	}
	for (int i = 0; i < 64; i++)
		if (keep[i])
			check_free_obj(keep[i]);
	return NULL;
}

static void run_fork(void)
{
	enum { T = 3 };
	pthread_t t[T];
	for (int i = 0; i < T; i++)
		pthread_create(&t[i], NULL, bg_alloc, (void *)(uintptr_t)(i + 11));
	long rounds = 50 * scale;
	for (long r = 0; r < rounds; r++) {
		void *mine = make_obj(500, (uint64_t)r);
		pid_t pid = fork();
		if (pid < 0)
			FAIL("fork: %s", strerror(errno));
		if (pid == 0) {
			/* the child: allocator usable, parent's objects intact */
			uint64_t rng = (uint64_t)r;
			void *v[500];
			for (int i = 0; i < 500; i++)
				v[i] = make_obj(rand_size(&rng), (uint64_t)i);
			for (int i = 0; i < 500; i++)
				check_free_obj(v[i]);
			check_free_obj(mine);
			pthread_t ct;
			stop_bg = 1;
			pthread_create(&ct, NULL, bg_alloc, (void *)(uintptr_t)5);
			pthread_join(ct, NULL);
			struct sa_stats s;
			sa_stats(&s);
			static struct sa_stats_segment_copy copy;
			int e = sa_stats_read_pid(getpid(), &copy);
			if (e || copy.seg.hdr.pid != (uint32_t)getpid())
				_exit(4); /* the child has its own segment */
			_exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			FAIL("child %ld failed (status 0x%x)", r, st);
		check_free_obj(mine);
	}
	stop_bg = 1;
	for (int i = 0; i < T; i++)
		pthread_join(t[i], NULL);
	printf("fork: ok, %ld rounds\n", rounds);
}

/* ---------- thread create/exit churn ---------- */
static void *short_lived(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	void *v[100];
	for (int i = 0; i < 100; i++)
		v[i] = make_obj(rand_size(&rng), rng);
	for (int i = 0; i < 100; i += 2)
		check_free_obj(v[i]);
	/* leave half for the main thread to free (cross-thread) */
	void **out = sa_malloc(sizeof(void *) * 50);
	for (int i = 1, j = 0; i < 100; i += 2, j++)
		out[j] = v[i];
	return out;
}

static void run_churn(void)
{
	struct sa_stats a, b;
	sa_stats(&a);
	long n = 300 * scale;
	for (long i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, NULL, short_lived, (void *)(uintptr_t)(i + 1));
		void **out;
		pthread_join(t, (void **)&out);
		for (int j = 0; j < 50; j++)
			check_free_obj(out[j]);
		sa_free(out);
	}
	sa_thread_flush();
	sa_stats(&b);
	if (b.threads != 1)
		FAIL("%llu thread caches registered after churn", (unsigned long long)b.threads);
	if (b.tcache_bytes != 0)
		FAIL("%llu bytes left in thread caches", (unsigned long long)b.tcache_bytes);
	if (b.heap_objects != a.heap_objects)
		FAIL("heap_objects %llu -> %llu", (unsigned long long)a.heap_objects,
		     (unsigned long long)b.heap_objects);
	/* the heap must not grow with the number of threads */
	if (b.heap_sys > a.heap_sys + (64u << 20))
		FAIL("heap grew by %llu bytes", (unsigned long long)(b.heap_sys - a.heap_sys));
	printf("churn: ok, %ld threads, heap_sys %llu\n", n, (unsigned long long)b.heap_sys);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s threads|fork|churn [scale]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		scale = atol(argv[2]) > 0 ? atol(argv[2]) : 1;
	/* register this thread's cache first so `threads` counts are stable */
	sa_free(sa_malloc(1));
	if (!strcmp(argv[1], "threads"))
		run_threads();
	else if (!strcmp(argv[1], "fork"))
		run_fork();
	else if (!strcmp(argv[1], "churn"))
		run_churn();
	else
		return 2;
	return 0;
}
