#!/bin/sh
# SPDX-License-Identifier: MIT
# Mounts memviewfs on /mnt/memviewfs in the container, runs the command, and
# unmounts when the command ends or the container is stopped.
#
# The daemon runs in the foreground (-f) as this shell's child rather than
# daemonized: when the container stops, the engine signals only PID 1 (this
# shell) and then SIGKILLs the rest of the PID namespace. So this shell stays
# PID 1, passes SIGTERM on to the command, and then stops the daemon with
# SIGTERM itself, which unmounts and exits 0; the line
# "memviewfs-entrypoint: memviewfs exited N" in the container's log says how
# it ended.
set -u
mnt=/mnt/memviewfs
mkdir -p "$mnt"
# setsid: its own session, so that Ctrl-C on the container's terminal (sent
# to the terminal's foreground process group, this shell's) does not reach it.
setsid memviewfs -f -o allow_other "$mnt" &
daemon=$!
tries=0
until mountpoint -q "$mnt"; do
  if ! kill -0 "$daemon" 2>/dev/null; then
    wait "$daemon"
    echo "memviewfs-entrypoint: memviewfs exited $? before mounting $mnt" >&2
    exit 1
  fi
  tries=$((tries + 1))
  if [ "$tries" -gt 500 ]; then  # 500 x 10 ms
    echo "memviewfs-entrypoint: $mnt not mounted after 5 s" >&2
    kill -TERM "$daemon"
    exit 1
  fi
  sleep 0.01
done

# The command runs asynchronously so that this shell can take SIGTERM while
# it runs; a non-interactive shell gives an asynchronous command /dev/null as
# its input and SIGINT and SIGQUIT ignored: it gets the container's stdin
# back explicitly (fd 3) and the default SIGINT and SIGQUIT (env), so a
# terminal (run -it) and Ctrl-C still work. This shell ignores Ctrl-C.
exec 3<&0
env --default-signal=INT,QUIT "$@" <&3 3<&- &
command=$!
exec 3<&-
trap 'kill -TERM "$command" 2>/dev/null' TERM
trap '' INT
# wait returns early (status > 128) when a trapped signal arrives: wait again
# until the command has really ended.
while :; do
  wait "$command"
  status=$?
  kill -0 "$command" 2>/dev/null || break
done

kill -TERM "$daemon" 2>/dev/null
wait "$daemon"
daemon_status=$?
echo "memviewfs-entrypoint: memviewfs exited $daemon_status" >&2
[ "$daemon_status" -eq 0 ] || exit 1
exit "$status"
