/* SPDX-License-Identifier: MIT */
/*
 * The statistics reader's parsers (sa-reader.c, libspanalloc-stats),
 * declared for the fuzz targets and unit tests.
 */
#ifndef SA_READER_H
#define SA_READER_H

#include "sa-base.h"

/* A /proc/<pid>/maps line that names the statistics segment. */
struct sa_maps_segment {
	uint64_t start, stop;         /* address range, stop exclusive */
	uint64_t dev_major, dev_minor; /* the mapped file's device */
	uint64_t inode;
};
/* Parses the maps line [l, end) (no newline): true when it is exactly the
 * writer's mapping ("rw-s", offset 0, path "/memfd:spanalloc-stats" and
 * " (deleted)" or nothing after it). */
SA_HIDDEN bool sa_maps_line_parse(const char *l, const char *end, struct sa_maps_segment *out);
/* The last pid of the NSpid line of a /proc/<pid>/status text: 0, ENOENT
 * (no NSpid line), EINVAL (malformed). */
SA_HIDDEN int sa_status_nspid(const char *text, size_t len, uint64_t *out);

#endif
