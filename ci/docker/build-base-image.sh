#!/usr/bin/env bash
# Build a local stand-in for python:3.12-slim when that image cannot be pulled.
#
#   ci/docker/build-base-image.sh [TAG]     (prints the tag it built or found)
#
# A minimal Debian bookworm from debootstrap, with the host's CPython 3.12 copied into /usr/local
# (whylogs' compiled sketches exist for CPython 3.11 and 3.12 only, and the images run 3.12), or
# Debian's own python3 (3.11) when the host has no relocatable 3.12. It offers what the services'
# Dockerfiles use from python:3.12-slim: python, python3, pip, venv, useradd. It trusts the host's
# CA bundle, so that pip inside a container reaches the package index by the host's route.
#
# The Debian mirror is the host's own, read from its apt configuration at run time
# (DEBIAN_MIRROR overrides). Needs root, debootstrap and a Docker engine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/docker/common.sh
. "$here/common.sh"

suite=${DEBIAN_SUITE:-bookworm}
ca_bundle=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -r "$ca_bundle" ] || die "no CA bundle at $ca_bundle"

# The first mirror the host's apt uses for the suite: deb822 sources first, then one-line lists.
host_mirror() {
    local file
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -r "$file" ] || continue
        awk -v suite="$suite" '
            /^[[:space:]]*$/ { if (uris != "" && ok) { print uris; exit } uris = ""; ok = 0; next }
            /^URIs:/ { uris = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
            END { if (uris != "" && ok) print uris }
        ' "$file" | head -n1
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v suite="$suite" '$1 == "deb" && $0 !~ /\[/ && $3 == suite { print $2 }' || true
}
mirror=${DEBIAN_MIRROR:-$(host_mirror | head -n1 || true)}
[ -n "$mirror" ] || die "found no Debian mirror for $suite in the host's apt configuration; set DEBIAN_MIRROR"

# A CPython 3.12 whose files can be copied: a self-contained prefix such as pyenv's (not /usr).
find_python312() {
    local candidate
    if [ -n "${PYTHON312_PREFIX:-}" ]; then
        echo "$PYTHON312_PREFIX"
        return
    fi
    for candidate in $(ls -d "${PYENV_ROOT:-/root/.pyenv}"/versions/3.12.* 2>/dev/null | sort -V -r); do
        [ -x "$candidate/bin/python3.12" ] && [ -f "$candidate/lib/libpython3.12.so.1.0" ] && { echo "$candidate"; return; }
    done
}
py_prefix=$(find_python312 || true)

# Two images: the debootstrap root file system (slow to make, cached), and on top of it a thin layer
# with the host's CA bundle (rebuilt in seconds whenever the bundle changes).
if [ -n "$py_prefix" ]; then flavour=3.12-$suite; else flavour=3.11-$suite; fi
tag=${1:-clara-local/python-base:$flavour}
rootfs_tag=clara-local/python-rootfs:$flavour
ca_sha=$(sha256sum "$ca_bundle" | cut -c1-16)
if image_present "$tag" && [ -z "${REBUILD:-}" ] &&
    [ "$(docker image inspect --format '{{ index .Config.Labels "clara.ca-bundle" }}' "$tag")" = "$ca_sha" ]; then
    log "reusing the local base image $tag (REBUILD=1 builds it anew)"
    echo "$tag"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/clara-base.XXXXXX")
root="$work/rootfs"
trap 'rm -rf "$work"' EXIT

if image_present "$rootfs_tag" && [ -z "${REBUILD:-}" ]; then
    log "reusing the root file system $rootfs_tag"
