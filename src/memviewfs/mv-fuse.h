/* SPDX-License-Identifier: MIT */
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse.h>

/* The FUSE front end: a thin adapter from fuse_operations to the tree. */
extern const struct fuse_operations mv_fuse_operations;
