/* SPDX-License-Identifier: MIT */
/*
 * The background thread (Go's background scavenger, plus publication): one
 * per process, it wakes every SA_BACKGROUND_INTERVAL_MS, releases the free
 * runs whose SPANALLOC_SCAVENGE_MS delay has passed and republishes the
 * statistics segment when the ladder changed. So neither the numbers another
 * process reads nor the scavenger wait for the program's next malloc.
 *
 * When it starts (sa_bg_start):
 * - the sa_* API library: at the allocator's first use (sa_init_slow), which
 *   is the caller's own code, never inside libc;
 * - the malloc replacement (SA_MALLOC_OVERRIDE): from the library's
 *   constructor, i.e. after libc is initialised and never from inside a
 *   malloc call (glibc's pthread_create allocates, and a malloc may be
 *   called with loader locks held);
 * - in a fork child: from the pthread_atfork child handler, after the
 *   allocator's locks are released (threads do not survive fork).
 * The thread is created with every signal blocked (it never takes a signal
 * meant for the program), a small stack, the name "spanalloc-bg", and never
 * allocates. SPANALLOC_BACKGROUND=0 disables it, for programs that must stay
 * single-threaded (unshare(CLONE_NEWUSER) refuses a multithreaded caller).
 */
#include "sa-internal.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define SA_BG_STACK_BYTES ((size_t)128 << 10)

int sa_bg_running;
uint64_t sa_bg_wakeups;
int sa_bg_disabled; /* SPANALLOC_BACKGROUND=0, read at init */
static int sa_bg_starting; /* 0 idle, 1 a start is in progress or done */

static void *sa_bg_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, (unsigned long)"spanalloc-bg", 0, 0, 0);
	const struct timespec step = { 0, (long)SA_BACKGROUND_INTERVAL_MS * 1000000L };
	for (;;) {
		struct timespec left = step;
		while (nanosleep(&left, &left) != 0 && errno == EINTR)
			;
		__atomic_fetch_add(&sa_bg_wakeups, 1, __ATOMIC_RELAXED);
		/* with delay 0 every free run is released at the free itself */
		if (__atomic_load_n(&sa_scavenge_delay_ms, __ATOMIC_RELAXED))
			sa_heap_scavenge(false);
		sa_publish_if_changed(false);
	}
	return NULL;
}

void sa_bg_start(void)
{
	if (sa_bg_disabled)
		return;
	int expect = 0;
	if (!__atomic_compare_exchange_n(&sa_bg_starting, &expect, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	int saved_errno = errno;
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0) {
		errno = saved_errno;
		return;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, SA_BG_STACK_BYTES);
	/* the new thread inherits the creator's mask: block everything */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int e = pthread_create(&t, &attr, sa_bg_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (e == 0)
		__atomic_store_n(&sa_bg_running, 1, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&sa_bg_starting, 0, __ATOMIC_RELEASE); /* a later start may work */
	errno = saved_errno;
}

void sa_bg_fork_child(void)
{
	/* the parent's thread does not exist here */
	int was = sa_bg_running;
	sa_bg_running = 0;
	sa_bg_starting = 0;
	if (was)
		sa_bg_start();
}
