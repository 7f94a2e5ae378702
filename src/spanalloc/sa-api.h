/* SPDX-License-Identifier: MIT */
/*
 * The API implementation shared by sa_* (sa-api.c) and malloc
 * (sa-preload.c).
 */
#ifndef SA_API_H
#define SA_API_H

#include "sa-base.h"

/* ---------- API implementation shared by sa_* and malloc ---------- */
SA_HIDDEN void *sa_calloc_impl(size_t n, size_t size);
SA_HIDDEN void *sa_realloc_impl(void *p, size_t size);
SA_HIDDEN void *sa_memalign_impl(size_t align, size_t size);
SA_HIDDEN size_t sa_usable_size_impl(const void *p);

#endif
