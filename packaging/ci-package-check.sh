#!/usr/bin/env bash
# CI step for the packaging (run as root, from .ci/run): builds the .deb,
# installs it with dpkg, exercises the installed pinns (version, a pin and its
# removal, man pages, completion), verifies the systemd units, builds the RPM,
# and removes the package again. Leaves nothing installed or mounted.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "ci-package-check: installs a package and pins namespaces: run as root" >&2
  exit 1
fi
step() { printf '== %s\n' "$*"; }
fail() { printf 'ci-package-check: FAILED: %s\n' "$*" >&2; exit 1; }

needed=(groff-base man-db rpm systemd util-linux binutils)
missing=()
for p in "${needed[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if dpkg -s pinns >/dev/null 2>&1 || [ -e /usr/bin/pinns ]; then
  fail "pinns is already installed on this machine; not touching it"
fi

work=$(mktemp -d /tmp/pinns-pkg-check.XXXXXX)
cleanup() {
  set +e
  findmnt -rn -o TARGET | grep "^$work/" | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
  dpkg -s pinns >/dev/null 2>&1 && dpkg -r pinns >/dev/null
}
trap cleanup EXIT

step "build the .deb (static binary, cargo-deb)"
start=$(date +%s)
deb=$(packaging/build-deb.sh | tail -n 1)
echo "$deb ($(stat -c %s "$deb") bytes, $(( $(date +%s) - start )) s)"

step "install it"
dpkg -i "$deb" >/dev/null
want="pinns $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
got=$(/usr/bin/pinns --version)
[ "$got" = "$want" ] || fail "/usr/bin/pinns --version says '$got', expected '$want'"
echo "$got"
if readelf -lW /usr/bin/pinns | grep -q INTERP; then fail "/usr/bin/pinns is not static"; fi

step "pin and remove a network namespace with the installed binary"
/usr/bin/pinns -d "$work/pins" -f ci --net
pin="$work/pins/netns/ci"
[ "$(findmnt -rn -o FSTYPE --mountpoint "$pin")" = nsfs ] || fail "$pin is not an nsfs mount"
[ "$(stat -L -c %i "$pin")" != "$(stat -L -c %i /proc/self/ns/net)" ] || fail "$pin is the host's net namespace"
if /usr/bin/pinns cleanup --help >/dev/null 2>&1; then
  /usr/bin/pinns cleanup -d "$work/pins" -f ci
else
  echo "(no cleanup subcommand in this build: umount -l + rm, as CRI-O does)"
  umount -l "$pin"
  rm "$pin"
fi
[ ! -e "$pin" ] || fail "$pin is still there"
! findmnt -rn -o TARGET | grep -q "^$work/" || fail "a mount under $work is left"

step "the shipped binary has no test seams"
# Test-only inputs exist in debug builds only (src/enter.rs); root's
# environment must not steer the binary that ships.
for var in $(grep -rhoE 'PINNS_[A-Z_]+' src | sort -u); do
  if grep -aq "$var" /usr/bin/pinns; then fail "/usr/bin/pinns contains the test-only name $var"; fi
done
# And obeys none: a stand-in sysfs calling every CPU isolated would leave a
# debug build no CPU to run on; the release binary places as without it.
fake="$work/sysfs-cpu"
mkdir -p "$fake"
echo "0-$(($(nproc) - 1))" >"$fake/isolated"
/usr/bin/pinns -d "$work/pins" -f seam --uts
plain=$(/usr/bin/pinns enter -v -d "$work/pins" seam -- true 2>&1 | grep 'CPUs chosen') ||
  fail "pinns enter without the variable failed"
seamed=$(PINNS_SYSFS_CPU_DIR="$fake" /usr/bin/pinns enter -v -d "$work/pins" seam -- true 2>&1 | grep 'CPUs chosen') ||
  fail "pinns enter obeyed PINNS_SYSFS_CPU_DIR (it refused to place the command)"
