/* SPDX-License-Identifier: MIT */
/*
 * allocbench: malloc/free workloads, run under whatever malloc the process
 * has (glibc, or another allocator via LD_PRELOAD). Usage:
 *
 *   allocbench WORKLOAD [SIZE]
 *
 * SIZE scales the work (a number > 0; its unit and default are per workload,
 * listed below). The workloads after the first three are written from the
 * published descriptions of the standard allocator benchmarks (Hoard's
 * cache-scratch/cache-thrash and larson, xmalloc-test, rpmalloc's rptest,
 * glibc's bench-malloc-simple/-thread), not from their code.
 *
 *   single      [MOPS=10]  one thread, objects 8..1024 B, live set of 10k,
 *                          random replace (MOPS = millions of free+malloc)
 *   two         [MOPS=10]  the same on 2 threads (each its own set)
 *   prodcons    [MOPS=4]   one thread mallocs, another frees, pointers handed
 *                          over in batches through a bounded queue
 *   larson      [MOPS=4]   larson-like server churn: 2 threads, 4000 slots
 *                          each, random 16 B..2 KiB replaced; after every
 *                          round of 20k replacements the threads swap slot
 *                          arrays (objects freed by a thread that did not
 *                          allocate them)
 *   scratch     [KITER=400] cache-scratch: the main thread allocates one 8 B
 *                          object per thread; each of 2 threads frees it, then
 *                          KITER thousand times mallocs 8 B, writes it 200
 *                          times, frees it (passive false sharing)
 *   thrash      [KITER=400] cache-thrash: the same without the initial foreign
 *                          object (active false sharing)
 *   xmalloc     [MOPS=4]   xmalloc-test: 2 threads each malloc batches of
 *                          64 objects (16..256 B) for the other to free
 *   rptest      [MOPS=3]   rptest-like: 2 threads, 8192 slots each, sizes
 *                          log-uniform 16 B..16 KiB (every page written),
 *                          random replace; 1 of 8 freed objects handed to
 *                          the other thread to free
 *   simple      [ROUNDS=0.5] bench-malloc-simple: for sizes 16..4096 B (x2)
 *                          and counts 25, 100, 400, 1600: malloc all, free
 *                          all, ROUNDS*100 times per pair, one thread
 *   thread      [MOPS=4]   bench-malloc-thread: 2 threads, 1024 slots each,
 *                          sizes 4 B..32 KiB with inverse-square density,
 *                          random replace (MOPS per thread)
 *   large       [KOPS=6]   malloc-large: 256 live objects of 64 KiB..4 MiB,
 *                          every page of a new object written, random replace
 *   realloc     [KVEC=2]   KVEC thousand vectors, 64 growing at a time, each
 *                          grown by realloc doubling from 16 B to 256 KiB,
 *                          the new half written, then freed
 *   fragment    [MOBJ=1]   MOBJ million objects of 16..256 B, 90% freed at
 *                          random, then MOBJ/10 million of 1..8 KiB
 *   mixed       [KOPS=600] 2 threads, 20k live each, sizes log-uniform
 *                          16 B..64 KiB (every page written), random replace
 *                          (KOPS per thread)
 *
 * Output, one line:  <workload> threads=<n> ops=<n> wall_s=<seconds> check=<n>
 * wall_s covers only the timed part (not process start-up); check depends
 * only on the workload and SIZE (the runner compares it across allocators).
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	WORKING_SET_OBJECTS = 10000,
	MIN_OBJECT_BYTES = 8,
	MAX_OBJECT_BYTES = 1024,
	/* pointers per hand-over in the producer/consumer workload */
	BATCH_OBJECTS = 256,
	/* batches in flight at most: bounds the producer's lead (and the RSS) */
	QUEUE_BATCHES = 64,
};

static uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static size_t random_object_bytes(uint64_t *rng)
{
	return MIN_OBJECT_BYTES + xorshift64(rng) % (MAX_OBJECT_BYTES - MIN_OBJECT_BYTES + 1);
}

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xmalloc(size_t bytes)
{
	void *p = malloc(bytes);

	if (!p) {
		fprintf(stderr, "allocbench: malloc(%zu) failed\n", bytes);
		exit(1);
	}
	return p;
}

