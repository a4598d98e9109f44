#!/usr/bin/env bash
# Make sure a Docker engine answers and a Compose command exists: when none does, install Debian's
# docker.io (and docker-compose, v1.29, when there is no `docker compose`), then start dockerd in
# the background (its log: ${DOCKERD_LOG:-/tmp/clara-dockerd.log}). Needs root when it installs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/docker/common.sh
. "$here/common.sh"

missing=()
if ! engine_answers && ! command -v dockerd >/dev/null; then
    missing+=(docker.io)
fi
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
    missing+=(docker-compose)
fi
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker.io puts its client in /usr/bin; a client elsewhere on PATH is used first if there.
command -v docker >/dev/null || die "no docker client on PATH"

if engine_answers; then
    log "a Docker engine answers ($(docker version --format '{{.Server.Version}}'))"
else
    dockerd_log=${DOCKERD_LOG:-/tmp/clara-dockerd.log}
    log "starting dockerd (log: $dockerd_log)"
    # setsid: the engine outlives this script and is not killed with its process group.
    setsid nohup dockerd >"$dockerd_log" 2>&1 < /dev/null &
    for _ in $(seq 60); do
        engine_answers && break
        sleep 1
    done
    engine_answers || { tail -n 20 "$dockerd_log" >&2; die "dockerd did not answer within 60 s"; }
    log "dockerd answers ($(docker version --format '{{.Server.Version}}'))"
fi
if docker compose version >/dev/null 2>&1; then
    log "compose: $(docker compose version --short 2>/dev/null || docker compose version)"
else
    log "compose: $(docker-compose version --short)"
fi