[ "$plain" = "$seamed" ] || fail "PINNS_SYSFS_CPU_DIR changed placement: '$plain' vs '$seamed'"
/usr/bin/pinns cleanup -d "$work/pins" -f seam
echo "no test seams: ok ($plain)"

step "man pages render without warnings"
for page in /usr/share/man/man8/pinns*.8*; do
  name=$(basename "$page"); name=${name%%.8*}
  warnings=$(MANWIDTH=80 man --warnings -P cat 8 "$name" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "man $name: $warnings"
  MANWIDTH=80 man -P cat 8 "$name" | grep -q '^SYNOPSIS' || fail "man $name has no SYNOPSIS"
  echo "man 8 $name: ok"
done

step "bash completion is found and completes subcommands"
words=$(bash --norc -c 'source /usr/share/bash-completion/completions/pinns
COMP_WORDS=(pinns ""); COMP_CWORD=1; COMP_LINE="pinns "; COMP_POINT=6
_pinns pinns "" pinns; printf "%s\n" "${COMPREPLY[@]}"')
grep -qx pin <<<"$words" || fail "bash completion does not offer 'pin'"

step "systemd-analyze verify the installed units"
units=(pinns-cleanup.service pinns-cleanup.timer pinns-kubens.service)
# --man=no: a unit's man: reference is checked below, only for subcommands
# this build has (enter/cleanup/list/inspect are merged separately).
out=$(systemd-analyze verify --man=no "${units[@]}" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
for unit in "${units[@]}"; do
  for ref in $(sed -n 's/^Documentation=man:\([a-z-]*\)(8)$/\1/p' "/lib/systemd/system/$unit"); do
    sub=${ref#pinns}; sub=${sub#-}
    if [ -z "$sub" ] || /usr/bin/pinns "$sub" --help >/dev/null 2>&1; then
      man -w 8 "$ref" >/dev/null || fail "$unit documents man:$ref(8), which is not installed"
    fi
  done
done
echo "units: ok"

step "systemd-analyze verify the kubens drop-ins against stand-in crio and kubelet units"
root="$work/root"
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/bin"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /lib/systemd/system/pinns-* "$root/etc/systemd/system/"
cp -r /usr/share/pinns/systemd/. "$root/etc/systemd/system/"
for unit in crio kubelet; do
  printf '[Service]\nExecStart=/usr/bin/%s\n' "$unit" >"$root/etc/systemd/system/$unit.service"
done
for exe in crio kubelet pinns nsenter; do
  printf '#!/bin/sh\n' >"$root/usr/bin/$exe"
  chmod +x "$root/usr/bin/$exe"
done
out=$(systemd-analyze verify --man=no --root="$root" crio.service kubelet.service pinns-cleanup.service 2>&1) \
  || fail "systemd-analyze verify drop-ins: $out"
[ -z "$out" ] || fail "systemd-analyze verify drop-ins: $out"
for unit in crio kubelet pinns-cleanup; do
  grep -q '^ExecStart=/usr/bin/nsenter --mount=/run/kubens/mntns/mnt ' \
    "$root/etc/systemd/system/$unit.service.d/90-pinns-kubens.conf" || fail "$unit drop-in does not join kubens"
done
echo "drop-ins: ok"

step "remove the package"
dpkg -r pinns >/dev/null
[ ! -e /usr/bin/pinns ] || fail "/usr/bin/pinns is still there after dpkg -r"

step "build the RPM with rpmbuild"
rpm=$(OUT="$work/rpm" packaging/build-rpm.sh | tail -n 1)
listing=$(rpm -qlp "$rpm")
for f in /usr/bin/pinns /usr/share/man/man8/pinns.8 /usr/lib/systemd/system/pinns-cleanup.timer \
  /usr/share/bash-completion/completions/pinns /usr/share/pinns/crio.conf.d/10-pinns.conf; do
  grep -qx "$f" <<<"$listing" || fail "$rpm lacks $f"
done
echo "$(basename "$rpm"): ok"

step "packaging check passed"
