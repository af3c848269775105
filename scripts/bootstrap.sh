#!/usr/bin/env bash
# Bootstrap the femli development environment in ./.venv.
#
#   bash scripts/bootstrap.sh
#
# 1. Finds a Python >= 3.12: $FEMLI_PYTHON, then python3.13/3.12/3.14/python3 on
#    PATH, then pyenv's installed versions, then a per-user cached interpreter.
# 2. If none is found and apt-get is available, builds CPython 3.13 from Debian's
#    (trixie) source package into ${XDG_CACHE_HOME:-$HOME/.cache}/femli/python-3.13,
#    so fresh clones and CI reuse it.  FEMLI_FORCE_BUILD=1 skips the search and
#    goes straight to that cache (building it if missing).
# 3. Creates .venv with that interpreter and runs `pip install -e '.[dev]'`.
#    A stamp (.venv/.femli-stamp) makes a re-run a no-op when nothing changed.
set -euo pipefail

MIN_MINOR=12                       # Python 3.MIN_MINOR or newer
BUILD_VERSION=3.13                 # what we build from source when needed
CACHE_ROOT="${XDG_CACHE_HOME:-${HOME:?HOME or XDG_CACHE_HOME must be set}/.cache}/femli"
CACHE_PREFIX="$CACHE_ROOT/python-$BUILD_VERSION"
CACHE_PY="$CACHE_PREFIX/bin/python$BUILD_VERSION"
VENV=.venv
STAMP="$VENV/.femli-stamp"
REQUIRED_MODULES="ssl sqlite3 lzma bz2 ctypes readline zlib"

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f s", e - s }'; }

T_TOTAL=$(now)
BUILD_TMP=""
cleanup() { if [[ -n "$BUILD_TMP" ]]; then rm -rf "$BUILD_TMP"; fi; }
trap cleanup EXIT
trap 'printf "\n[bootstrap] interrupted\n" >&2; exit 130' INT   # EXIT trap (temp-dir cleanup) still runs
trap 'printf "[bootstrap] terminated\n" >&2; exit 143' TERM

# --------------------------------------------------------------------------
# Interpreter discovery
# --------------------------------------------------------------------------

# probe PYTHON [allow-venv]: if PYTHON runs, is >= 3.MIN_MINOR and can make
# venvs, print "real-executable<TAB>version<TAB>real-base-prefix"; else fail
# quietly.  Interpreters that themselves live in a venv are skipped unless
# allow-venv is given (a venv python found on PATH is usually ./.venv itself).
probe() {
    local allow_venv="${2:-0}"
    "$1" - "$MIN_MINOR" "$allow_venv" 2>/dev/null <<'EOF'
import os, sys
if sys.version_info < (3, int(sys.argv[1])):
    sys.exit(1)
if sys.argv[2] != "1" and sys.prefix != sys.base_prefix:
    sys.exit(1)
import ensurepip, venv  # noqa: F401  (needed to create .venv)
print(os.path.realpath(sys.executable), "%d.%d.%d" % sys.version_info[:3],
      os.path.realpath(sys.base_prefix), sep="\t")
EOF
}

# has_modules PYTHON: the stdlib extension modules a complete build must have.
has_modules() {
    "$1" -c "import $(echo "$REQUIRED_MODULES" | tr ' ' ',')" 2>/dev/null
}

PY="" PY_VERSION="" PY_BASE=""

# use PYTHON [allow-venv]: accept PYTHON if probe succeeds.
use() {
    local out
    out=$(probe "$1" "${2:-0}") || return 1
    IFS=$'\t' read -r PY PY_VERSION PY_BASE <<<"$out"
}

find_python() {
    local c v d
    if [[ -n "${FEMLI_PYTHON:-}" ]]; then
        use "$FEMLI_PYTHON" 1 && return 0
        die "FEMLI_PYTHON=$FEMLI_PYTHON does not run as a Python >= 3.$MIN_MINOR with venv/ensurepip"
    fi
    [[ "${FEMLI_FORCE_BUILD:-0}" == 1 ]] && return 1   # straight to the cache/build path
    for c in python3.13 python3.12 python3.14 python3; do
        command -v "$c" >/dev/null 2>&1 && use "$c" && return 0
    done
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root=$(pyenv root 2>/dev/null) || root=""
        if [[ -n "$root" && -d "$root/versions" ]]; then
            # Preferred minors first (same order as on PATH), then the rest, newest first.
            for v in 3.13 3.12 3.14 ''; do
                while IFS= read -r d; do
                    [[ -x "$d/bin/python3" ]] && use "$d/bin/python3" && return 0
                done < <(find "$root/versions" -mindepth 1 -maxdepth 1 -name "${v:+$v.}*" | sort -rV)
            done
        fi
    fi
    return 1
}

cached_python_ok() {
    [[ -x "$CACHE_PY" ]] && has_modules "$CACHE_PY" && use "$CACHE_PY"
}

# --------------------------------------------------------------------------
# Building CPython from Debian's source package
# --------------------------------------------------------------------------

