# Sourced: apt for one other Debian suite without touching the system's apt configuration, for
# packages the machine must not install (a newer CRIU, another suite's kernel). Lists, cache
# and sources live in a directory of the caller's; `apt-get "${apt_private[@]}" ...` uses them.

# The Debian mirror this machine already uses, read from its own apt configuration.
debian_mirror() {
  local mirror=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror="$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources |
      grep -v -- '-security' | head -n 1)"
  fi
  if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror="$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)"
  fi
  if [ -z "$mirror" ]; then
    echo "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or sources.list" >&2
    return 1
  fi
  echo "$mirror"
}

# private_apt SUITE DIR: sources for SUITE (main) from this machine's mirror, state under DIR;
# sets apt_private and fetches the suite's package lists.
private_apt() {
  local suite="$1" dir="$2" mirror
  mirror="$(debian_mirror)" || return 1
  mkdir -p "$dir/sources" "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
  # apt downloads as its unprivileged _apt user where that user exists.
  chmod 755 "$dir"
  if id _apt >/dev/null 2>&1; then chown -R _apt:root "$dir/lists" "$dir/cache" "$dir/debs"; fi
  cat >"$dir/sources/$suite.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  apt_private=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$dir/sources"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null")
  echo "apt: fetching $suite package lists from $mirror"
  apt-get "${apt_private[@]}" -qq update
}
