#!/bin/sh
# Write Grafana's admin password file before Grafana starts (compose.yaml's one-shot grafana-secret,
# in Grafana's own image, as root; Grafana reads the file through GF_SECURITY_ADMIN_PASSWORD__FILE).
#
#   admin-password.sh [SECRET_DIR] [ENV_FILE]   (defaults: the container's /run/clara/secrets/grafana
#                                                and /run/clara/project/.env)
#
# The password is, as for the database passwords (deploy/mongo/clara_mongo_init.py): GRAFANA_ADMIN_PASSWORD
# from the project's .env when set there (`make up` writes it), else the one stored before, else 43
# random letters and digits. So a plain `docker compose --profile observability up` without a .env gets
# a generated password, never `admin`. Grafana applies it when it creates its database (a fresh
# grafana-data volume) only. The password is never printed.
set -eu
secret_dir=${1:-/run/clara/secrets/grafana}
env_file=${2:-/run/clara/project/.env}
secret_file=$secret_dir/password
# The user Grafana's images run as (uid 472, group root): the file is readable by it only.
grafana_uid=472

# The last GRAFANA_ADMIN_PASSWORD= line of .env, without `export`, surrounding quotes or a trailing
# ` # comment`; nothing when there is none.
value_in_env_file() {
    [ -e "$env_file" ] || return 0
    if [ ! -r "$env_file" ]; then
        # Never fall back to a generated password: it would silently differ from the one in .env.
        echo "grafana-secret: cannot read $env_file (on an SELinux host mount the project with :z)" >&2
        exit 1
    fi
    value=$(sed -n -E 's/^[[:space:]]*(export[[:space:]]+)?GRAFANA_ADMIN_PASSWORD=(.*)$/\2/p' "$env_file" |
        tail -n 1 | sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//')
    case $value in
        \"*\" | \'*\')
            value=${value#?}
            value=${value%?}
            ;;
        *" #"*) value=$(printf '%s' "${value%% #*}" | sed -E 's/[[:space:]]+$//') ;;
    esac
    printf '%s' "$value"
}

new_password() {
    LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 43
}

given=$(value_in_env_file)
stored=$(cat "$secret_file" 2>/dev/null || true)
if [ -n "$given" ]; then
    password=$given origin="taken from GRAFANA_ADMIN_PASSWORD"
elif [ -n "$stored" ]; then
    password=$stored origin="kept the one stored before"
else
    password=$(new_password) origin="generated"
fi

if [ "$password" != "$stored" ]; then
    mkdir -p "$secret_dir"
    # Written beside the file and renamed over it: never half-written.
    temporary=$(mktemp "$secret_dir/.password-XXXXXX")
    trap 'rm -f "$temporary"' EXIT
    printf '%s\n' "$password" >"$temporary"
    chmod 0400 "$temporary"
    if [ "$(id -u)" = 0 ]; then # in the container; a test run as another user keeps its own ownership
        chown "$grafana_uid:0" "$temporary"
    fi
    mv -f "$temporary" "$secret_file"
    trap - EXIT
fi
echo "grafana admin password: $origin"
