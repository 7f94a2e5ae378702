/* SPDX-License-Identifier: MIT */
/*
 * Size-class properties computed from the generated table
 * (sa-sizeclass-table.h): objects per span.
 */
#include "sa-sizeclass.h"
#include "sa-span.h"

uint32_t sa_class_objs(uint32_t cls)
{
	return (uint32_t)(((size_t)sa_class_pages_table[cls] << SA_PAGE_SHIFT) / sa_class_size_table[cls]);
}
