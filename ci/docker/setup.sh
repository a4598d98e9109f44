#!/usr/bin/env bash
# Prepare this machine for `make up` / `make e2e` when it has no Docker and no registry access:
#   1. a Docker engine and Compose (ensure-engine.sh);
#   2. BASE_IMAGE: python:3.12-slim if it can be pulled, else a local debootstrap image;
#   3. MONGO_IMAGE: mongo:7 if it can be pulled, else a local SecantusDB stand-in.
# The choice goes to build/docker-images.env (git-ignored; `export NAME=value` lines, which both a
# shell and the Makefile read), so the committed Dockerfiles and compose files stay as they are.
# Images built before are reused: a second run on the same machine takes seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=ci/docker/common.sh
. "$here/common.sh"
env_file=${DOCKER_IMAGES_ENV:-$repo/build/docker-images.env}

"$here/ensure-engine.sh"

base=${BASE_IMAGE:-python:3.12-slim}
if image_available "$base"; then
    log "BASE_IMAGE: $base"
else
    log "$base cannot be pulled: using a local base image"
    base=$("$here/build-base-image.sh")
fi

mongo=${MONGO_IMAGE:-mongo:7}
if image_available "$mongo"; then
    log "MONGO_IMAGE: $mongo"
else
    log "$mongo cannot be pulled: using the local SecantusDB stand-in"
    mongo=$("$here/build-mongo-standin.sh" "$base")
fi

mkdir -p "$(dirname "$env_file")"
cat >"$env_file" <<ENV
# Written by ci/docker/setup.sh on $(date -u +%FT%TZ): the images this machine uses. Delete to go back
# to the defaults (python:3.12-slim, mongo:7).
export BASE_IMAGE=$base
export MONGO_IMAGE=$mongo
ENV
log "wrote $env_file: BASE_IMAGE=$base MONGO_IMAGE=$mongo"
