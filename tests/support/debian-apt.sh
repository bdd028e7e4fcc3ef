# Sourced by the test tooling that fetches Debian packages (tests/vm/run-in-vm,
# tests/ynl/kernel-ynl). apt runs with a private sources list, lists and
# archives under "$apt_dir" (set by the caller), so the machine's apt
# configuration is never edited: the Debian mirror this machine already uses,
# bookworm plus bookworm-backports (linux 6.12 and a QEMU that installs here).
# Needs die() from the caller.

apt_private() {
    apt-get -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
        -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives" "$@"
}

apt_cache_private() {
    apt-cache -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
        -o Dir::State::Lists="$apt_dir/lists" "$@"
}

prepare_apt() {
    [ -s "$apt_dir/sources.list" ] && [ -n "$(ls "$apt_dir/lists" 2>/dev/null | grep -v partial)" ] && return
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
    local uri
    uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
    [ -n "$uri" ] || uri="$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
    [ -n "$uri" ] || die "cannot find the Debian mirror in the apt sources"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    printf 'deb [signed-by=%s] %s bookworm main\ndeb [signed-by=%s] %s bookworm-backports main\n' \
        "$keyring" "$uri" "$keyring" "$uri" > "$apt_dir/sources.list"
    apt_private update -qq
}

# The newest version of the linux-source-SERIES package.
linux_source_version() {
    apt_cache_private show "linux-source-$1" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -1
}
