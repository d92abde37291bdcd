#!/usr/bin/env bash
# CI step for the packaging (run as root, from .ci/run): builds the .deb and
# lints it (lintian), installs it with dpkg, exercises the installed pinns
# (version, a pin and its removal, man pages, completion), verifies and rates
# the systemd units, checks that removal leaves no enabled timer, installs it
# beside a package that owns /usr/bin/pinns (as CRI-O's do), builds the RPM
# offline from vendored crates and lints it (rpmlint). Leaves nothing
# installed or mounted.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "ci-package-check: installs a package and pins namespaces: run as root" >&2
  exit 1
fi
step() { printf '== %s\n' "$*"; }
fail() { printf 'ci-package-check: FAILED: %s\n' "$*" >&2; exit 1; }

# groff, man-db, rpm, rpmlint, lintian, systemd, binutils (waits for the
# dpkg lock when another apt holds it).
scripts/deps.sh

bin=/usr/libexec/pinns/pinns
standin=pinns-ci-standin
if dpkg -s pinns >/dev/null 2>&1 || dpkg -s "$standin" >/dev/null 2>&1 ||
  [ -e /usr/bin/pinns ] || [ -L /usr/bin/pinns ] || [ -e /usr/libexec/pinns ]; then
  fail "pinns is already installed on this machine; not touching it"
fi

work=$(mktemp -d /tmp/pinns-pkg-check.XXXXXX)
cleanup() {
  set +e
  findmnt -rn -o TARGET | grep "^$work/" | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
  dpkg -s pinns >/dev/null 2>&1 && dpkg --purge pinns >/dev/null
  dpkg -s "$standin" >/dev/null 2>&1 && dpkg --purge "$standin" >/dev/null
}
trap cleanup EXIT

step "build the .deb (static binary, cargo-deb)"
start=$(date +%s)
deb=$(packaging/build-deb.sh | tail -n 1)
echo "$deb ($(stat -c %s "$deb") bytes, $(( $(date +%s) - start )) s)"

step "lintian: no error, no warning (overrides: packaging/debian/lintian-overrides)"
lintian --allow-root --fail-on error,warning "$deb" || fail "lintian on $(basename "$deb")"
echo "lintian: ok"

step "install it"
dpkg -i "$deb" >/dev/null
want="pinns $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
got=$($bin --version)
[ "$got" = "$want" ] || fail "$bin --version says '$got', expected '$want'"
echo "$got"
if readelf -lW $bin | grep -q INTERP; then fail "$bin is not static"; fi
# No other package owns /usr/bin/pinns here: the alternative leads to ours.
[ "$(readlink -f /usr/bin/pinns)" = "$bin" ] || fail "/usr/bin/pinns does not lead to $bin"
[ "$(pinns --version)" = "$want" ] || fail "pinns on PATH is not the installed one"
echo "/usr/bin/pinns -> $(readlink /usr/bin/pinns) -> $(readlink -f /usr/bin/pinns)"

step "pin and remove a network namespace with the installed binary"
$bin -d "$work/pins" -f ci --net
pin="$work/pins/netns/ci"
[ "$(findmnt -rn -o FSTYPE --mountpoint "$pin")" = nsfs ] || fail "$pin is not an nsfs mount"
[ "$(stat -L -c %i "$pin")" != "$(stat -L -c %i /proc/self/ns/net)" ] || fail "$pin is the host's net namespace"
$bin cleanup -d "$work/pins" -f ci
[ ! -e "$pin" ] || fail "$pin is still there"
! findmnt -rn -o TARGET | grep -q "^$work/" || fail "a mount under $work is left"

step "the fast-path checker (run by build-static.sh) rejects each thing it must"
python3 packaging/check-fast-path.py --self-test

step "the fast pin path runs in the shipped binary, before glibc starts"
# CRI-O's usual pod is pinned before glibc's start-up (src/fastpin/): no
# arch_prctl (glibc sets up thread-local storage with it) and no brk; any
# other command line goes through glibc's _start as before.
trace="$work/fast.trace"
mkdir -p "$work/pins" # a missing DIR is the full path's to create
strace -f -qq -o "$trace" $bin -d "$work/pins" -f fast --ipc --net --uts \
  -s net.ipv4.ip_forward=1 -s kernel.shm_rmid_forced=1
