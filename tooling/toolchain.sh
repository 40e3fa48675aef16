# Sourced by every project script: puts the project's Node and pnpm first on PATH.
# tooling/setup installs them into .toolchain when the system's Node is older than 22.
CORRAL_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$CORRAL_REPO/.toolchain/node_modules/.bin/node" ]; then
  PATH="$CORRAL_REPO/.toolchain/node_modules/.bin:$PATH"
fi
export PATH CORRAL_REPO
export TURBO_TELEMETRY_DISABLED=1 NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-/var/cache/corral/node-compile-cache}"