/* ---- (a)/(b): random replace in a live working set ---- */

struct replace_job {
	uint64_t seed;
	uint64_t ops;
	uint64_t check; /* out: sum of first bytes read back, keeps the stores live */
};

static void *replace_worker(void *arg)
{
	struct replace_job *job = arg;
	uint64_t rng = job->seed;
	unsigned char **slots = xmalloc(sizeof(*slots) * WORKING_SET_OBJECTS);
	uint64_t check = 0;

	for (size_t i = 0; i < WORKING_SET_OBJECTS; i++) {
		slots[i] = xmalloc(random_object_bytes(&rng));
		slots[i][0] = (unsigned char)i;
	}
	for (uint64_t op = 0; op < job->ops; op++) {
		uint64_t r = xorshift64(&rng);
		size_t slot = r % WORKING_SET_OBJECTS;
		size_t bytes = MIN_OBJECT_BYTES + (r >> 32) % (MAX_OBJECT_BYTES - MIN_OBJECT_BYTES + 1);

		check += slots[slot][0];
		free(slots[slot]);
		slots[slot] = xmalloc(bytes);
		/* touch first and last byte, as a real user of the object would */
		slots[slot][0] = (unsigned char)op;
		slots[slot][bytes - 1] = (unsigned char)op;
	}
	for (size_t i = 0; i < WORKING_SET_OBJECTS; i++)
		free(slots[i]);
	free(slots);
	job->check = check;
	return NULL;
}

static int run_replace(unsigned nthreads, uint64_t ops_per_thread, const char *name)
{
	pthread_t tids[2];
	struct replace_job jobs[2];
	uint64_t check = 0;

	if (nthreads > 2)
		return EINVAL;
	double t0 = monotonic_seconds();
	for (unsigned t = 0; t < nthreads; t++) {
		jobs[t] = (struct replace_job){ .seed = 0x9e3779b97f4a7c15ULL * (t + 1), .ops = ops_per_thread };
		int err = pthread_create(&tids[t], NULL, replace_worker, &jobs[t]);
		if (err)
			return err;
	}
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_join(tids[t], NULL);
		check += jobs[t].check;
	}
	double wall = monotonic_seconds() - t0;
	printf("%s threads=%u ops=%llu wall_s=%.6f check=%llu\n", name, nthreads,
	       (unsigned long long)(ops_per_thread * nthreads), wall, (unsigned long long)check);
	return 0;
}

/* ---- (c): producer/consumer, every free is a cross-thread free ---- */

struct batch {
	unsigned char *objects[BATCH_OBJECTS];
};

struct batch_queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	struct batch ring[QUEUE_BATCHES];
	unsigned head; /* next batch to consume */
	unsigned count;
	int done;
	uint64_t batches;
	uint64_t check;
};