SUDO=""
need_root() {
    if [[ $EUID -eq 0 ]]; then SUDO=""
    elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"
    else die "building Python needs root (or sudo) for apt-get; install Python >= 3.$MIN_MINOR yourself and set FEMLI_PYTHON"
    fi
}

# The Debian mirror already configured for this machine (never a new host).
debian_mirror() {
    local f
    {
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -f "$f" ]] || continue
            sed -nE 's/^[[:space:]]*deb(-src)?[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z+]+:\/\/[^[:space:]]+).*/\3/p' "$f"
        done
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -f "$f" ]] || continue
            sed -nE 's/^URIs:[[:space:]]*//p' "$f" | tr ' ' '\n'
        done
    } | sed 's:/*$::' | grep -E '^[a-z+]+://[^[:space:]]+/debian$' | head -n1
}

TRIXIE_SRC=/etc/apt/sources.list.d/femli-trixie-src.sources

ensure_trixie_src() {
    if [[ -f "$TRIXIE_SRC" ]] || apt-cache showsrc "python$BUILD_VERSION" 2>/dev/null | grep -q '^Package:'; then
        return 0
    fi
    local mirror keyring=""
    mirror=$(debian_mirror) || true
    [[ -n "$mirror" ]] || die "no Debian mirror found in /etc/apt/sources.list{,.d}; cannot fetch the python$BUILD_VERSION source package"
    [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] && keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    log "adding a source-only (deb-src) trixie entry for $mirror in $TRIXIE_SRC"
    # Types: deb-src only -- no binary packages from trixie, so nothing gets upgraded.
    $SUDO tee "$TRIXIE_SRC" >/dev/null <<EOF
# Added by femli scripts/bootstrap.sh: source packages only, to build python$BUILD_VERSION.
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
${keyring:+Signed-By: $keyring}
EOF
}

BUILD_DEPS="build-essential pkg-config xz-utils libssl-dev libsqlite3-dev liblzma-dev libbz2-dev
            libffi-dev libreadline-dev zlib1g-dev libncurses-dev uuid-dev libgdbm-dev libexpat1-dev"

build_python() {
    command -v apt-get >/dev/null 2>&1 ||
        die "no Python >= 3.$MIN_MINOR found and apt-get is not available to build one.
  Install Python 3.12 or newer (distro package, pyenv, python.org) and re-run,
  pointing at it if it is not on PATH:  FEMLI_PYTHON=/path/to/python3.13 bash scripts/bootstrap.sh"
    need_root
    mkdir -p "$CACHE_ROOT"
    local buildlog="$CACHE_ROOT/python-$BUILD_VERSION-build.log"

    # One build at a time per cache (two clones bootstrapping at once).
    exec 9>"$CACHE_ROOT/.python-$BUILD_VERSION.lock"
    if command -v flock >/dev/null 2>&1; then
        flock 9
        cached_python_ok && { log "another bootstrap just built $CACHE_PY"; return 0; }
    fi
    log "building CPython $BUILD_VERSION from Debian's source package into $CACHE_PREFIX (several minutes; log: $buildlog)"
    : >"$buildlog"
    rm -rf "$CACHE_PREFIX.tmp"

    local t
    t=$(now)
    ensure_trixie_src
    log "apt-get update"
    $SUDO apt-get update >>"$buildlog" 2>&1 || { tail -n 20 "$buildlog" >&2; die "apt-get update failed"; }
    local p missing=()
    for p in $BUILD_DEPS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing build dependencies: ${missing[*]}"
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$buildlog" 2>&1 ||
            { tail -n 20 "$buildlog" >&2; die "apt-get install of build dependencies failed"; }
    else
        log "build dependencies already installed"
    fi
    log "apt setup took $(since "$t")"

    t=$(now)
    BUILD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/femli-python-build.XXXXXX")
    chmod 755 "$BUILD_TMP"   # lets apt's _apt user write here (no "unsandboxed" note)
    (cd "$BUILD_TMP" && apt-get source --download-only "python$BUILD_VERSION") >>"$buildlog" 2>&1 ||
        { tail -n 20 "$buildlog" >&2; die "apt-get source --download-only python$BUILD_VERSION failed"; }
    local tarball srcdir
    tarball=$(find "$BUILD_TMP" -maxdepth 1 -name "python${BUILD_VERSION}_*.orig.tar.xz" | head -n1)
    [[ -n "$tarball" ]] || die "apt-get source did not produce python${BUILD_VERSION}_*.orig.tar.xz"
    log "downloaded $(basename "$tarball") in $(since "$t")"
    tar -xf "$tarball" -C "$BUILD_TMP"
    srcdir=$(find "$BUILD_TMP" -mindepth 1 -maxdepth 1 -type d -name 'Python-*' | head -n1)
    [[ -n "$srcdir" ]] || die "unexpected layout of $tarball (no Python-* directory)"

    t=$(now)
    log "configure"
    (cd "$srcdir" && ./configure --prefix="$CACHE_PREFIX" --with-ensurepip=install) >>"$buildlog" 2>&1 ||
        { tail -n 30 "$buildlog" >&2; die "configure failed (see $buildlog)"; }
    log "configure took $(since "$t")"

    t=$(now)
    log "make -j$(nproc)"
    (cd "$srcdir" && make -j"$(nproc)") >>"$buildlog" 2>&1 ||
        { tail -n 30 "$buildlog" >&2; die "make failed (see $buildlog)"; }
    log "make took $(since "$t")"

    # Install with the final prefix baked in (DESTDIR staging), move to <prefix>.tmp,
    # verify, then rename into place: an interrupted build never leaves a
    # half-installed interpreter at <prefix>.
    t=$(now)
    log "make install (staged, then $CACHE_PREFIX.tmp)"
    (cd "$srcdir" && make install DESTDIR="$BUILD_TMP/stage") >>"$buildlog" 2>&1 ||
        { tail -n 30 "$buildlog" >&2; die "make install failed (see $buildlog)"; }
    mv "$BUILD_TMP/stage$CACHE_PREFIX" "$CACHE_PREFIX.tmp"
    local tmp_py="$CACHE_PREFIX.tmp/bin/python$BUILD_VERSION"
    has_modules "$tmp_py" || {
        "$tmp_py" -c "import $(echo "$REQUIRED_MODULES" | tr ' ' ',')" >&2 || true
        die "the built interpreter lacks one of: $REQUIRED_MODULES (missing -dev packages? see $buildlog); left in $CACHE_PREFIX.tmp"
    }
    "$tmp_py" -m pip --version >/dev/null 2>&1 || die "the built interpreter has no pip (ensurepip failed, see $buildlog)"
    rm -rf "$CACHE_PREFIX"
    mv "$CACHE_PREFIX.tmp" "$CACHE_PREFIX"
    log "make install + verification took $(since "$t")"
    cached_python_ok || die "$CACHE_PY does not work after installing it"
}

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

