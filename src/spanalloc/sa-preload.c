/* SPDX-License-Identifier: MIT */
/* The C allocation API, exported only by libspanalloc-malloc.so so that
 * LD_PRELOAD=libspanalloc-malloc.so replaces the libc allocator. No dlsym:
 * nothing here calls the allocator it replaces. Also unshare() and setns(),
 * which must run without the background thread, and the credential calls
 * (setuid() and kin), which must not find it holding other credentials. */
#include "spanalloc.h"
#include "sa-background.h"
#include "sa-init.h"
#include "sa-tcache.h"
#include "sa-api.h"
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <string.h>
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

/*
 * Credential changes. glibc's setuid() and kin change every thread of the
 * process: the caller sends each other thread a signal (SIGSETXID) whose
 * handler makes the same system call, and glibc aborts the process, without
 * a message, when the threads' results differ. They differ when the caller's
 * capabilities are not the background thread's: capabilities are per thread,
 * and e.g. setpriv(1) sets PR_SET_KEEPCAPS, calls setresuid() (which clears
 * the effective set of every thread), raises its own effective set again
 * with capset() and then calls setresgid(), which the background thread, now
 * without CAP_SETGID, fails with EPERM. So each of these calls stops the
 * background thread, is made by glibc's own function in a process that has
 * only the program's threads, and starts the thread again, which then
 * inherits the caller's new credentials. capset() too, so that the thread
 * always has its creator's capabilities.
 * glibc's function is found with dlsym(RTLD_NEXT) at the first call (dlsym
 * may allocate: it is our malloc, already initialised).
 */
static void *sa_next_symbol(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (f == NULL) {
		/* no credential change without it: say why, then stop */
		static const char prefix[] = "spanalloc: dlsym(RTLD_NEXT) found no ";
		ssize_t w = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
		w = write(STDERR_FILENO, name, strlen(name));
		w = write(STDERR_FILENO, "\n", 1);
		(void)w;
		abort();
	}
	return f;
}

#define SA_CRED_CALL(ret, name, params, args)                                      \
	SA_EXPORT ret name params                                                  \
	{                                                                          \
		static ret(*next) params;                                          \
		if (next == NULL)                                                  \
			next = (ret(*) params)sa_next_symbol(#name);               \
		bool was = sa_bg_stop();                                           \
		ret sa_result = next args;                                         \
		int sa_errno = errno;                                              \
		if (was)                                                           \
			sa_bg_start();                                             \
		errno = sa_errno;                                                  \
		return sa_result;                                                       \
	}

SA_CRED_CALL(int, setuid, (uid_t uid), (uid))
SA_CRED_CALL(int, setgid, (gid_t gid), (gid))
SA_CRED_CALL(int, seteuid, (uid_t uid), (uid))
SA_CRED_CALL(int, setegid, (gid_t gid), (gid))
SA_CRED_CALL(int, setreuid, (uid_t ruid, uid_t euid), (ruid, euid))
SA_CRED_CALL(int, setregid, (gid_t rgid, gid_t egid), (rgid, egid))
SA_CRED_CALL(int, setresuid, (uid_t ruid, uid_t euid, uid_t suid), (ruid, euid, suid))
SA_CRED_CALL(int, setresgid, (gid_t rgid, gid_t egid, gid_t sgid), (rgid, egid, sgid))
SA_CRED_CALL(int, setgroups, (size_t n, const gid_t *list), (n, list))
SA_CRED_CALL(int, initgroups, (const char *user, gid_t group), (user, group))
SA_CRED_CALL(int, capset, (void *header, const void *data), (header, data))

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