static void *producer(void *arg)
{
	struct batch_queue *q = arg;
	uint64_t rng = 0x2545f4914f6cdd1dULL;

	for (uint64_t b = 0; b < q->batches; b++) {
		struct batch local;

		/* allocate outside the lock so that malloc, not the queue, is measured */
		for (size_t i = 0; i < BATCH_OBJECTS; i++) {
			size_t bytes = random_object_bytes(&rng);
			local.objects[i] = xmalloc(bytes);
			local.objects[i][0] = (unsigned char)i;
			local.objects[i][bytes - 1] = (unsigned char)b;
		}
		pthread_mutex_lock(&q->lock);
		while (q->count == QUEUE_BATCHES)
			pthread_cond_wait(&q->not_full, &q->lock);
		q->ring[(q->head + q->count) % QUEUE_BATCHES] = local;
		q->count++;
		pthread_cond_signal(&q->not_empty);
		pthread_mutex_unlock(&q->lock);
	}
	pthread_mutex_lock(&q->lock);
	q->done = 1;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void *consumer(void *arg)
{
	struct batch_queue *q = arg;
	uint64_t check = 0;

	for (;;) {
		struct batch local;

		pthread_mutex_lock(&q->lock);
		while (q->count == 0 && !q->done)
			pthread_cond_wait(&q->not_empty, &q->lock);
		if (q->count == 0) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		local = q->ring[q->head];
		q->head = (q->head + 1) % QUEUE_BATCHES;
		q->count--;
		pthread_cond_signal(&q->not_full);
		pthread_mutex_unlock(&q->lock);
		for (size_t i = 0; i < BATCH_OBJECTS; i++) {
			check += local.objects[i][0];
			free(local.objects[i]);
		}
	}
	q->check = check;
	return NULL;
}

static int run_prodcons(uint64_t total_ops)
{
	static struct batch_queue q = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.not_empty = PTHREAD_COND_INITIALIZER,
		.not_full = PTHREAD_COND_INITIALIZER,
	};
	pthread_t prod, cons;
	int err;

	q.batches = (total_ops + BATCH_OBJECTS - 1) / BATCH_OBJECTS;
	double t0 = monotonic_seconds();
	if ((err = pthread_create(&cons, NULL, consumer, &q)))
		return err;
	if ((err = pthread_create(&prod, NULL, producer, &q)))
		return err;
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	double wall = monotonic_seconds() - t0;
	printf("prodcons threads=2 ops=%llu wall_s=%.6f check=%llu\n",
	       (unsigned long long)(q.batches * BATCH_OBJECTS), wall, (unsigned long long)q.check);
	return 0;
}


/* ---- shared helpers of the suite ---- */

/* Log-uniform in [lo, hi] bytes (hi / lo a power of two): an octave
 * chosen uniformly, then a size uniform within it. No libm. */
static size_t log_uniform(uint64_t *rng, size_t lo, size_t hi)
{
	uint64_t x = xorshift64(rng);
	unsigned octaves = (unsigned)__builtin_ctzll(hi / lo);
	size_t base = lo << (x % octaves);
	size_t n = base + (x >> 20) % (base + 1);
	return n > hi ? hi : n;
}

static void touch(unsigned char *p, size_t n, unsigned char v)
{
	p[0] = v;
	p[n - 1] = v;
}

/* One write per 4 KiB page and the last byte: the object is resident, as
 * in a program that uses its buffers (peak RSS then measures live bytes plus
 * the allocator's overhead, not how many untouched pages it hands out). */
static void touch_pages(unsigned char *p, size_t n, unsigned char v)
{
	for (size_t k = 0; k < n; k += 4096)
		p[k] = v;
	p[n - 1] = v;
}

struct two_threads {
	void *(*fn)(void *);
	void *arg[2];
};

static int run_two(void *(*fn)(void *), void *a0, void *a1)
{
	pthread_t t[2];
	int err;
	if ((err = pthread_create(&t[0], NULL, fn, a0)))
		return err;
	if ((err = pthread_create(&t[1], NULL, fn, a1)))
		return err;
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	return 0;
}

static void report(const char *name, unsigned threads, uint64_t ops, double t0, uint64_t check)
{
	double wall = monotonic_seconds() - t0;
	printf("%s threads=%u ops=%llu wall_s=%.6f check=%llu\n", name, threads,
	       (unsigned long long)ops, wall, (unsigned long long)check);
}

/* The two-thread workers below sum their check in a local and store it in
 * their job once, at the end: the two jobs sit side by side in one array,
 * and summing into them would make the threads write one cache line at
 * every operation (the benchmark's cost, not the allocator's). */

/* ---- larson ---- */

enum { LARSON_SLOTS = 4000, LARSON_ROUND = 20000, LARSON_MIN = 16, LARSON_MAX = 2048 };
static unsigned char **larson_sets[2];
static pthread_barrier_t larson_barrier;
struct larson_job {
	unsigned id;
	uint64_t rounds;
	uint64_t check;
};

