/* SPDX-License-Identifier: MIT */
/* OS boundary: mmap reservations, madvise release, clocks, lock back-off and
 * the fatal-error path (write(2) + abort(), never allocating). */
#include "sa-os.h"
#include "spanalloc-stats.h"
#include "sa-span.h"
#include <sys/mman.h>
#include <sys/prctl.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A spin-wait hint to the CPU (x86 PAUSE, ARM YIELD): lets the sibling
 * hyperthread run and saves power while the lock holder finishes. Nothing
 * on other architectures: the loop still works, it just spins plainly. */
static inline void sa_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

void sa_lock_slow(sa_lock_t *l)
{
	for (unsigned spins = 0;; spins++) {
		if (__atomic_load_n(&l->v, __ATOMIC_RELAXED) == 0 &&
		    __atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE) == 0)
			return;
		if (spins < 64)
			sa_cpu_relax();
		else
			sched_yield();
	}
}

/* Maps `bytes` of zeroed read/write memory aligned to `align` (a power of
 * two >= 4 KiB). Not MAP_NORESERVE: the kernel's overcommit policy decides,
 * so absurd requests fail (ENOMEM) instead of succeeding lazily. */
void *sa_os_map(size_t bytes, size_t align)
{
	if (align <= 4096) {
		void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (bytes + align < bytes)
		return NULL;
	size_t span = bytes + align;
	char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	size_t head = a - (uintptr_t)p, tail = span - head - bytes;
	if (head)
		munmap(p, head);
	if (tail)
		munmap((char *)a + bytes, tail);
	return (void *)a;
}

/* Returns the mode really used: MADV_FREE falls back to MADV_DONTNEED on
 * kernels without it (< 4.5). */
int sa_os_release(void *p, size_t bytes, int mode)
{
	if (mode == SA_RELEASE_FREE) {
#ifdef MADV_FREE
		if (madvise(p, bytes, MADV_FREE) == 0)
			return SA_RELEASE_FREE;
#endif
	}
	madvise(p, bytes, MADV_DONTNEED);
	return SA_RELEASE_DONTNEED;
}

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
void sa_os_name(void *p, size_t bytes, const char *name)
{
	/* EINVAL without CONFIG_ANON_VMA_NAME: the mapping stays unnamed, and
	 * readers still find the arenas in the segment's arena table. errno is
	 * left as it was (this runs inside malloc). */
	int saved = errno;
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, (unsigned long)bytes,
	      (unsigned long)name);
	errno = saved;
}

uint64_t sa_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t sa_fmt_hex(char *buf, uintptr_t v)
{
	char tmp[2 + 16];
	size_t n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[0] = '0';
	buf[1] = 'x';
	for (size_t i = 0; i < n; i++)
		buf[2 + i] = tmp[n - 1 - i];
	return n + 2;
}

void sa_die(const char *what, const void *p)
{
	char buf[256];
	size_t len = 0;
	const char *pre = "spanalloc: ";
	size_t wl = strlen(what);
	if (wl > 180)
		wl = 180;
	memcpy(buf, pre, strlen(pre));
	len += strlen(pre);
	memcpy(buf + len, what, wl);
	len += wl;
	buf[len++] = ':';
	buf[len++] = ' ';
	len += sa_fmt_hex(buf + len, (uintptr_t)p);
	buf[len++] = '\n';
	ssize_t r = write(STDERR_FILENO, buf, len);
	(void)r;
	abort();
}

static size_t sa_fmt_dec(char *buf, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static size_t sa_fmt_str(char *buf, const char *s)
{
	size_t n = strlen(s);
	memcpy(buf, s, n);
	return n;
}

/* "spanalloc: <what>: object 0x..., size class N (M bytes)[, byte offset K]"
 * on stderr, then abort. A stack buffer and write(2): no malloc, since the
 * heap is what is broken. */
static __attribute__((noreturn)) void sa_die_object(const char *what, const void *obj, int64_t offset)
{
	char buf[320];
	size_t len = 0;
	const struct sa_span *s = sa_span_of((uintptr_t)obj);
	len += sa_fmt_str(buf + len, "spanalloc: ");
	len += sa_fmt_str(buf + len, what);
	len += sa_fmt_str(buf + len, ": object ");
	len += sa_fmt_hex(buf + len, (uintptr_t)obj);
	if (s && s->cls) {
		len += sa_fmt_str(buf + len, ", size class ");
		len += sa_fmt_dec(buf + len, s->cls);
		len += sa_fmt_str(buf + len, " (");
		len += sa_fmt_dec(buf + len, s->elem_size);
		len += sa_fmt_str(buf + len, " bytes)");
	}
	if (offset >= 0) {
		len += sa_fmt_str(buf + len, ", byte offset ");
		len += sa_fmt_dec(buf + len, (uint64_t)offset);
	}
	buf[len++] = '\n';
	ssize_t r = write(STDERR_FILENO, buf, len);
	(void)r;
	abort();
}

void sa_die_link(const void *obj)
{
	sa_die_object("malloc(): corrupted free list (a write to a freed object)", obj, -1);
}

/* Words 0 and 1 are the encoded link and tag (checked by sa_link_next). */
void sa_debug_fill(void *o, uint32_t size)
{
	memset((char *)o + 2 * sizeof(void *), SA_DEBUG_FILL, size - 2 * sizeof(void *));
}

void sa_debug_check(void *o, uint32_t size)
{
	const uint64_t pat = 0x0101010101010101ULL * SA_DEBUG_FILL;
	const uint64_t *w = o;
	for (uint32_t i = 2; i < size / 8; i++)
		if (w[i] != pat) {
			const unsigned char *b = (const unsigned char *)&w[i];
			uint32_t k = 0;
			while (b[k] == SA_DEBUG_FILL)
				k++;
			sa_die_object("use-after-free write detected", o, (int64_t)i * 8 + k);
		}
}
