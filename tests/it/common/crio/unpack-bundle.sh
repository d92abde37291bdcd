#!/usr/bin/env bash
# Unpacks the CRI-O 1.36.3 bundle (crio, crictl, pinns-c) into DEST and prints
# the directory holding the binaries. The bundle is found in shared/crio/ in
# the first ancestor of this repository that has one (CI: beside the clone;
# a worktree: further up), checked against its known digest and against its
# own SHA256SUMS after unpacking. Used by .ci/run and bench/crio-pods.sh.
set -euo pipefail
dest=${1:?usage: unpack-bundle.sh DEST}
sha256=8974ca282ab9e22f2058671f9f4c8e6b831da45ca8d8a52f7b92d1dfb11c6816
name=crio-1.36-bundle
bundle=
dir=$(cd "$(dirname "$0")/../../../.." && pwd -P)
while [ "$dir" != / ]; do
  dir=$(dirname "$dir")
  if [ -f "$dir/shared/crio/$name.tar.xz" ]; then
    bundle="$dir/shared/crio/$name.tar.xz"
    break
  fi
done
if [ -z "$bundle" ]; then
  echo "CRI-O bundle not found (shared/crio/$name.tar.xz beside the repository)" >&2
  exit 1
fi
echo "$sha256  $bundle" | sha256sum -c --quiet - >&2
tar -xJf "$bundle" -C "$dest"
(cd "$dest/$name" && sha256sum -c --quiet SHA256SUMS) >&2
echo "$dest/$name"