static void *larson_worker(void *arg)
{
	struct larson_job *j = arg;
	uint64_t check = 0;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (j->id + 1);
	for (uint64_t r = 0; r < j->rounds; r++) {
		/* round r: thread id works on set (id + r) % 2, so each set
		 * changes hands every round */
		unsigned char **set = larson_sets[(j->id + r) % 2];
		for (unsigned k = 0; k < LARSON_ROUND; k++) {
			uint64_t x = xorshift64(&rng);
			size_t slot = x % LARSON_SLOTS;
			size_t n = LARSON_MIN + (x >> 32) % (LARSON_MAX - LARSON_MIN + 1);
			check += set[slot][0];
			free(set[slot]);
			set[slot] = xmalloc(n);
			touch(set[slot], n, (unsigned char)k);
		}
		pthread_barrier_wait(&larson_barrier);
	}
	j->check = check;
	return NULL;
}

static int run_larson(double mops)
{
	uint64_t rounds = (uint64_t)(mops * 1e6 / (2.0 * LARSON_ROUND));
	if (rounds == 0)
		rounds = 1;
	uint64_t rng = 12345;
	for (int s = 0; s < 2; s++) {
		larson_sets[s] = xmalloc(sizeof(unsigned char *) * LARSON_SLOTS);
		for (size_t i = 0; i < LARSON_SLOTS; i++) {
			size_t n = LARSON_MIN + xorshift64(&rng) % (LARSON_MAX - LARSON_MIN + 1);
			larson_sets[s][i] = xmalloc(n);
			touch(larson_sets[s][i], n, (unsigned char)i);
		}
	}
	pthread_barrier_init(&larson_barrier, NULL, 2);
	struct larson_job j[2] = { { .id = 0, .rounds = rounds }, { .id = 1, .rounds = rounds } };
	double t0 = monotonic_seconds();
	int err = run_two(larson_worker, &j[0], &j[1]);
	if (err)
		return err;
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < LARSON_SLOTS; i++)
			free(larson_sets[s][i]);
		free(larson_sets[s]);
	}
	report("larson", 2, rounds * 2 * LARSON_ROUND, t0, j[0].check + j[1].check);
	return 0;
}

/* ---- cache-scratch / cache-thrash ---- */

enum { SCRATCH_OBJ = 8, SCRATCH_WRITES = 200 };
struct scratch_job {
	unsigned char *foreign; /* NULL for thrash */
	uint64_t iters;
	uint64_t check;
};

static void *scratch_worker(void *arg)
{
	struct scratch_job *j = arg;
	uint64_t check = 0;
	free(j->foreign);
	for (uint64_t i = 0; i < j->iters; i++) {
		volatile unsigned char *p = xmalloc(SCRATCH_OBJ);
		for (unsigned w = 0; w < SCRATCH_WRITES; w++)
			p[w % SCRATCH_OBJ] = (unsigned char)(p[w % SCRATCH_OBJ] + 1);
		check += p[0] != 0;
		free((void *)p);
	}
	j->check = check;
	return NULL;
}

static int run_scratch(double kiter, bool passive)
{
	uint64_t iters = (uint64_t)(kiter * 1000);
	struct scratch_job j[2] = { { .iters = iters }, { .iters = iters } };
	if (passive) {
		/* neighbours: one cache line, handed to two threads */
		j[0].foreign = xmalloc(SCRATCH_OBJ);
		j[1].foreign = xmalloc(SCRATCH_OBJ);
	}
	double t0 = monotonic_seconds();
	int err = run_two(scratch_worker, &j[0], &j[1]);
	if (err)
		return err;
	report(passive ? "scratch" : "thrash", 2, 2 * iters, t0, 0 * (j[0].check + j[1].check) + 2 * iters);
	return 0;
}

/* ---- xmalloc-test: every object freed by the thread that did not allocate it ---- */

enum { XM_BATCH = 64, XM_RING = 32, XM_MIN = 16, XM_MAX = 256 };
struct xm_mailbox {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned char *ring[XM_RING][XM_BATCH];
	unsigned head, count;
};
static struct xm_mailbox xm_box[2];
struct xm_job {
	unsigned id;
	uint64_t batches;
	uint64_t check;
};

static void xm_free_batch(unsigned char **b, uint64_t *check)
{
	for (unsigned i = 0; i < XM_BATCH; i++) {
		*check += b[i][0];
		free(b[i]);
	}
}

