#!/usr/bin/env bash
# Builds Strata's container image without a registry: Debian's own tools only.
#   mmdebstrap  a Debian bookworm root filesystem from Debian's packages (python3, ipxe,
#               dnsmasq for DHCP/TFTP, ca-certificates), Strata pip-installed into
#               /opt/strata from this checkout (its dependencies from PyPI), a user 10001;
#   umoci       that root filesystem as one layer of an OCI image (image-spec v1.0),
#               with its config: user 10001, entrypoint strata.
# The same image as the Containerfile describes, for a machine that has no registry to
# pull debian:bookworm-slim from. Root is needed (mmdebstrap's root mode, chroot).
#
# usage: scripts/build-image.sh OUT_DIR [TAG]    -> OUT_DIR/oci (an OCI image layout)
# then:  skopeo copy oci:OUT_DIR/oci:TAG docker-archive:strata.tar:strata:TAG, or
#        kind load image-archive / ctr -n k8s.io images import / podman load.
set -euo pipefail

out=${1:?usage: scripts/build-image.sh OUT_DIR [TAG]}
tag=${2:-latest}
root=$(cd "$(dirname "$0")/.." && pwd)
for tool in mmdebstrap umoci; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install mmdebstrap umoci" >&2; exit 3; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Only what git tracks, as committed plus the work tree's changes to tracked files.
mkdir "$work/src"
git -C "$root" ls-files -z | (cd "$root" && xargs -0 tar -c --no-recursion) | tar -x -C "$work/src"

# Python packages fetched here, with this machine's pip settings (its index, proxy and
# CA), then installed in the root filesystem with no network: the same wheels (cp311,
# manylinux) fit bookworm's python3.11.
"${PYTHON:-python3}" -m pip download --quiet --dest "$work/wheels" "$work/src" "setuptools>=68" wheel

mmdebstrap --variant=apt --mode=root --format=directory \
  --include=python3,python3-venv,ca-certificates,dnsmasq-base,ipxe,isolinux,syslinux-common,libcap2-bin \
  --customize-hook='mkdir -p "$1/tmp/src" "$1/tmp/wheels"' \
  --customize-hook="copy-in $work/src/. /tmp/src" \
  --customize-hook="copy-in $work/wheels/. /tmp/wheels" \
  --customize-hook='chroot "$1" python3 -m venv /opt/strata' \
  --customize-hook='chroot "$1" /opt/strata/bin/pip install --no-cache-dir --quiet --no-index --find-links /tmp/wheels /tmp/src' \
  --customize-hook='rm -rf "$1/tmp/src" "$1/tmp/wheels" "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  --customize-hook='chroot "$1" useradd --uid 10001 --user-group --home-dir /var/lib/strata --create-home strata' \
  --customize-hook='chroot "$1" setcap cap_net_bind_service,cap_net_admin,cap_net_raw+ep /usr/sbin/dnsmasq' \
  --customize-hook='mkdir -p "$1/var/lib/strata/artifacts" && chroot "$1" chown -R strata:strata /var/lib/strata' \
  bookworm "$work/rootfs"

rm -rf "$out/oci"
umoci init --layout "$out/oci"
umoci new --image "$out/oci:$tag"
umoci unpack --image "$out/oci:$tag" "$work/bundle" >/dev/null
rm -rf "$work/bundle/rootfs"
mv "$work/rootfs" "$work/bundle/rootfs"
umoci repack --image "$out/oci:$tag" "$work/bundle"
umoci config --image "$out/oci:$tag" \
  --config.user 10001:10001 \
  --config.entrypoint /opt/strata/bin/strata \
  --config.cmd controller \
  --config.workingdir /var/lib/strata \
  --config.env PATH=/opt/strata/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.exposedports 8080/tcp --config.exposedports 8081/tcp \
  --config.label org.opencontainers.image.title=strata \
  --config.label org.opencontainers.image.source=Containerfile
umoci gc --layout "$out/oci"
echo "$out/oci:$tag"
