/* SPDX-License-Identifier: MIT */
/* spanalloc-stat [--spans|--arenas] PID: prints the allocator statistics
 * another process (running spanalloc, linked or LD_PRELOADed) publishes,
 * read through /proc/PID alone (see include/spanalloc-stats.h). Links only
 * libspanalloc-stats: its own malloc stays its libc's. */
#include <spanalloc-stats.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int spans = argc == 3 && !strcmp(argv[1], "--spans");
	int arenas = argc == 3 && !strcmp(argv[1], "--arenas");
	if (spans || arenas) {
		argv++;
		argc--;
	}
	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: %s [--spans|--arenas] PID\n"
			"Prints the spanalloc statistics published by process PID (bytes, counts);\n"
			"with --spans, its span table (one row per span, state 1 idle, 2 small,\n"
			"3 large, 4 released with MADV_FREE, 5 released with MADV_DONTNEED);\n"
			"with --arenas, its arenas (address ranges) and their pages per state.\n",
			argv[0]);
		return argc == 2 ? 0 : 2;
	}
	char *end;
	long pid = strtol(argv[1], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "%s: not a pid: %s\n", argv[0], argv[1]);
		return 2;
	}
	static struct sa_stats_segment_copy copy;
	int e = sa_stats_read_pid((pid_t)pid, &copy);
	if (e) {
		fprintf(stderr, "%s: %ld: %s%s\n", argv[0], pid, strerror(e),
			e == ENOENT ? " (no spanalloc statistics segment)" : "");
		return 1;
	}
	if (spans)
		return sa_spans_print_fd(STDOUT_FILENO, &copy.seg.spans) ? 1 : 0;
	if (arenas)
		return sa_arenas_print_fd(STDOUT_FILENO, &copy.seg.arenas) ? 1 : 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	unsigned long long now_ns = (unsigned long long)now.tv_sec * 1000000000ull +
				    (unsigned long long)now.tv_nsec;
	/* how old the numbers are: since they were last known current */
	unsigned long long t = copy.seg.hdr.verified_time_ns ? copy.seg.hdr.verified_time_ns
							     : copy.seg.hdr.publish_time_ns;
	printf("%-24s %u\n", "pid", copy.seg.hdr.pid);
	printf("%-24s %u\n", "segment_version", copy.source_version);
	printf("%-24s %llu\n", "age_ms", now_ns > t ? (now_ns - t) / 1000000ull : 0);
	printf("%-24s %llu\n", "publications", (unsigned long long)copy.seg.hdr.publications);
	printf("%-24s %llu\n", "publish_time_ns", (unsigned long long)copy.seg.hdr.publish_time_ns);
	fflush(stdout);
	return sa_stats_print_fd(STDOUT_FILENO, &copy.seg.stats) ? 1 : 0;
}
