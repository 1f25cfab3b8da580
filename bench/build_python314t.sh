#!/usr/bin/env bash
# Build a free-threaded CPython 3.14 ("3.14t", configured with --disable-gil) into a
# private prefix, and give it a venv with the project's test extra (pytest, redis,
# hypothesis), so the suite and the server can be run with the GIL off:
#
#   bench/build_python314t.sh [PREFIX]        # or PY314T_PREFIX=... bench/build_python314t.sh
#   PATH="$PREFIX/venv/bin:$PATH" PYTHON_GIL=0 python -m pytest -q -p no:cacheprovider
#
# PREFIX defaults to $HOME/.cache/python3.14t. Re-running is a no-op once the
# interpreter and the venv are in place (delete PREFIX to rebuild).
#
# Source: the upstream tarball (python3.14_<version>.orig.tar.xz) of Debian's
# `python3.14` source package, found through the Sources indexes of sid, then testing.
# Only the source is used: sid's binary packages need a newer libc than bookworm's.
# The newest listed version that the mirror actually serves is taken, and its SHA-256
# from the index is checked. (Seen 2026-11-22 on this workplace: the indexes list
# python3.14 3.14.8-3.14.10, but the mirror answered 404 for every python3.14 pool
# file, while python3.13_3.13.15.orig.tar.xz was served: PY_SERIES=3.13 then works.)
# Knobs (environment):
#   PY314T_PREFIX  install prefix (or the first argument)
#   PY_VERSION     pin an upstream version still listed, e.g. 3.14.10
#   PY_SERIES      another minor series, e.g. 3.13 (free-threaded builds exist from 3.13;
#                  default prefix then $HOME/.cache/python3.13t)
#   DEBIAN_SUITES  Sources indexes to search (default "sid testing")
#   DEBIAN_MIRROR  default: the Debian mirror in apt's sources (/etc/apt/sources.list*)
#   JOBS           make -j (default 2)
set -euo pipefail

log() { printf '[build_python314t] %s\n' "$*" >&2; }

SERIES="${PY_SERIES:-3.14}"  # minor series; PY_SERIES=3.13 builds a 3.13t the same way
PKG="python$SERIES"          # Debian source package name, e.g. python3.14
PREFIX="${1:-${PY314T_PREFIX:-$HOME/.cache/python${SERIES}t}}"
SUITES="${DEBIAN_SUITES:-sid testing}"  # Sources indexes searched, in that order
# The Debian mirror apt already uses (first ".../debian" URI in its sources), unless given.
apt_mirror() {
    { sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
      sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' \
          /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
    } | grep -E '^https?://.*/debian/?$' | head -1 | sed 's:/$::' || true  # a missing file is no error
}
MIRROR="${DEBIAN_MIRROR:-$(apt_mirror)}"
[ -n "$MIRROR" ] || { log "no Debian mirror found in apt's sources: set DEBIAN_MIRROR"; exit 1; }
JOBS="${JOBS:-2}"            # the machine has 2 cores, shared with others
VENV="$PREFIX/venv"

# The interpreter make install leaves: python3.14t for a free-threaded 3.14 build.
find_python() {
    local p
    for p in "$PREFIX/bin/python${SERIES}t" "$PREFIX/bin/python${SERIES}" "$PREFIX/bin/python3"; do
        [ -x "$p" ] && { echo "$p"; return 0; }
    done
    return 1
}

# A venv counts as ready when its python is free-threaded and imports the test deps.
venv_ready() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c 'import sys, sysconfig, pytest, redis, hypothesis
sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else 1)' >/dev/null 2>&1
}

if venv_ready; then
    log "already built: $VENV/bin/python ($("$VENV/bin/python" -VV | head -1)); nothing to do"
    exit 0
fi

# --- 1. Build dependencies (Debian package names); install only what is missing. ---
deps=(gcc make pkg-config xz-utils curl ca-certificates libssl-dev zlib1g-dev libffi-dev
      libsqlite3-dev libbz2-dev liblzma-dev libreadline-dev libncurses-dev uuid-dev)