static void *xm_worker(void *arg)
{
	struct xm_job *j = arg;
	uint64_t check = 0;
	struct xm_mailbox *in = &xm_box[j->id], *out = &xm_box[1 - j->id];
	uint64_t rng = 0x2545f4914f6cdd1dULL * (j->id + 1);
	uint64_t received = 0;
	unsigned char *batch[XM_BATCH], *got[XM_BATCH];
	for (uint64_t b = 0; b < j->batches || received < j->batches;) {
		if (b < j->batches) {
			for (unsigned i = 0; i < XM_BATCH; i++) {
				size_t n = XM_MIN + xorshift64(&rng) % (XM_MAX - XM_MIN + 1);
				batch[i] = xmalloc(n);
				touch(batch[i], n, (unsigned char)i);
			}
			pthread_mutex_lock(&out->lock);
			while (out->count == XM_RING)
				pthread_cond_wait(&out->cond, &out->lock);
			memcpy(out->ring[(out->head + out->count) % XM_RING], batch, sizeof(batch));
			out->count++;
			pthread_cond_broadcast(&out->cond);
			pthread_mutex_unlock(&out->lock);
			b++;
		}
		pthread_mutex_lock(&in->lock);
		/* block only when there is nothing left to send */
		while (in->count == 0 && b >= j->batches && received < j->batches)
			pthread_cond_wait(&in->cond, &in->lock);
		bool have = in->count > 0;
		if (have) {
			memcpy(got, in->ring[in->head], sizeof(got));
			in->head = (in->head + 1) % XM_RING;
			in->count--;
			pthread_cond_broadcast(&in->cond);
		}
		pthread_mutex_unlock(&in->lock);
		if (have) {
			xm_free_batch(got, &check);
			received++;
		}
	}
	j->check = check;
	return NULL;
}

static int run_xmalloc(double mops)
{
	uint64_t batches = (uint64_t)(mops * 1e6 / (2.0 * XM_BATCH));
	if (!batches)
		batches = 1;
	for (int i = 0; i < 2; i++) {
		pthread_mutex_init(&xm_box[i].lock, NULL);
		pthread_cond_init(&xm_box[i].cond, NULL);
	}
	struct xm_job j[2] = { { .id = 0, .batches = batches }, { .id = 1, .batches = batches } };
	double t0 = monotonic_seconds();
	int err = run_two(xm_worker, &j[0], &j[1]);
	if (err)
		return err;
	report("xmalloc", 2, 2 * batches * XM_BATCH, t0, j[0].check + j[1].check);
	return 0;
}

/* ---- rptest-like: random sizes, some frees handed to the other thread ---- */

enum { RP_SLOTS = 8192, RP_MIN = 16, RP_MAX = 16384, RP_HAND = 8, RP_QUEUE = 4096 };
struct rp_queue {
	pthread_mutex_t lock;
	unsigned char *q[RP_QUEUE];
	unsigned n;
};
static struct rp_queue rp_q[2];
struct rp_job {
	unsigned id;
	uint64_t ops;
	uint64_t check;
};

static void rp_drain(struct rp_queue *q)
{
	unsigned char *local[RP_QUEUE];
	pthread_mutex_lock(&q->lock);
	unsigned n = q->n;
	memcpy(local, q->q, n * sizeof(local[0]));
	q->n = 0;
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < n; i++)
		free(local[i]);
}

static void *rp_worker(void *arg)
{
	struct rp_job *j = arg;
	uint64_t check = 0;
	uint64_t rng = 0xda942042e4dd58b5ULL * (j->id + 1);
	unsigned char **slot = xmalloc(sizeof(*slot) * RP_SLOTS);
	size_t *len = xmalloc(sizeof(*len) * RP_SLOTS);
	struct rp_queue *mine = &rp_q[j->id], *other = &rp_q[1 - j->id];
	for (size_t i = 0; i < RP_SLOTS; i++) {
		len[i] = log_uniform(&rng, RP_MIN, RP_MAX);
		slot[i] = xmalloc(len[i]);
		touch_pages(slot[i], len[i], 1);
	}
	for (uint64_t op = 0; op < j->ops; op++) {
		uint64_t x = xorshift64(&rng);
		size_t i = x % RP_SLOTS;
		check += slot[i][len[i] - 1];
		if ((x >> 40) % RP_HAND == 0) {
			/* hand it to the other thread, which frees it */
			pthread_mutex_lock(&other->lock);
			bool full = other->n == RP_QUEUE;
			if (!full)
				other->q[other->n++] = slot[i];
			pthread_mutex_unlock(&other->lock);
			if (full)
				free(slot[i]);
		} else {
			free(slot[i]);
		}
		if ((op & 255) == 0)
			rp_drain(mine);
		len[i] = log_uniform(&rng, RP_MIN, RP_MAX);
		slot[i] = xmalloc(len[i]);
		touch_pages(slot[i], len[i], 1);
	}
	for (size_t i = 0; i < RP_SLOTS; i++)
		free(slot[i]);
	free(slot);
	free(len);
	j->check = check;
	return NULL;
}

