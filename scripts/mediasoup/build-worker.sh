#!/usr/bin/env bash
# Build the mediasoup C++ worker against Debian's system libraries.
#
# Usage: build-worker.sh <cache-dir>
#
# Result: <cache-dir>/mediasoup-worker-<version>-<hash>/mediasoup-worker, where
# <hash> covers this script, patches/ and subprojects/ (any change rebuilds).
# If that binary already exists, nothing is done. The binary path is the only
# thing written to stdout (its last line); progress goes to stderr.
# See README.md next to this script.
set -euo pipefail

readonly MS_VERSION="3.19.3"
# sha256 of the npm tarball `npm pack mediasoup@3.19.3` (registry integrity
# sha512-1BH68i/q/hVAuSQHFCMq6TJDwca74KMtxE7k79BGD+wrnkvi3PTpaNaVjJ/JLjpCZnBZ3WrtI3Js0nw7NHSAXw==).
readonly MS_TARBALL_SHA256="cd8fb43e518a19ad0355117360d9de179d7958d823456f24326736cb3513d31e"
readonly MESON_VERSION="1.5.2"

# Debian packages the build needs (for the error message only).
readonly APT_DEPS="build-essential pkg-config ninja-build python3-venv libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler"
readonly PKG_CONFIG_MODULES="openssl libuv libsrtp2 usrsctp flatbuffers absl_flat_hash_map absl_flat_hash_set absl_btree absl_inlined_vector absl_memory absl_strings absl_optional absl_span"

