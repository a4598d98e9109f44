#!/usr/bin/env bash
# Check, before `make up` builds and starts anything, that the monitor's published port is free.
#
#   scripts/check-monitor-port.sh [ENV_FILE]     (default .env; prints the port, exits 2 if it is taken)
#
# The port is Compose's: MONITOR_PORT from the environment, else from ENV_FILE, else 5004. A range
# (5004-5006, for --scale) is not checked, and neither is a port that the stack's own monitor holds
# (`make up` on a running stack): $COMPOSE (default `docker compose`) names the running monitor.
set -u
env_file=${1:-.env}
compose=${COMPOSE:-docker compose}

from_env_file() {
    [ -f "$env_file" ] || return 0
    sed -nE "s/^[[:space:]]*(export[[:space:]]+)?MONITOR_PORT=[\"']?([^\"'[:space:]]*)[\"']?[[:space:]]*$/\2/p" \
        "$env_file" | tail -n 1
}

listens() {  # something accepts connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port=${MONITOR_PORT:-$(from_env_file)}
port=${port:-5004}
if [[ $port =~ ^[0-9]+$ ]] && listens "$port" && [ -z "$($compose ps -q monitor 2>/dev/null)" ]; then
    free=$((port + 1))
    while listens "$free" && [ "$free" -lt $((port + 100)) ]; do free=$((free + 1)); done
    echo "make up: port $port is taken (another program listens there: a demo from \`make demo\`?);" \
        "choose another with \`MONITOR_PORT=$free make run\`, or set MONITOR_PORT=$free in $env_file" >&2
    exit 2
fi
echo "$port"