for kind in ipc net uts; do
  [ "$(findmnt -rn -o FSTYPE --mountpoint "$work/pins/${kind}ns/fast")" = nsfs ] ||
    fail "fast path: no $kind pin"
done
! grep -qE '^[0-9]+ +(arch_prctl|brk)\(' "$trace" || fail "fast path: glibc started: $(head -5 "$trace")"
echo "fast path: $(grep -cE '^[0-9]+ +[a-z_0-9]+\(' "$trace") system calls, execve included"
strace -f -qq -o "$trace" $bin -d "$work/pins" -f handed --ipc --net=host
grep -qE '^[0-9]+ +arch_prctl\(' "$trace" || fail "--net=host did not go through glibc's start-up"
$bin cleanup -d "$work/pins" -f fast
$bin cleanup -d "$work/pins" -f handed
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
# Every packaged path a page names is installed.
named=$(MANWIDTH=200 man -P cat 8 pinns pinns-cleanup | grep -oE '/usr/(lib/systemd|libexec|share/pinns)/[A-Za-z0-9._/-]*[A-Za-z0-9]' | sort -u)
[ -n "$named" ] || fail "no packaged path found in the man pages"
for path in $named; do
  [ -e "$path" ] || fail "a man page names $path, which the package does not install"
  echo "named in a man page and installed: $path"
done

