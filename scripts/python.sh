#!/usr/bin/env bash
# Print the path of a Python >= 3.13.2 interpreter, building Debian trixie's 3.13.5 once when none is present.
#
# Home Assistant from 2025.5 needs Python >= 3.13.2. When the machine has none, the upstream source of
# Debian's python3.13 package (3.13.5) is fetched with `apt-get source` through a private sources list
# (its own state and cache folders: nothing of the system changes) and built with pyenv's `python-build`.
# The build is cached outside the repository, so later runs and other clones reuse it.
set -euo pipefail
version=3.13.5
cache="${TESLA_RESILIENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tesla-resilient}"
prefix="$cache/python-$version"

suitable() {
  "$1" -c 'import sys, ssl, sqlite3, ctypes, lzma, bz2, zlib; sys.exit(0 if (3, 13, 2) <= sys.version_info[:3] < (3, 14) else 1)' \
    >/dev/null 2>&1
}

for candidate in "$cache"/python-3.13.*/bin/python3.13 python3.13 "$(command -v pyenv >/dev/null && pyenv root)"/versions/3.13.*/bin/python3.13; do
  if command -v "$candidate" >/dev/null 2>&1 && suitable "$candidate"; then
    command -v "$candidate"; exit 0
  fi
done

python_build=$(command -v python-build || true)
if [ -z "$python_build" ] && command -v pyenv >/dev/null; then
  python_build="$(pyenv root)/plugins/python-build/bin/python-build"
fi
[ -x "$python_build" ] || { echo "No Python >= 3.13.2 and no pyenv python-build to build one" >&2; exit 1; }

work="$cache/src"
rm -rf "$work"; mkdir -p "$work/state/lists/partial" "$work/cache/archives/partial" "$work/tarballs"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
  > "$work/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
          -o "Dir::State=$work/state" -o "Dir::Cache=$work/cache" -o "Dir::State::status=/var/lib/dpkg/status"
          -o "APT::Sandbox::User=root")
echo "Building Python $version from Debian trixie's python3.13 source (once, about 4 minutes) into $prefix" >&2
( cd "$work" && apt-get "${apt_opts[@]}" -qq update >&2 && apt-get "${apt_opts[@]}" -qq source --download-only python3.13 >&2 )
orig=$(ls "$work"/python3.13_3.13.*.orig.tar.xz 2>/dev/null | head -n 1)
[ -n "$orig" ] || { echo "Debian trixie's python3.13 source was not found" >&2; exit 1; }
served=$(basename "$orig" | sed -E 's/^python3\.13_(3\.13\.[0-9]+)\.orig\.tar\.xz$/\1/')
if [ "$served" != "$version" ]; then
  version=$served; prefix="$cache/python-$version"
  echo "Debian trixie serves Python $version now; building that into $prefix" >&2
fi
cp "$orig" "$work/tarballs/Python-$version.tar.xz"
sha=$(sha256sum "$orig" | cut -d' ' -f1)
cat > "$work/definition" <<DEF
export PYTHON_BUILD_TCLTK_USE_PKGCONFIG=1
install_package "Python-$version" "https://deb.debian.org/unused/Python-$version.tar.xz#$sha" standard verify_py313 ensurepip
DEF
PYTHON_BUILD_CACHE_PATH="$work/tarballs" MAKE_OPTS="-j$(nproc)" "$python_build" "$work/definition" "$prefix" >&2
rm -rf "$work"
suitable "$prefix/bin/python3.13" || { echo "The Python built in $prefix is not usable" >&2; exit 1; }
echo "$prefix/bin/python3.13"
