#!/bin/sh
# Add to the Compose .env file each password that is missing from it (`make up` runs this): the
# database passwords and Grafana's admin password (the observability profile's).
#
#   scripts/ensure-env-secrets.sh [ENV_FILE]     (default .env; prints the names it added, one a line)
#
# Never changes a value that is set: an empty assignment (NAME=) counts as missing and is replaced.
# A new .env is created readable by its owner only. The values are 43 random letters and digits
# (256 bits), which need no quoting in .env. Compose's mongo-users step applies them to the database
# (deploy/mongo/clara_mongo_init.py), grafana-secret hands Grafana its own (deploy/grafana/admin-password.sh);
# .env is git-ignored and never enters an image (.dockerignore).
set -eu
env_file=${1:-.env}
names="MONGO_ROOT_PASSWORD MONGO_MONITOR_PASSWORD MONGO_LOGGER_PASSWORD MONGO_SEED_PASSWORD GRAFANA_ADMIN_PASSWORD"

umask 077
[ -e "$env_file" ] || : >"$env_file"

new_password() {
    LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 43
}

for name in $names; do
    # Set already (a non-empty value, `export` allowed): keep it.
    if grep -Eq "^[[:space:]]*(export[[:space:]]+)?$name=[^[:space:]]" "$env_file"; then
        continue
    fi
    # Drop an empty assignment, so that the value added below is the only one.
    if grep -Eq "^[[:space:]]*(export[[:space:]]+)?$name=" "$env_file"; then
        kept=$(grep -Ev "^[[:space:]]*(export[[:space:]]+)?$name=" "$env_file" || true)
        printf '%s\n' "$kept" >"$env_file"
    fi
    # A last line without its newline would swallow the new one.
    if [ -s "$env_file" ] && [ "$(tail -c 1 "$env_file" | od -An -c | tr -d ' ')" != '\n' ]; then
        printf '\n' >>"$env_file"
    fi
    printf '%s=%s\n' "$name" "$(new_password)" >>"$env_file"
    echo "$name"
done
