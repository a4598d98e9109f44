#!/usr/bin/env bash
# Build the MongoDB-wire-compatible stand-in image (SecantusDB) used when mongo:7 cannot be pulled.
#
#   ci/docker/build-mongo-standin.sh BASE_IMAGE [TAG]     (prints the tag it built)
#
# Always built, never only looked up by tag: Docker's layer cache makes an unchanged image a matter
# of seconds, and a changed Dockerfile or shim is picked up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/docker/common.sh
. "$here/common.sh"

base=${1:?usage: build-mongo-standin.sh BASE_IMAGE [TAG]}
tag=${2:-$LOCAL_MONGO_IMAGE}
log "building the MongoDB stand-in $tag on $base"
# Built with the repository root as context, like the services' images.
quiet_build --build-arg "BASE_IMAGE=$base" -t "$tag" -f "$here/secantus-mongo/Dockerfile" "$here/../.."
echo "$tag"