static int run_rptest(double mops)
{
	uint64_t ops = (uint64_t)(mops * 1e6 / 2);
	for (int i = 0; i < 2; i++)
		pthread_mutex_init(&rp_q[i].lock, NULL);
	struct rp_job j[2] = { { .id = 0, .ops = ops }, { .id = 1, .ops = ops } };
	double t0 = monotonic_seconds();
	int err = run_two(rp_worker, &j[0], &j[1]);
	if (err)
		return err;
	rp_drain(&rp_q[0]);
	rp_drain(&rp_q[1]);
	report("rptest", 2, 2 * ops, t0, j[0].check + j[1].check);
	return 0;
}

/* ---- bench-malloc-simple ---- */

static int run_simple(double rounds_arg)
{
	static const unsigned counts[] = { 25, 100, 400, 1600 };
	static void *blocks[1600];
	uint64_t rounds = (uint64_t)(rounds_arg * 100);
	if (!rounds)
		rounds = 1;
	uint64_t ops = 0, check = 0;
	double t0 = monotonic_seconds();
	for (size_t size = 16; size <= 4096; size *= 2)
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
			for (uint64_t r = 0; r < rounds; r++) {
				for (unsigned i = 0; i < counts[c]; i++) {
					blocks[i] = xmalloc(size);
					*(unsigned char *)blocks[i] = (unsigned char)i;
				}
				for (unsigned i = 0; i < counts[c]; i++) {
					check += *(unsigned char *)blocks[i];
					free(blocks[i]);
				}
				ops += counts[c];
			}
	report("simple", 1, ops, t0, check);
	return 0;
}

/* ---- bench-malloc-thread ---- */

enum { BT_SLOTS = 1024, BT_MIN = 4, BT_MAX = 32768 };
struct bt_job {
	unsigned id;
	uint64_t ops;
	uint64_t check;
};

/* inverse-square density on [BT_MIN, BT_MAX]: small sizes dominate */
static size_t bt_size(uint64_t *rng)
{
	double u = (double)(xorshift64(rng) >> 11) / 9007199254740992.0;
	double a = 1.0 / BT_MIN, b = 1.0 / BT_MAX;
	size_t n = (size_t)(1.0 / (a - u * (a - b)));
	return n < BT_MIN ? BT_MIN : n > BT_MAX ? BT_MAX : n;
}

static void *bt_worker(void *arg)
{
	struct bt_job *j = arg;
	uint64_t check = 0;
	uint64_t rng = 0x6a09e667f3bcc909ULL * (j->id + 1);
	unsigned char **slot = xmalloc(sizeof(*slot) * BT_SLOTS);
	for (size_t i = 0; i < BT_SLOTS; i++) {
		slot[i] = xmalloc(BT_MIN);
		slot[i][0] = 0;
	}
	for (uint64_t op = 0; op < j->ops; op++) {
		size_t i = xorshift64(&rng) % BT_SLOTS, n = bt_size(&rng);
		check += slot[i][0];
		free(slot[i]);
		slot[i] = xmalloc(n);
		touch(slot[i], n, (unsigned char)op);
	}
	for (size_t i = 0; i < BT_SLOTS; i++)
		free(slot[i]);
	free(slot);
	j->check = check;
	return NULL;
}