# The "using ..." line is printed only when there is work to do, so that a
# no-op run prints a single line.
t=$(now)
if find_python; then
    FOUND_MSG="using Python $PY_VERSION at $PY (search took $(since "$t"))"
elif cached_python_ok; then
    FOUND_MSG="using cached Python $PY_VERSION at $PY${FEMLI_FORCE_BUILD:+ (FEMLI_FORCE_BUILD=$FEMLI_FORCE_BUILD)}"
else
    if [[ "${FEMLI_FORCE_BUILD:-0}" == 1 ]]; then
        log "FEMLI_FORCE_BUILD=1: no usable interpreter in the cache $CACHE_PREFIX yet"
    else
        log "no Python >= 3.$MIN_MINOR found (search took $(since "$t"))"
    fi
    t=$(now)
    build_python
    FOUND_MSG="built Python $PY_VERSION at $PY in $(since "$t")"
fi

# Stamp: what the current .venv was installed from.
STAMP_WANT="pyproject-sha256=$(sha256sum pyproject.toml | cut -d' ' -f1) python=$PY version=$PY_VERSION"

venv_imports_ok() {
    "$VENV/bin/python" -c 'import femli, dolfinx_solver' >/dev/null 2>&1
}

# Is .venv a working venv made from the chosen interpreter (same base prefix + version)?
venv_reason=""
if [[ ! -e "$VENV" ]]; then
    venv_reason="no $VENV yet"
elif ! venv_id=$("$VENV/bin/python" -c 'import os, sys; print(os.path.realpath(sys.base_prefix), "%d.%d.%d" % sys.version_info[:3], sep="\t")' 2>/dev/null); then
    venv_reason="$VENV is broken (its python does not run)"
elif [[ "$venv_id" != "$PY_BASE"$'\t'"$PY_VERSION" ]]; then
    venv_reason="$VENV was made by a different interpreter (${venv_id//$'\t'/ }), want $PY_BASE $PY_VERSION"
fi

if [[ -z "$venv_reason" && -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_WANT" ]] && venv_imports_ok; then
    log "environment is up to date ($VENV, Python $PY_VERSION from $PY; checked in $(since "$T_TOTAL"))"
    exit 0
fi

log "$FOUND_MSG"
if [[ -n "$venv_reason" ]]; then
    t=$(now)
    log "creating $VENV: $venv_reason"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV" || die "'$PY -m venv $VENV' failed"
    log "venv created in $(since "$t")"
fi

t=$(now)
rm -f "$STAMP"
log "pip install -e '.[dev]'"
# pip's index settings come from /etc/pip.conf and PIP_* env vars; keep them.
# Drop only pip's harmless "Location '...' is ignored" notices for absent index dirs.
if ! "$VENV/bin/python" -m pip install -e '.[dev]' 2>&1 | sed -u -E "/^WARNING: Location '[^']*' is ignored/d"; then
    die "pip install -e '.[dev]' failed"
fi
log "pip install took $(since "$t")"

venv_imports_ok || {
    "$VENV/bin/python" -c 'import femli, dolfinx_solver' >&2 || true
    die "'import femli, dolfinx_solver' fails in $VENV after the install"
}
printf '%s\n' "$STAMP_WANT" >"$STAMP"
log "done: $VENV ready with Python $PY_VERSION (total $(since "$T_TOTAL"))"