step "bash completion is found and completes subcommands"
words=$(bash --norc -c 'source /usr/share/bash-completion/completions/pinns
COMP_WORDS=(pinns ""); COMP_CWORD=1; COMP_LINE="pinns "; COMP_POINT=6
_pinns pinns "" pinns; printf "%s\n" "${COMPREPLY[@]}"')
grep -qx pin <<<"$words" || fail "bash completion does not offer 'pin'"

step "systemd-analyze verify the installed units"
units=(pinns-cleanup.service pinns-cleanup.timer pinns-kubens.service)
out=$(systemd-analyze verify --man=no "${units[@]}" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
for unit in "${units[@]}"; do
  for ref in $(sed -n 's/^Documentation=man:\([a-z-]*\)(8)$/\1/p' "/usr/lib/systemd/system/$unit"); do
    man -w 8 "$ref" >/dev/null || fail "$unit documents man:$ref(8), which is not installed"
  done
done
echo "units: ok"

step "systemd-analyze security of the installed units"
# The thresholds (exposure x10) tests/it/systemd_units.rs holds the sources to.
for pair in pinns-cleanup.service:39 pinns-kubens.service:31; do
  unit=${pair%:*}
  systemd-analyze security --offline=yes --no-pager --threshold="${pair#*:}" \
    "/usr/lib/systemd/system/$unit" | grep 'Overall exposure' || fail "$unit is rated above ${pair#*:}/10"
done

step "systemd-analyze verify the kubens drop-ins against stand-in crio and kubelet units"
root="$work/root"
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/bin" "$root/usr/libexec/pinns"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /usr/lib/systemd/system/pinns-* "$root/etc/systemd/system/"
cp -r /usr/share/pinns/systemd/. "$root/etc/systemd/system/"
for unit in crio kubelet; do
  printf '[Service]\nExecStart=/usr/bin/%s\n' "$unit" >"$root/etc/systemd/system/$unit.service"
done
for exe in /usr/bin/crio /usr/bin/kubelet /usr/bin/nsenter $bin; do
  printf '#!/bin/sh\n' >"$root$exe"
  chmod +x "$root$exe"
done
out=$(systemd-analyze verify --man=no --root="$root" crio.service kubelet.service pinns-cleanup.service 2>&1) \
  || fail "systemd-analyze verify drop-ins: $out"
[ -z "$out" ] || fail "systemd-analyze verify drop-ins: $out"
for unit in crio kubelet pinns-cleanup; do
  grep -q '^ExecStart=/usr/bin/nsenter --mount=/run/kubens/mntns/mnt ' \
    "$root/etc/systemd/system/$unit.service.d/90-pinns-kubens.conf" || fail "$unit drop-in does not join kubens"
done
echo "drop-ins: ok"

step "remove the package: no timer stays enabled"
# What `systemctl enable --now pinns-cleanup.timer` leaves on disk; enabling
# needs no running systemd.
wants=/etc/systemd/system/timers.target.wants/pinns-cleanup.timer
systemctl enable pinns-cleanup.timer >/dev/null 2>&1 || fail "systemctl enable pinns-cleanup.timer"
[ -L "$wants" ] || fail "enabling made no $wants"
[ "$(systemctl is-enabled pinns-cleanup.timer 2>&1)" = enabled ] || fail "the timer is not enabled"
dpkg -r pinns >/dev/null
[ ! -e /usr/bin/pinns ] && [ ! -L /usr/bin/pinns ] || fail "/usr/bin/pinns is still there after dpkg -r"
[ ! -e $bin ] || fail "$bin is still there after dpkg -r"
state=$(systemctl is-enabled pinns-cleanup.timer 2>&1 || true)
case "$state" in enabled*) fail "pinns-cleanup.timer is still enabled after dpkg -r" ;; esac
echo "after dpkg -r: pinns-cleanup.timer is $state"
dpkg --purge pinns >/dev/null
[ ! -L "$wants" ] || fail "$wants is still there after dpkg --purge"
for unit in pinns-cleanup.timer pinns-kubens.service; do
  [ ! -L "/etc/systemd/system/$unit" ] || fail "purge left a mask at /etc/systemd/system/$unit"
done
echo "after dpkg --purge: no unit link left"

step "install beside a package that owns /usr/bin/pinns, as CRI-O's do"
standin_root="$work/standin"
mkdir -p "$standin_root/DEBIAN" "$standin_root/usr/bin"
printf '#!/bin/sh\necho "C pinns stand-in"\n' >"$standin_root/usr/bin/pinns"
chmod 755 "$standin_root/usr/bin/pinns"
printf '%s\n' "Package: $standin" "Version: 1.0" "Architecture: all" \
  "Maintainer: pinns CI <ci@example.org>" \
  "Description: stand-in for a CRI-O package that ships /usr/bin/pinns" >"$standin_root/DEBIAN/control"
dpkg-deb --root-owner-group --build "$standin_root" "$work/standin.deb" >/dev/null
dpkg -i "$work/standin.deb" >/dev/null
dpkg -i "$deb" >/dev/null || fail "installing pinns beside a package owning /usr/bin/pinns failed"
for p in "$standin" pinns; do
  [ "$(dpkg-query -W -f='${Status}' "$p")" = "install ok installed" ] || fail "$p is not installed"
done
[ "$(/usr/bin/pinns)" = "C pinns stand-in" ] || fail "the other package's /usr/bin/pinns was replaced"
[ "$($bin --version)" = "$want" ] || fail "$bin does not run beside the other package"
$bin -d "$work/pins" -f beside --net
$bin cleanup -d "$work/pins" -f beside
echo "both installed: /usr/bin/pinns is the other package's, $bin is ours and runs"
dpkg --purge pinns >/dev/null
[ "$(/usr/bin/pinns)" = "C pinns stand-in" ] || fail "removing pinns touched the other package's /usr/bin/pinns"
[ ! -e /usr/libexec/pinns ] || fail "/usr/libexec/pinns is left after dpkg --purge"
! dpkg -s pinns >/dev/null 2>&1 || fail "pinns is still installed"
dpkg --purge "$standin" >/dev/null
echo "removed cleanly"

step "build the RPM with rpmbuild, offline from vendored crates"
rpm=$(OUT="$work/rpm" packaging/build-rpm.sh | tail -n 1)
listing=$(rpm -qlp "$rpm")
for f in $bin /usr/share/man/man8/pinns.8.gz /usr/lib/systemd/system/pinns-cleanup.timer \
  /usr/share/bash-completion/completions/pinns /usr/share/pinns/crio.conf.d/10-pinns.conf; do
  grep -qx "$f" <<<"$listing" || fail "$rpm lacks $f"
done
! grep -qx /usr/bin/pinns <<<"$listing" || fail "$rpm owns /usr/bin/pinns"
echo "$(basename "$rpm"): ok"

step "rpmlint: no error (settings: packaging/rpm/rpmlint.toml)"
rpmlint -c packaging/rpm/rpmlint.toml "$work"/rpm/*.rpm packaging/rpm/pinns.spec || fail "rpmlint"

step "packaging check passed"
