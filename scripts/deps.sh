#!/usr/bin/env bash
# Installs the Debian packages the demo, tests and benchmark drive for real.
# Sourced or run by .ci/run and scripts/demo.sh.
set -euo pipefail
packages=(runc crun catatonit busybox-static strace jq iproute2 util-linux procps groff-base man-db bsdutils python3 libcap2-bin conmon containernetworking-plugins skopeo libseccomp2 libsqlite3-0 tar xz-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
