#!/usr/bin/env bash
# Node-level checks of a worker built by ../build-worker.sh.
#
# Usage: verify-worker.sh <path-to-mediasoup-worker> [scratch-dir]
#
# Installs mediasoup (same version as the worker) and werift into a scratch npm
# project (default: a new temp dir) and runs:
#  - verify-srtp.mjs: routers with opus/VP8/H264, WebRtcTransport stats,
#    getResourceUsage, RTP across SRTP PlainTransports (AEAD_AES_256_GCM and
#    AES_CM_128_HMAC_SHA1_80, with a tampered-packet control) and across
#    pipeToRouter({ enableSrtp: true });
#  - verify-dtls.mjs: a werift peer does ICE + DTLS (as client) + SRTP into a
#    WebRtcTransport, the path of the kTLS crash that patch 0001 fixes.
# These do not replace the end-to-end browser test.
set -euo pipefail

if [[ $# -lt 1 || ! -x "$1" ]]; then
	echo "usage: $0 <path-to-mediasoup-worker> [scratch-dir]" >&2
	exit 2
fi
WORKER_BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MS_VERSION="$(sed -n 's/^readonly MS_VERSION="\(.*\)"$/\1/p' "$HERE/../build-worker.sh")"
WERIFT_VERSION="0.25.2"
SCRATCH="${2:-$(mktemp -d /tmp/msverify.XXXXXX)}"

mkdir -p "$SCRATCH"
cd "$SCRATCH"
[[ -f package.json ]] || npm init -y >/dev/null
if [[ ! -d node_modules/mediasoup || ! -d node_modules/werift ]]; then
	# MEDIASOUP_WORKER_BIN also makes mediasoup's postinstall skip its download.
	MEDIASOUP_WORKER_BIN="$WORKER_BIN" npm install --no-audit --no-fund --silent \
		"mediasoup@$MS_VERSION" "werift@$WERIFT_VERSION" >&2
fi
cp "$HERE/verify-srtp.mjs" "$HERE/verify-dtls.mjs" .

export MEDIASOUP_WORKER_BIN="$WORKER_BIN"
rc=0
echo "== verify-srtp.mjs"
timeout 120 node verify-srtp.mjs || rc=1
echo "== verify-dtls.mjs"
timeout 120 node verify-dtls.mjs || rc=1
exit $rc
