/* SPDX-License-Identifier: MIT */
/*
 * allocbench: malloc/free micro-workloads, run under whatever malloc the
 * process has (glibc, or another allocator via LD_PRELOAD).
 *
 *   allocbench single   [MOPS]   one thread, small objects 8..1024 bytes,
 *                                live working set of 10k objects, random replace
 *   allocbench two      [MOPS]   the same workload on 2 threads (each its own set)
 *   allocbench prodcons [MOPS]   one thread mallocs, another frees (cross-thread
 *                                frees), pointers handed over in batches through
 *                                a bounded mutex/condvar queue
 *
 * MOPS = millions of malloc+free pairs per thread (producer/consumer: in total).
 * Output, one line:  <workload> threads=<n> ops=<n> wall_s=<seconds> check=<n>
 * wall_s covers only the timed loop (not process start-up or the initial fill).
 */
#include <errno.h>
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

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s single|two|prodcons [MOPS]\n", argv[0]);
		return 2;
	}
	double mops = argc == 3 ? strtod(argv[2], NULL) : 10.0;
	if (!(mops > 0) || mops > 1e5) {
		fprintf(stderr, "allocbench: MOPS must be in (0, 1e5]\n");
		return 2;
	}
	uint64_t ops = (uint64_t)(mops * 1e6);
	int err;

	if (!strcmp(argv[1], "single"))
		err = run_replace(1, ops, "single");
	else if (!strcmp(argv[1], "two"))
		err = run_replace(2, ops, "two");
	else if (!strcmp(argv[1], "prodcons"))
		err = run_prodcons(ops);
	else {
		fprintf(stderr, "allocbench: unknown workload '%s'\n", argv[1]);
		return 2;
	}
	if (err) {
		fprintf(stderr, "allocbench: %s\n", strerror(err));
		return 1;
	}
	return 0;
}
