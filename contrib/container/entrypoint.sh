#!/bin/sh
# SPDX-License-Identifier: MIT
# Mounts memviewfs on /mnt/memviewfs in the container, then runs the command.
set -e
mkdir -p /mnt/memviewfs
memviewfs -o allow_other /mnt/memviewfs
exec "$@"
