#!/usr/bin/env bash
# clean.sh: removes every cached image of the test VM (all recipes, all kernels), waiting for a
# build in progress to finish first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ -d "$cache_root" ] || exit 0
exec 9>"$cache_root/.lock"
flock 9
find "$cache_root" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
echo "vm images removed from $cache_root"
