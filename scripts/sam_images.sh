#!/usr/bin/env bash
# The two Docker images `make sam-local` needs, built here from Debian's packages and PyPI when they
# are missing (nothing is pulled from a registry, which these machines cannot reach):
#   - $SAM_LOCAL_BASE_IMAGE: a Debian bookworm minbase tree, the base `sam local` builds its
#     function image FROM (it adds the Runtime Interface Emulator it ships; our bootstraps need
#     only glibc). Skipped when SAM_LOCAL_BASE_IMAGE=sam-default (SAM's own image, from a registry).
#   - $SAM_LOCAL_MOTO_IMAGE: the same tree with python3 and moto[server] (the version
#     requirements-dev.txt pins), installed from wheels downloaded on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
BASE_IMAGE=${SAM_LOCAL_BASE_IMAGE:-registration-sam-base:bookworm}
MOTO_IMAGE=${SAM_LOCAL_MOTO_IMAGE:-registration-sam-moto:bookworm}
MOTO_PIN=$(grep -E '^moto\[server\]==' requirements-dev.txt)

need_base=0
need_moto=0
if [ "$BASE_IMAGE" != sam-default ] && ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then need_base=1; fi
if ! docker image inspect "$MOTO_IMAGE" >/dev/null 2>&1; then need_moto=1; fi
[ $need_base = 1 ] || [ $need_moto = 1 ] || exit 0

command -v debootstrap >/dev/null || {
  echo "sam-images: installing debootstrap (Debian's package)"
  apt-get install -y -qq debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
}
# The mirror this machine's apt uses (deb822 sources, or the classic list).
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}

tree=$(mktemp -d /tmp/sam-rootfs.XXXXXX)
wheels=$(mktemp -d /tmp/sam-wheels.XXXXXX)
cleanup() {
  for fs in proc dev; do umount "$tree/$fs" 2>/dev/null || true; done
  rm -rf "$tree" "$wheels"
}
trap cleanup EXIT

started=$(date +%s)
echo "sam-images: debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase bookworm "$tree" "$mirror" >/dev/null
if [ $need_base = 1 ]; then
  tar -C "$tree" -c . | docker import - "$BASE_IMAGE" >/dev/null
  echo "sam-images: $BASE_IMAGE built ($(($(date +%s) - started)) s)"
fi

if [ $need_moto = 1 ]; then
  echo "sam-images: python3 and $MOTO_PIN into the tree"
  mount -t proc proc "$tree/proc"
  chroot "$tree" apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  # pip inside the chroot does not trust the host's TLS set-up: the wheels come from the host.
  "$VENV/bin/pip" download --quiet --disable-pip-version-check -d "$wheels" "$MOTO_PIN"
  mkdir -p "$tree/wheels"
  cp "$wheels"/* "$tree/wheels/"
  chroot "$tree" python3 -m venv /opt/moto
  env -u PIP_FIND_LINKS chroot "$tree" /opt/moto/bin/pip install --quiet --disable-pip-version-check --no-index --find-links /wheels "$MOTO_PIN"
  rm -rf "$tree/wheels"
  chroot "$tree" apt-get clean
  umount "$tree/proc"
  tar -C "$tree" -c . | docker import -c 'ENV PATH=/opt/moto/bin:/usr/bin:/bin' -c 'CMD ["moto_server", "-H", "0.0.0.0", "-p", "5005"]' - "$MOTO_IMAGE" >/dev/null
  echo "sam-images: $MOTO_IMAGE built ($(($(date +%s) - started)) s)"
fi
