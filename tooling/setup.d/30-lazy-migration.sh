#!/usr/bin/env bash
# Lets CRIU's lazy page server make its 4 MiB pipes (post-copy migration) on machines where
# root lacks CAP_SYS_RESOURCE and so cannot exceed fs.pipe-max-size (1 MiB by default). Only
# raises the running kernel's limit, and only when it is lower; nothing is written to /etc.
set -euo pipefail
want=4194304
current="$(cat /proc/sys/fs/pipe-max-size)"
if [ "$current" -lt "$want" ]; then
  echo "$want" >/proc/sys/fs/pipe-max-size
  echo "fs.pipe-max-size: $current -> $want"
else
  echo "fs.pipe-max-size: $current already allows CRIU's lazy page server"
fi
