/* SPDX-License-Identifier: MIT */
/* The C allocation API, exported only by libspanalloc-malloc.so so that
 * LD_PRELOAD=libspanalloc-malloc.so replaces the libc allocator. No dlsym:
 * nothing here calls the allocator it replaces. Also unshare() and setns(),
 * which must run without the background thread. */
#include "sa-internal.h"
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Starts the background thread once libc is initialised (sa-background.c):
 * never from inside a malloc call. */
__attribute__((constructor)) static void sa_preload_init(void)
{
	sa_ensure_init();
	sa_bg_start();
}

/* unshare(2) and setns(2) of a user or mount namespace refuse a caller with
 * more than one thread (EINVAL): a program that was single-threaded before
 * LD_PRELOAD must stay able to make them. The background thread is stopped
 * for the call and started again after it. */
static int sa_single_threaded_call(long nr, long a, long b)
{
	bool was = sa_bg_stop();
	long r = syscall(nr, a, b);
	int e = errno;
	if (was)
		sa_bg_start();
	errno = e;
	return (int)r;
}

SA_EXPORT int unshare(int flags)
{
	return sa_single_threaded_call(SYS_unshare, flags, 0);
}

SA_EXPORT int setns(int fd, int nstype)
{
	return sa_single_threaded_call(SYS_setns, fd, nstype);
}

SA_EXPORT void *malloc(size_t size)
{
	return sa_malloc_inline(size);
}

SA_EXPORT void free(void *p)
{
	sa_free_inline(p);
}

SA_EXPORT void *calloc(size_t n, size_t size)
{
	return sa_calloc_impl(n, size);
}

SA_EXPORT void *realloc(void *p, size_t size)
{
	return sa_realloc_impl(p, size);
}

SA_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	return sa_reallocarray(p, n, size);
}

SA_EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
	return sa_posix_memalign(out, alignment, size);
}

SA_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	return sa_memalign_impl(alignment, size);
}

SA_EXPORT void *memalign(size_t alignment, size_t size)
{
	return sa_memalign(alignment, size);
}

SA_EXPORT void *valloc(size_t size)
{
	return sa_memalign_impl(4096, size);
}

SA_EXPORT void *pvalloc(size_t size)
{
	size_t r = (size + 4095) & ~(size_t)4095;
	if (r < size) {
		errno = ENOMEM;
		return NULL;
	}
	return sa_memalign_impl(4096, r ? r : 4096);
}

SA_EXPORT size_t malloc_usable_size(void *p)
{
	return sa_usable_size_impl(p);
}