missing=()
for d in "${deps[@]}"; do
    dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing build dependencies: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! PY="$(find_python)"; then
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/build-python${SERIES}t.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT

    # --- 2. Find the tarball through the Sources indexes (pool directory listings are
    # not always served, the indexes are). Each python3.X stanza gives a Version, the
    # pool Directory, and "sha256 size file" lines under Checksums-Sha256.
    : >"$WORK/candidates"
    for suite in $SUITES; do
        log "reading $MIRROR/dists/$suite/main/source/Sources.xz"
        curl -fsSL --retry 3 -o "$WORK/Sources-$suite.xz" "$MIRROR/dists/$suite/main/source/Sources.xz" || continue
        # Prints "version directory sha256 filename suite" for every python3.X entry.
        xz -dc "$WORK/Sources-$suite.xz" | awk -v pkg="Package: $PKG" -v suite="$suite" '
            BEGIN { RS = ""; FS = "\n" }
            $1 == pkg {
                ver = ""; dir = ""; sha = ""; file = ""; insha = 0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^Version: /)   { ver = substr($i, 10) }
                    if ($i ~ /^Directory: /) { dir = substr($i, 12) }
                    if ($i ~ /^[A-Za-z0-9-]+:/) { insha = ($i ~ /^Checksums-Sha256:/); continue }
                    if (insha && $i ~ /\.orig\.tar\.xz$/) { split($i, f, " "); sha = f[1]; file = f[3] }
                }
                if (file != "") print ver, dir, sha, file, suite
            }' >>"$WORK/candidates"
    done
    if [ -n "${PY_VERSION:-}" ]; then
        # Pinned upstream version: keep only its tarball.
        awk -v f="${PKG}_${PY_VERSION}.orig.tar.xz" '$4 == f' "$WORK/candidates" >"$WORK/c2"
        mv "$WORK/c2" "$WORK/candidates"
    fi
    [ -s "$WORK/candidates" ] || { log "no $PKG orig tarball listed in: $SUITES"; exit 1; }

    # --- 3. Download and verify, newest first (sort -V puts 3.14.10 above 3.14.9). An
    # index can list a file the mirror does not (yet) serve: then the next one is tried.
    tarball=""
    while read -r deb_version pool_dir sha256 file suite; do
        log "trying $PKG $deb_version ($suite): $file"
        if curl -fsSL --retry 3 -o "$WORK/$file" "$MIRROR/$pool_dir/$file"; then
            echo "$sha256  $WORK/$file" | sha256sum -c --quiet -
            tarball="$file"
            break
        fi
        log "  not served by $MIRROR"
    done < <(sort -u "$WORK/candidates" | sort -V -r -k1,1)
    [ -n "$tarball" ] || { log "none of the listed $PKG tarballs could be downloaded"; exit 1; }
    tar -xJf "$WORK/$tarball" -C "$WORK"
    srcdir="$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name "Python-$SERIES*" | head -1)"
    [ -n "$srcdir" ] || { log "tarball did not unpack to Python-$SERIES*"; exit 1; }

    # --- 4. Configure (free-threaded), build, install into PREFIX. No PGO/LTO: a plain
    # build keeps the time reasonable on 2 cores.
    log "building in $srcdir with -j$JOBS"
    (
        cd "$srcdir"
        ./configure --disable-gil --prefix="$PREFIX" >"$WORK/configure.log" 2>&1 ||
            { tail -50 "$WORK/configure.log" >&2; exit 1; }
        make -j"$JOBS" >"$WORK/make.log" 2>&1 || { tail -50 "$WORK/make.log" >&2; exit 1; }
        # Lists optional modules that failed to build (e.g. _gdbm without libgdbm-dev).
        grep -A3 -E 'modules? (were|was) not (found|built)|Failed to build' "$WORK/make.log" >&2 || true
        make install >"$WORK/install.log" 2>&1 || { tail -50 "$WORK/install.log" >&2; exit 1; }
    )
    PY="$(find_python)"
fi

# Sanity: this must be a free-threaded build.
"$PY" -c 'import sys, sysconfig
assert sysconfig.get_config_var("Py_GIL_DISABLED"), "not a --disable-gil build"
print(sys.version)' >&2

# --- 5. venv with the project's test extra (pyproject.toml: [project.optional-dependencies] test).
log "creating $VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# Wheels only: newer hypothesis releases ship a Rust extension with no wheel for a
# free-threaded ABI ("t"), and building that sdist needs crates.io; with
# --only-binary pip takes the newest release that has a pure-Python wheel.
"$VENV/bin/python" -m pip install -q --only-binary=:all: "pytest>=8" "redis>=5" "hypothesis>=6"
venv_ready || { log "venv check failed"; exit 1; }
log "done: $VENV/bin/python ($("$VENV/bin/python" -VV | head -1))"
