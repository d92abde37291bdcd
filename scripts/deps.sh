#!/usr/bin/env bash
# Installs the Debian packages the demo, tests, benchmark and packaging check
# drive for real. Sourced or run by .ci/run and scripts/demo.sh.
#
# Another apt or dpkg (unattended-upgrades on a fresh machine) may hold the
# package lock: installing waits for it (DPkg::Lock::Timeout), and `apt-get
# update`, whose lists lock that option does not cover, is retried.
set -euo pipefail
packages=(runc crun catatonit busybox-static strace jq iproute2 util-linux procps groff-base man-db bsdutils python3 python3-venv libcap2-bin
  # the CRI-O bundle's runtime needs
  conmon containernetworking-plugins skopeo libseccomp2 libsqlite3-0 tar xz-utils
  # packaging/ci-package-check.sh: lint both packages, build the RPM, check the units
  lintian rpmlint rpm systemd binutils
  # tests/it/generated/completions.rs runs the zsh and fish completions
  zsh fish
  # tests/it/common/threads.c (a pod alive only through a thread)
  gcc libc6-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  lock_wait=(-o DPkg::Lock::Timeout=600)
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if apt-get "${lock_wait[@]}" update -qq; then break; fi
    [ "$attempt" -lt 10 ] || exit 1
    echo "apt-get update failed (another apt holding its lists?); retrying in 30 s" >&2
    sleep 30
  done
  apt-get "${lock_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