log() { printf '[build-worker] %s\n' "$*" >&2; }
die() { printf '[build-worker] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ $# -ne 1 || -z "$1" ]]; then
	echo "usage: $0 <cache-dir>" >&2
	exit 2
fi

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
CACHE_DIR="$(cd "$1" && pwd)"

# --- Identity of this build: hash over the build inputs kept next to this script.
input_hash() {
	(
		cd "$SCRIPT_DIR"
		find build-worker.sh patches subprojects -type f -print0 |
			LC_ALL=C sort -z |
			xargs -0 sha256sum |
			sha256sum |
			cut -c1-12
	)
}
HASH="$(input_hash)"
OUT_DIR="$CACHE_DIR/mediasoup-worker-$MS_VERSION-$HASH"
OUT_BIN="$OUT_DIR/mediasoup-worker"

if [[ -x "$OUT_BIN" ]]; then
	log "up to date: $OUT_BIN"
	echo "$OUT_BIN"
	exit 0
fi

# --- Step timing.
STEP_NAME=""
STEP_START=0
TOTAL_START=$SECONDS
step() {
	step_end
	STEP_NAME="$1"
	STEP_START=$SECONDS
	log "==> $STEP_NAME"
}
step_end() {
	if [[ -n "$STEP_NAME" ]]; then
		log "    done: $STEP_NAME ($((SECONDS - STEP_START)) s)"
		STEP_NAME=""
	fi
}

# --- One build at a time per cache dir.
exec 9>"$CACHE_DIR/.mediasoup-worker-build.lock"
if ! flock -n 9; then
	log "another build is running in $CACHE_DIR; waiting for it"
	flock 9
fi
# The other build may have produced our binary meanwhile.
if [[ -x "$OUT_BIN" ]]; then
	log "up to date: $OUT_BIN"
	echo "$OUT_BIN"
	exit 0
fi

step "check build tools and Debian libraries"
missing=()
for tool in python3 npm ninja pkg-config flatc patch tar c++ cc flock sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
for mod in $PKG_CONFIG_MODULES; do
	pkg-config --exists "$mod" || missing+=("pkg-config:$mod")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	die "missing: ${missing[*]}. Install: apt-get install $APT_DEPS"
fi
log "    openssl $(pkg-config --modversion openssl), libuv $(pkg-config --modversion libuv)," \
	"libsrtp2 $(pkg-config --modversion libsrtp2), usrsctp $(pkg-config --modversion usrsctp)," \
	"flatbuffers $(pkg-config --modversion flatbuffers), abseil $(pkg-config --modversion absl_base)"

# Leftovers of interrupted or failed builds (we hold the lock, so none is live).
rm -rf "$CACHE_DIR"/.mediasoup-worker-tmp.*

step "meson $MESON_VERSION in $CACHE_DIR/meson-venv"
VENV="$CACHE_DIR/meson-venv"
MESON="$VENV/bin/meson"
if [[ "$("$MESON" --version 2>/dev/null || true)" != "$MESON_VERSION" ]]; then
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "meson==$MESON_VERSION" >&2
	[[ "$("$MESON" --version)" == "$MESON_VERSION" ]] || die "meson $MESON_VERSION did not install in $VENV"
fi

step "mediasoup $MS_VERSION source tarball"
SRC_CACHE="$CACHE_DIR/mediasoup-src"
TARBALL="$SRC_CACHE/mediasoup-$MS_VERSION.tgz"
mkdir -p "$SRC_CACHE"
rm -rf "$SRC_CACHE"/.pack.*
if [[ ! -f "$TARBALL" ]] || ! echo "$MS_TARBALL_SHA256  $TARBALL" | sha256sum --check --status; then
	pack_dir="$(mktemp -d "$SRC_CACHE/.pack.XXXXXX")"
	(cd "$pack_dir" && npm pack "mediasoup@$MS_VERSION" --silent >/dev/null)
	[[ -f "$pack_dir/mediasoup-$MS_VERSION.tgz" ]] || die "npm pack mediasoup@$MS_VERSION produced no tarball"
	mv -f "$pack_dir/mediasoup-$MS_VERSION.tgz" "$TARBALL"
	rm -rf "$pack_dir"
fi
echo "$MS_TARBALL_SHA256  $TARBALL" | sha256sum --check --status ||
	die "$TARBALL does not have the expected sha256 $MS_TARBALL_SHA256"

WORK_DIR="$(mktemp -d "$CACHE_DIR/.mediasoup-worker-tmp.XXXXXX")"
on_exit() {
	local rc=$?
	if [[ $rc -eq 0 ]]; then
		rm -rf "$WORK_DIR"
	else
		log "FAILED (exit $rc) during: ${STEP_NAME:-?}"
		log "build tree kept for inspection: $WORK_DIR (removed by the next run)"
	fi
}
trap on_exit EXIT

step "extract and patch"
tar -xzf "$TARBALL" -C "$WORK_DIR"
PKG_DIR="$WORK_DIR/package"
WORKER_DIR="$PKG_DIR/worker"
[[ -f "$WORKER_DIR/meson.build" ]] || die "no worker/meson.build in the mediasoup $MS_VERSION tarball"
shopt -s nullglob
patches=("$SCRIPT_DIR"/patches/*.patch)
shopt -u nullglob
for p in "${patches[@]}"; do
	log "    applying $(basename "$p")"
	if ! patch -d "$PKG_DIR" -p1 --forward --batch --no-backup-if-mismatch --reject-file=- <"$p" >&2; then
		die "patch $(basename "$p") does not apply to mediasoup $MS_VERSION; refresh it (see README.md)"
	fi
done

step "replace downloaded subprojects with Debian-library stubs"
for stub in "$SCRIPT_DIR"/subprojects/*/; do
	name="$(basename "$stub")"
	[[ -f "$WORKER_DIR/subprojects/$name.wrap" ]] ||
		die "mediasoup $MS_VERSION has no subprojects/$name.wrap; its subprojects changed, update the stubs (see README.md)"
	rm -f "$WORKER_DIR/subprojects/$name.wrap"
	cp -r "$stub" "$WORKER_DIR/subprojects/$name"
done
# Remaining wraps (liburing, wingetopt) are not used by this configuration;
# removing them guarantees nothing is ever fetched.
rm -f "$WORKER_DIR"/subprojects/*.wrap

step "meson setup"
BUILD_DIR="$WORK_DIR/build"
(
	cd "$WORKER_DIR"
	"$MESON" setup "$BUILD_DIR" \
		--buildtype release \
		-Db_ndebug=true \
		--wrap-mode=nodownload \
		-Dms_disable_liburing=true
) >&2

step "compile flatbuffers headers"
# Like upstream's tasks.py: the worker's sources include the generated FBS/
# headers without a build-graph edge to their generator, so make them first.
"$MESON" compile -C "$BUILD_DIR" flatbuffers-generator >&2

step "compile mediasoup-worker (takes several minutes)"
"$MESON" compile -C "$BUILD_DIR" mediasoup-worker >&2

step "check the binary"
BIN="$BUILD_DIR/mediasoup-worker"
[[ -x "$BIN" ]] || die "meson produced no $BIN"
ldd_out="$(ldd "$BIN")"
if grep -q "not found" <<<"$ldd_out"; then
	die "unresolved shared libraries: $(grep 'not found' <<<"$ldd_out" | tr -s ' \t' ' ')"
fi
for lib in libssl.so.3 libcrypto.so.3 libuv.so libsrtp2.so libusrsctp.so; do
	grep -q "$lib" <<<"$ldd_out" || die "$BIN does not link Debian's $lib"
done

step "install into $OUT_DIR"
STAGE="$WORK_DIR/out"
mkdir -p "$STAGE"
cp "$BIN" "$STAGE/mediasoup-worker"
{
	echo "mediasoup $MS_VERSION worker, inputs hash $HASH, meson $MESON_VERSION"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
	echo "openssl $(pkg-config --modversion openssl) libuv $(pkg-config --modversion libuv)" \
		"libsrtp2 $(pkg-config --modversion libsrtp2) usrsctp $(pkg-config --modversion usrsctp)" \
		"flatbuffers $(pkg-config --modversion flatbuffers) abseil $(pkg-config --modversion absl_base)"
} >"$STAGE/BUILD-INFO"
# A directory rename within one filesystem is atomic: the final directory
# either does not exist or holds a complete binary.
rm -rf "$OUT_DIR"
mv -T "$STAGE" "$OUT_DIR"

step "clean up"
rm -rf "$WORK_DIR"
step_end
log "built in $((SECONDS - TOTAL_START)) s: $OUT_BIN"
echo "$OUT_BIN"