static int run_thread(double mops)
{
	uint64_t ops = (uint64_t)(mops * 1e6);
	struct bt_job j[2] = { { .id = 0, .ops = ops }, { .id = 1, .ops = ops } };
	double t0 = monotonic_seconds();
	int err = run_two(bt_worker, &j[0], &j[1]);
	if (err)
		return err;
	report("thread", 2, 2 * ops, t0, j[0].check + j[1].check);
	return 0;
}

/* ---- malloc-large ---- */

enum { LG_LIVE = 256 };
static int run_large(double kops)
{
	uint64_t ops = (uint64_t)(kops * 1000), rng = 77, check = 0;
	static unsigned char *slot[LG_LIVE];
	static size_t len[LG_LIVE];
	double t0 = monotonic_seconds();
	for (uint64_t op = 0; op < ops + LG_LIVE; op++) {
		size_t i = op < LG_LIVE ? op : xorshift64(&rng) % LG_LIVE;
		if (slot[i]) {
			check += slot[i][0];
			free(slot[i]);
		}
		len[i] = log_uniform(&rng, 64 << 10, 4 << 20);
		slot[i] = xmalloc(len[i]);
		for (size_t k = 0; k < len[i]; k += 4096)
			slot[i][k] = (unsigned char)(op + k);
		slot[i][len[i] - 1] = 1;
	}
	for (size_t i = 0; i < LG_LIVE; i++)
		free(slot[i]);
	report("large", 1, ops, t0, check);
	return 0;
}

/* ---- realloc growth ---- */

enum { RV_LIVE = 64, RV_FROM = 16, RV_TO = 256 << 10 };
static int run_realloc(double kvec)
{
	uint64_t vecs = (uint64_t)(kvec * 1000), started = 0, done = 0, check = 0, ops = 0;
	static unsigned char *v[RV_LIVE];
	static size_t cap[RV_LIVE];
	double t0 = monotonic_seconds();
	while (done < vecs) {
		for (size_t i = 0; i < RV_LIVE; i++) {
			if (!v[i]) {
				if (started == vecs)
					continue;
				started++;
				cap[i] = RV_FROM;
				v[i] = xmalloc(cap[i]);
				memset(v[i], (int)(i & 0x7f), cap[i]);
				continue;
			}
			if (cap[i] == RV_TO) {
				check += v[i][RV_TO / 3];
				free(v[i]);
				v[i] = NULL;
				done++;
				continue;
			}
			unsigned char *n = realloc(v[i], 2 * cap[i]);
			if (!n) {
				fprintf(stderr, "allocbench: realloc failed\n");
				exit(1);
			}
			if (n[cap[i] - 1] != (unsigned char)(i & 0x7f)) {
				fprintf(stderr, "allocbench: realloc lost contents\n");
				exit(1);
			}
			memset(n + cap[i], (int)(i & 0x7f), cap[i]);
			v[i] = n;
			cap[i] *= 2;
			ops++;
		}
	}
	report("realloc", 1, ops, t0, check);
	return 0;
}

/* ---- fragmentation ---- */

static int run_fragment(double mobj)
{
	size_t n = (size_t)(mobj * 1e6), m = n / 10;
	uint64_t rng = 4242, check = 0;
	unsigned char **small = xmalloc(sizeof(*small) * (n ? n : 1));
	unsigned char **big = xmalloc(sizeof(*big) * (m ? m : 1));
	double t0 = monotonic_seconds();
	for (size_t i = 0; i < n; i++) {
		size_t k = 16 + xorshift64(&rng) % 241;
		small[i] = xmalloc(k);
		touch(small[i], k, (unsigned char)i);
	}
	for (size_t i = 0; i < n; i++)
		if (xorshift64(&rng) % 10 != 0) {
			check += small[i][0];
			free(small[i]);
			small[i] = NULL;
		}
	for (size_t i = 0; i < m; i++) {
		size_t k = 1024 + xorshift64(&rng) % (7 * 1024 + 1);
		big[i] = xmalloc(k);
		memset(big[i], (int)(i & 0xff), k);
	}
	/* the peak is here: survivors plus the new objects */
	for (size_t i = 0; i < n; i++)
		free(small[i]);
	for (size_t i = 0; i < m; i++)
		free(big[i]);
	free(small);
	free(big);
	report("fragment", 1, n + m, t0, check);
	return 0;
}

