# Shared by the ci/docker scripts: logging and a couple of Docker probes. Source it, don't run it.
# shellcheck shell=bash

log() { printf '[ci/docker %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The MongoDB stand-in built when mongo:7 cannot be pulled. Local images are never tagged python:* or
# mongo:*, so nobody mistakes them for the official ones.
LOCAL_MONGO_IMAGE=${LOCAL_MONGO_IMAGE:-clara-local/secantus-mongo:0.7.0b3}

engine_answers() { docker info >/dev/null 2>&1; }
image_present() { docker image inspect "$1" >/dev/null 2>&1; }

# Run `docker build "$@"` quietly; show its output only when it fails.
quiet_build() {
    local output
    output=$(docker build "$@" 2>&1) || { printf '%s\n' "$output" >&2; return 1; }
}

# Succeed when the image is there or can be pulled (fails fast when no registry is reachable).
image_available() {
    image_present "$1" && return 0
    log "pulling $1"
    timeout 120 docker pull --quiet "$1" >/dev/null 2>&1
}
