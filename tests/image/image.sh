#!/usr/bin/env bash
# Builds Doorman's container image with podman on a machine without a container registry, for the image test
# (tests/Doorman.Tests/EndToEnd/ImageTests.cs, which runs it against the test Synapse).
#
# No registry is reachable here, so the Dockerfile's two bases (ARG SDK, ARG BASE) are one local image: a minimal
# Debian debootstrapped from the machine's own mirror (.ci/debian-mirror) and imported with `podman import`. The
# build stage gets the host's .NET SDK, NuGet cache and CA certificates as build-time mounts (`podman build -v`),
# which never become part of an image. Podman runs with runc and explicit ulimits: the default crun refuses hybrid
# cgroups, and rootful podman's default nofile limit is above what an unprivileged container host allows.
#
#   tests/image/image.sh build   install podman if missing, make the base if missing, build localhost/doorman:ci
#   tests/image/image.sh compose run `doorman check` through deploy/compose.yml with podman-compose, on the built
#                                image with placeholder secrets: the file parses, the secrets reach the bot as files,
#                                and the bot starts and reports (the homeserver and LND it names are not there)
#   tests/image/image.sh env     print the variables the image test reads (eval it after build)
#
# Environment: DOORMAN_IMAGE_WORK (scratch folder, default /var/tmp/doorman-image), DEBIAN_MIRROR (default: the
# machine's apt sources). Needs root (debootstrap, rootful podman).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${DOORMAN_IMAGE_WORK:-/var/tmp/doorman-image}
BASE=localhost/doorman-base:bookworm
IMAGE=localhost/doorman:ci
export CONTAINERS_CONF=$WORK/containers.conf TMPDIR=$WORK/tmp

log() { echo "image.sh: $*" >&2; }

configure() {
  mkdir -p "$WORK/tmp"
  local nofile; nofile=$(ulimit -Hn)
  cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
}

install_tools() {
  command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null && return 0
  log "installing podman, runc and debootstrap from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
}

make_base() {
  podman image exists "$BASE" && return 0
  local mirror root=$WORK/rootfs
  mirror=$(.ci/debian-mirror)
  log "debootstrapping the base from $mirror (about a minute)"
  rm -rf "$root"
  # The runtime-deps set for a self-contained .NET app with invariant globalization (Directory.Build.props):
  # libc, libgcc, libstdc++ and zlib come with minbase; TLS, CA certificates and time zones are added.
  debootstrap --variant=minbase --include=libssl3,ca-certificates,tzdata bookworm "$root" "$mirror" \
    >"$WORK/debootstrap.log" 2>&1 || { log "debootstrap failed; last lines:"; tail -5 "$WORK/debootstrap.log" >&2; return 1; }
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/{doc,man,info,locale}/*
  tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . \
    | podman import -q --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$root"
}

build() {
  [ "$(id -u)" = 0 ] || { log "needs root (debootstrap, rootful podman)"; return 1; }
  install_tools
  configure
  make_base
  local packages; packages=$(dotnet nuget locals global-packages -l | sed 's/^global-packages: *//')
  mkdir -p "$packages" "$HOME/.nuget/NuGet"
  log "building $IMAGE"
  local started; started=$(date +%s)
  podman build --format docker -t "$IMAGE" \
    --build-arg SDK="$BASE" --build-arg BASE="$BASE" --build-arg COMMIT="$(git rev-parse HEAD 2>/dev/null || true)" \
    -v "$(dirname "$(readlink -f "$(command -v dotnet)")"):/usr/share/dotnet:ro" \
    -v "$packages:/root/.nuget/packages" -v "$HOME/.nuget/NuGet:/root/.nuget/NuGet:ro" \
    -v /etc/ssl/certs:/etc/ssl/certs:ro \
    . >"$WORK/build.log" 2>&1 || { log "podman build failed; last lines:"; tail -15 "$WORK/build.log" >&2; return 1; }
  podman image prune -f >/dev/null  # the build stages of this and earlier builds
  log "built $IMAGE in $(( $(date +%s) - started )) s: $(podman image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=iec) ($BASE: $(podman image inspect --format '{{.Size}}' "$BASE" | numfmt --to=iec))"
}

compose() {
  command -v podman-compose >/dev/null || {
    log "installing podman-compose from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null
  }
  configure
  local dir; dir=$(mktemp -d "$WORK/compose.XXXXXX")
  cp deploy/compose.yml "$dir/compose.yml"
  mkdir "$dir/secrets"
  printf 'placeholder-token' >"$dir/secrets/matrix_access_token"
  printf '\002\001' >"$dir/secrets/invoice.macaroon"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -out "$dir/secrets/tls.cert" \
    -subj /CN=lnd -days 1 2>/dev/null
  local out status=0
  out=$(cd "$dir" && DOORMAN_IMAGE=$IMAGE podman-compose -f compose.yml run --rm --no-deps doorman check 2>&1) || status=$?
  (cd "$dir" && DOORMAN_IMAGE=$IMAGE podman-compose -f compose.yml down -v >/dev/null 2>&1) || true
  podman volume rm -f "$(basename "$dir" | tr 'A-Z.' 'a-z_')_doorman-data" >/dev/null 2>&1 || true
  rm -rf "$dir"
  echo "$out" | grep -E '^.*[✓✗] ' | sed 's/^[^✓✗]*//' >&2
  # check exits 1 (nothing it names is there); what matters is that it ran with the compose file's settings.
  if echo "$out" | grep -q '✓ configuration valid' && echo "$out" | grep -q 'homeserver reachable: http://synapse:8008/'; then
    log "deploy/compose.yml: parsed by podman-compose, doorman started with its settings and secrets"
  else
    log "deploy/compose.yml: doorman check did not run as expected (exit $status):"; echo "$out" | tail -20 >&2; return 1
  fi
}

case "${1:-build}" in
  build) build ;;
  compose) compose ;;
  env) echo "export DOORMAN_IMAGE=$IMAGE CONTAINERS_CONF=$CONTAINERS_CONF" ;;
  *) echo "usage: $0 build|compose|env" >&2; exit 2 ;;
esac
