#!/usr/bin/env bash
# Installs corral's manual pages and its bash, zsh and fish completions, which the build writes
# into packages/cli from the same flag definitions the command parses with, where man and each
# shell look for them: man corral, man corral-run, and tab completion of `corral`.
set -euo pipefail
cli="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/packages/cli"
if [ ! -f "$cli/man/corral.8" ]; then
  echo "50-corral-manual.sh: $cli/man is missing; build @corral/cli first" >&2
  exit 1
fi
share=/usr/local/share
install -d "$share/man/man8"
install -m 644 "$cli"/man/*.8 "$share/man/man8/"
install -D -m 644 "$cli/completions/corral.bash" "$share/bash-completion/completions/corral"
install -D -m 644 "$cli/completions/_corral" "$share/zsh/site-functions/_corral"
# fish reads no completions under /usr/local; /etc/fish/completions is the local administrator's.
install -D -m 644 "$cli/completions/corral.fish" /etc/fish/completions/corral.fish
command -v mandb >/dev/null && mandb -q "$share/man" 2>/dev/null || true
echo "manual: $(man -w corral-run 2>/dev/null || echo "$share/man/man8/corral-run.8"); completions: bash, zsh, fish"