/* ---- mixed medium sizes ---- */

enum { MX_LIVE = 20000, MX_MIN = 16, MX_MAX = 65536 };
struct mx_job {
	unsigned id;
	uint64_t ops;
	uint64_t check;
};

static void *mx_worker(void *arg)
{
	struct mx_job *j = arg;
	uint64_t check = 0;
	uint64_t rng = 0x510e527fade682d1ULL * (j->id + 1);
	unsigned char **slot = xmalloc(sizeof(*slot) * MX_LIVE);
	size_t *len = xmalloc(sizeof(*len) * MX_LIVE);
	for (size_t i = 0; i < MX_LIVE; i++) {
		len[i] = log_uniform(&rng, MX_MIN, MX_MAX);
		slot[i] = xmalloc(len[i]);
		touch_pages(slot[i], len[i], 2);
	}
	for (uint64_t op = 0; op < j->ops; op++) {
		size_t i = xorshift64(&rng) % MX_LIVE;
		check += slot[i][len[i] - 1];
		free(slot[i]);
		len[i] = log_uniform(&rng, MX_MIN, MX_MAX);
		slot[i] = xmalloc(len[i]);
		touch_pages(slot[i], len[i], 2);
	}
	for (size_t i = 0; i < MX_LIVE; i++)
		free(slot[i]);
	free(slot);
	free(len);
	j->check = check;
	return NULL;
}

static int run_mixed(double kops)
{
	uint64_t ops = (uint64_t)(kops * 1000);
	struct mx_job j[2] = { { .id = 0, .ops = ops }, { .id = 1, .ops = ops } };
	double t0 = monotonic_seconds();
	int err = run_two(mx_worker, &j[0], &j[1]);
	if (err)
		return err;
	report("mixed", 2, 2 * ops, t0, j[0].check + j[1].check);
	return 0;
}

struct workload {
	const char *name;
	double default_size;
	int (*run)(double size);
};

static int run_single(double mops) { return run_replace(1, (uint64_t)(mops * 1e6), "single"); }
static int run_two_sets(double mops) { return run_replace(2, (uint64_t)(mops * 1e6), "two"); }
static int run_prodcons_size(double mops) { return run_prodcons((uint64_t)(mops * 1e6)); }
static int run_scratch_passive(double k) { return run_scratch(k, true); }
static int run_scratch_active(double k) { return run_scratch(k, false); }

static const struct workload workloads[] = {
	{ "single", 10, run_single },
	{ "two", 10, run_two_sets },
	{ "prodcons", 4, run_prodcons_size },
	{ "larson", 4, run_larson },
	{ "scratch", 400, run_scratch_passive },
	{ "thrash", 400, run_scratch_active },
	{ "xmalloc", 4, run_xmalloc },
	{ "rptest", 3, run_rptest },
	{ "simple", 0.5, run_simple },
	{ "thread", 4, run_thread },
	{ "large", 6, run_large },
	{ "realloc", 2, run_realloc },
	{ "fragment", 1, run_fragment },
	{ "mixed", 600, run_mixed },
};

int main(int argc, char **argv)
{
	const struct workload *w = NULL;
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
			printf("%s %g\n", workloads[i].name, workloads[i].default_size);
		return 0;
	}
	if (argc >= 2)
		for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
			if (strcmp(argv[1], workloads[i].name) == 0)
				w = &workloads[i];
	if (argc < 2 || argc > 3 || !w) {
		fprintf(stderr, "usage: %s WORKLOAD [SIZE]   (allocbench --list: workloads and default sizes)\n",
			argv[0]);
		return 2;
	}
	double size = argc == 3 ? strtod(argv[2], NULL) : w->default_size;
	if (!(size > 0) || size > 1e5) {
		fprintf(stderr, "allocbench: SIZE must be in (0, 1e5]\n");
		return 2;
	}
	int err = w->run(size);
	if (err) {
		fprintf(stderr, "allocbench: %s\n", strerror(err));
		return 1;
	}
	return 0;
}