else
    command -v debootstrap >/dev/null || {
        log "installing debootstrap"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -q debootstrap >/dev/null; }
    }

    # The shared libraries CPython's own modules link against (ssl, ctypes, sqlite3, zlib, bz2, lzma,
    # readline, curses, uuid, expat, dbm), plus what python:3.12-slim adds: CA certificates, netbase, tzdata.
    packages=ca-certificates,netbase,tzdata,libssl3,libffi8,libsqlite3-0,zlib1g,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libtinfo6,libuuid1,libexpat1,libgdbm6,libnsl2,libtirpc3,libcrypt1
    if [ -z "$py_prefix" ]; then
        log "no CPython 3.12 on the host to copy: the base image gets Debian's python3 (3.11)"
        packages="$packages,python3,python3-venv,python3-pip"
    fi

    log "debootstrap $suite (minbase) from the host's mirror"
    started=$SECONDS
    debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2
        die "debootstrap failed"
    }
    log "debootstrap took $((SECONDS - started)) s"

    if [ -n "$py_prefix" ]; then
        version=$("$py_prefix/bin/python3.12" -c 'import platform; print(platform.python_version())')
        log "copying CPython $version from $py_prefix into /usr/local"
        # The interpreter and the standard library; not the test suite, Tk, IDLE or the host's
        # site-packages (pip is reinstalled from its bundled wheel below, as python:3.12-slim has it).
        tar -C "$py_prefix" \
            --exclude='lib/python3.12/test' --exclude='lib/python3.12/idlelib' \
            --exclude='lib/python3.12/tkinter' --exclude='lib/python3.12/turtledemo' \
            --exclude='lib/python3.12/lib-dynload/_tkinter*' --exclude='lib/python3.12/site-packages/*' \
            --exclude='__pycache__' --exclude='*.a' --exclude='bin/*' \
            -cf - bin lib include | tar -C "$root/usr/local" -xf -
        cp -a "$py_prefix/bin/python3.12" "$root/usr/local/bin/python3.12"
        # The binary's RUNPATH names the host's prefix; ldconfig lets the loader find libpython in
        # /usr/local/lib instead.
        chroot "$root" /sbin/ldconfig
        ln -sf python3.12 "$root/usr/local/bin/python3"
        ln -sf python3.12 "$root/usr/local/bin/python"
        chroot "$root" /usr/local/bin/python3.12 -m ensurepip --default-pip >/dev/null 2>&1
        # ensurepip writes pip3 and pip3.12; python:3.12-slim also has `pip`.
        ln -sf pip3 "$root/usr/local/bin/pip"
    else
        version=$(chroot "$root" /usr/bin/python3 -c 'import platform; print(platform.python_version())')
        ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
        ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
        # Debian marks its Python as externally managed; in a container pip should install as in python:*-slim.
        rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
    fi
    chroot "$root" python3 -c 'import ssl, sqlite3, ctypes, zlib, bz2, lzma, venv, uuid' ||
        die "the base image's Python misses a standard module"

    # Keep the image small: no package lists, caches, documentation or locales.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
        "$root"/var/log/*.log "$root"/root/.cache
    find "$root/usr/local" -name __pycache__ -prune -exec rm -rf {} +
    log "importing the root file system as $rootfs_tag (Python $version)"
    tar --numeric-owner -C "$root" -cf - . | docker import \
        --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "LABEL clara.python-version=$version" \
        --change 'CMD ["python3"]' \
        - "$rootfs_tag" >/dev/null
    rm -rf "$root"
fi

# Trust what the host trusts: its route to the package index may terminate TLS.
version=$(docker image inspect --format '{{ index .Config.Labels "clara.python-version" }}' "$rootfs_tag")
mkdir -p "$work/context"
cp "$ca_bundle" "$work/context/ca-certificates.crt"
cat >"$work/context/Dockerfile" <<DOCKERFILE
FROM $rootfs_tag
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
LABEL clara.ca-bundle=$ca_sha \\
    org.opencontainers.image.description="Local stand-in for python:3.12-slim: Debian $suite, Python $version"
CMD ["python3"]
DOCKERFILE
log "building $tag: $rootfs_tag plus the host's CA bundle"
quiet_build -t "$tag" "$work/context"
docker run --rm "$tag" sh -c 'python --version && pip --version && command -v useradd' >&2 ||
    die "the new base image does not run python, pip and useradd"
echo "$tag"
