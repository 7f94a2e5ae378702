/* SPDX-License-Identifier: MIT */
/*
 * Large objects (sa-large.c): allocation straight from the page heap, and
 * the checks of a free that is not of a small object.
 */
#ifndef SA_LARGE_H
#define SA_LARGE_H

#include "sa-span.h"

SA_HIDDEN void sa_free_nonsmall(void *p, struct sa_span *s);
/* Aborts: p is not an object of its small span, or is already free. Not
 * declared noreturn, so the free fast path reaches it by a jump (a call
 * would make it set up a stack frame on every free). */
SA_HIDDEN __attribute__((cold)) void sa_free_reject(const void *p);
SA_HIDDEN void *sa_malloc_large(size_t n, size_t align, bool zero);

#endif
