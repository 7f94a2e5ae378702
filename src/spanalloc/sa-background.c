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
 * allocates. Some calls refuse a multithreaded caller (unshare(2) of a user
 * or mount namespace, setns(2) into one): the malloc replacement wraps
 * unshare() and setns() to stop the thread (sa_bg_stop), make the call and
 * start it again, and the credential calls the same way (sa-preload.c).
 * SPANALLOC_BACKGROUND=0 disables the thread altogether.
 */
#include "sa-background.h"
#include "spanalloc-stats.h"
#include "sa-os.h"
#include "sa-options.h"
#include "sa-heap.h"
#include "sa-publish.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SA_BG_STACK_BYTES ((size_t)128 << 10)

int sa_bg_running;
uint64_t sa_bg_wakeups;
static int sa_bg_starting; /* 0 idle, 1 a start is in progress or done */
static pthread_t sa_bg_thread;
static pid_t sa_bg_tid; /* the thread's kernel id, for sa_bg_wait_gone() */
/* The process the thread belongs to: a vfork(2) child shares our memory and
 * must neither stop nor start it (a setuid() between vfork and exec). */
static pid_t sa_bg_owner;
/* The thread sleeps on a condition variable (CLOCK_MONOTONIC) so that
 * sa_bg_stop() wakes it at once. */
static pthread_mutex_t sa_bg_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sa_bg_cond;
static int sa_bg_cond_ready;
static int sa_bg_stop_requested; /* under sa_bg_mutex */
static sa_lock_t sa_bg_ctl_lock; /* one start/stop at a time */

static void sa_bg_cond_init(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sa_bg_cond, &ca);
	pthread_condattr_destroy(&ca);
	sa_bg_cond_ready = 1;
}

static void *sa_bg_main(void *arg)
{
	(void)arg;
	/* named first: sa_bg_start() waits for the tid, so the thread has its
	 * name before anyone can list it */
	prctl(PR_SET_NAME, (unsigned long)"spanalloc-bg", 0, 0, 0);
	__atomic_store_n(&sa_bg_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;) {
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_nsec += (long)SA_BACKGROUND_INTERVAL_MS * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&sa_bg_mutex);
		while (!sa_bg_stop_requested &&
		       pthread_cond_timedwait(&sa_bg_cond, &sa_bg_mutex, &deadline) != ETIMEDOUT)
			;
		int stop = sa_bg_stop_requested;
		pthread_mutex_unlock(&sa_bg_mutex);
		if (stop)
			return NULL;
		__atomic_fetch_add(&sa_bg_wakeups, 1, __ATOMIC_RELAXED);
		/* with delay 0 every free run is released at the free itself.
		 * Under the publish lock: a publication (ladder, then tables) never
		 * has one of this thread's scavenges in the middle */
		if (__atomic_load_n(&sa_scavenge_delay_ms, __ATOMIC_RELAXED)) {
			sa_lock(&sa_publish_lock);
			sa_heap_scavenge(false);
			sa_unlock(&sa_publish_lock);
		}
		sa_publish_if_changed(false);
	}
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
	sa_lock(&sa_bg_ctl_lock);
	if (!sa_bg_cond_ready)
		sa_bg_cond_init();
	sa_bg_stop_requested = 0;
	pthread_attr_t attr;
	int e = pthread_attr_init(&attr);
	if (e == 0) {
		pthread_attr_setstacksize(&attr, SA_BG_STACK_BYTES);
		/* the new thread inherits the creator's mask: block everything */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		e = pthread_create(&sa_bg_thread, &attr, sa_bg_main, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		/* Wait until the thread has named itself (it stores its tid just
		 * after). Not pthread_setname_np() from here: for another thread
		 * glibc formats /proc/self/task/<tid>/comm with sprintf, and the
		 * pages of printf's code and tables it faults in were ~190 KB of
		 * a small program's peak RSS (1000 mallocs: 1544 KB against 1352
		 * KB). The thread takes no lock before that. */
		while (e == 0 && !__atomic_load_n(&sa_bg_tid, __ATOMIC_ACQUIRE))
			sched_yield();
		pthread_attr_destroy(&attr);
	}
	if (e == 0) {
		sa_bg_owner = getpid();
		__atomic_store_n(&sa_bg_running, 1, __ATOMIC_RELEASE);
	}
	else
		__atomic_store_n(&sa_bg_starting, 0, __ATOMIC_RELEASE); /* a later start may work */
	sa_unlock(&sa_bg_ctl_lock);
	errno = saved_errno;
}

/*
 * pthread_join() returns when the kernel clears the thread's tid, in the
 * middle of its exit: it still shares the process's fs and is still in the
 * thread group for a moment, and unshare(CLONE_NEWUSER) refuses such a
 * caller (EINVAL). Wait until the kernel has released it (tgkill answers
 * ESRCH), at most ~1 s in 50 us steps.
 */
static void sa_bg_wait_gone(pid_t tid)
{
	if (tid <= 0)
		return;
	pid_t pid = getpid();
	for (int i = 0; i < 20000; i++) {
		if (syscall(SYS_tgkill, pid, tid, 0) != 0 && errno == ESRCH)
			return;
		struct timespec step = { 0, 50000 };
		nanosleep(&step, NULL);
	}
}

bool sa_bg_stop(void)
{
	int saved_errno = errno;
	if (__atomic_load_n(&sa_bg_running, __ATOMIC_ACQUIRE) && getpid() != sa_bg_owner)
		return false; /* a vfork child: the thread is its parent's */
	sa_lock(&sa_bg_ctl_lock);
	bool was = __atomic_load_n(&sa_bg_running, __ATOMIC_ACQUIRE);
	if (was) {
		pthread_mutex_lock(&sa_bg_mutex);
		sa_bg_stop_requested = 1;
		pthread_cond_signal(&sa_bg_cond);
		pthread_mutex_unlock(&sa_bg_mutex);
		pthread_join(sa_bg_thread, NULL);
		sa_bg_wait_gone(__atomic_exchange_n(&sa_bg_tid, 0, __ATOMIC_ACQ_REL));
		__atomic_store_n(&sa_bg_running, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&sa_bg_starting, 0, __ATOMIC_RELEASE);
	}
	sa_unlock(&sa_bg_ctl_lock);
	errno = saved_errno;
	return was;
}

void sa_bg_fork_child(void)
{
	/* the parent's thread does not exist here, and may have held the
	 * mutex at the fork */
	int was = sa_bg_running;
	sa_bg_running = 0;
	sa_bg_starting = 0;
	sa_bg_stop_requested = 0;
	sa_bg_tid = 0;
	sa_bg_ctl_lock.v = 0;
	pthread_mutex_init(&sa_bg_mutex, NULL);
	if (sa_bg_cond_ready)
		sa_bg_cond_init();
	if (was)
		sa_bg_start();
}
