/* SPDX-License-Identifier: MIT */
/*
 * What every spanalloc file needs: the fixed-width types, symbol visibility
 * and branch hints. Nothing else, and no functions: every other header
 * builds on this one (the public constants and types come from
 * spanalloc-stats.h, included where needed).
 */
#ifndef SA_BASE_H
#define SA_BASE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define SA_HIDDEN __attribute__((visibility("hidden")))
#define SA_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
