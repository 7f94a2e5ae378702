/* SPDX-License-Identifier: MIT */
/* hostile-fuse SIZE MOUNTPOINT: a FUSE filesystem whose root is one regular
 * file of SIZE bytes (mounted on a regular file) whose read never answers.
 * A hostile process maps it under the statistics segment's name; the stats
 * reader must refuse it without ever reading it (tests/spanalloc). */
#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static off_t file_size;

static int hostile_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0666;
	st->st_nlink = 1;
	st->st_size = file_size;
	return 0;
}

static int hostile_open(const char *path, struct fuse_file_info *fi)
{
	return 0;
}

static int hostile_read(const char *path, char *buf, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	for (;;)
		pause(); /* never answers: the reader would wait forever */
	return 0;
}

static int hostile_write(const char *path, const char *buf, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	return (int)size;
}

static const struct fuse_operations hostile_ops = {
	.getattr = hostile_getattr,
	.open = hostile_open,
	.read = hostile_read,
	.write = hostile_write,
};

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	file_size = (off_t)strtoll(argv[1], NULL, 10);
	char *args[] = { argv[0], "-f", "-o", "allow_other", argv[2], NULL };
	return fuse_main(5, args, &hostile_ops, NULL);
}
