#!/usr/bin/env bash
# Builds the cleanup DaemonSet's image without a registry and without a
# container build tool: an OCI image archive (an OCI image layout in a tar)
# holding one layer with the static pinns at /pinns and a static crictl at
# /crictl (the sweep asks the runtime through it). Needs tar, sha256sum.
#
#   packaging/container/build-oci-archive.sh PINNS CRICTL OUT.tar [NAME:TAG]
#
# PINNS: the static binary of packaging/build-static.sh. CRICTL: a static
# crictl (cri-tools release binaries are static; check with `file`). NAME:TAG
# defaults to localhost/pinns:VERSION, as the DaemonSet names it.
# EXTRA_ROOTFS=DIR adds DIR's contents to the image (the tests use it for the
# libraries of a dynamically linked debug build).
#
# Load it on each node, into the runtime's own image store:
#   CRI-O:      skopeo copy oci-archive:OUT.tar containers-storage:localhost/pinns:VERSION
#   containerd: ctr -n k8s.io images import OUT.tar
#   podman:     podman load -i OUT.tar
# or push it to a registry (skopeo copy oci-archive:OUT.tar docker://REGISTRY/pinns:VERSION)
# and set that image in the DaemonSet.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
pinns=$1 crictl=$2 out=$3
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$(dirname "$0")/../../Cargo.toml" | head -1)
name=${4:-localhost/pinns:$version}
tag=${name##*:}
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs" "$work/layout/blobs/sha256"
chmod 0755 "$work/rootfs"
install -m 0755 "$pinns" "$work/rootfs/pinns"
install -m 0755 "$crictl" "$work/rootfs/crictl"
if [ -n "${EXTRA_ROOTFS:-}" ]; then cp -a "$EXTRA_ROOTFS/." "$work/rootfs/"; fi
blobs=$work/layout/blobs/sha256

# Stores a file as a blob; prints "sha256:HEX SIZE".
blob() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$blobs/$hex"
  echo "sha256:$hex $size"
}

tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 \
  -cf "$work/layer.tar" -C "$work/rootfs" .
read -r layer layer_size < <(blob "$work/layer.tar")
printf '{"architecture":"%s","os":"linux","config":{"Entrypoint":["/pinns"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
  "$arch" "$layer" >"$work/config.json"
read -r config config_size < <(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
read -r manifest manifest_size < <(blob "$work/manifest.json")
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s","io.containerd.image.name":"%s"}}]}' \
  "$manifest" "$manifest_size" "$tag" "$name" >"$work/layout/index.json"
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 \
  -cf "$out" -C "$work/layout" oci-layout index.json blobs
echo "$out: $name ($manifest)"
