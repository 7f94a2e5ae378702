/* SPDX-License-Identifier: MIT */
/*
 * Size-class properties computed from the generated table
 * (sa-sizeclass-table.h): objects per span and objects per batch.
 */
#include "sa-sizeclass.h"
#include "sa-span.h"

uint32_t sa_class_objs(uint32_t cls)
{
	return (uint32_t)(((size_t)sa_class_pages_table[cls] << SA_PAGE_SHIFT) / sa_class_size_table[cls]);
}

/* Objects moved per refill/flush: about SA_BATCH_BYTES worth, 2..64 objects.
 * A thread's cache of one class swings between empty and two batches, so the
 * batch size in bytes is what an idle thread cache costs in RSS per class. */
#define SA_BATCH_BYTES 8192u
uint32_t sa_class_batch(uint32_t cls)
{
	uint32_t n = SA_BATCH_BYTES / sa_class_size_table[cls];
	return n < 2 ? 2 : n > 64 ? 64 : n;
}
