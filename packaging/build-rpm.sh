#!/usr/bin/env bash
# Builds the RPM with rpmbuild (Debian: apt-get install rpm) from a tarball of
# the repository's tracked files and one of the vendored crates (`cargo
# vendor`: the spec's %build is offline, as in mock or koji), in a throw-away
# topdir. Prints the path of the binary .rpm on stdout, last; the source RPM
# is copied beside it. OUT=dir keeps them somewhere else than target/rpm.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^Version: *//p' packaging/rpm/pinns.spec)
crate_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
if [ "$version" != "$crate_version" ]; then
  echo "build-rpm: spec Version $version differs from Cargo.toml $crate_version" >&2
  exit 1
fi

top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SOURCES"
git ls-files -z | tar --null -T - --transform "s,^,pinns-$version/," -czf "$top/SOURCES/pinns-$version.tar.gz"
# The crates Cargo.lock names, at its versions; the spec's %prep points cargo
# at them.
cargo vendor --locked --versioned-dirs --quiet "$top/vendor/vendor" >/dev/null
tar -C "$top/vendor" -czf "$top/SOURCES/pinns-$version-vendor.tar.gz" vendor

# Debian's rpm has an empty package database, so the spec's BuildRequires
# (met here by dpkg's packages) cannot be checked; Fedora's rpmbuild does.
nodeps=()
if ! rpm -q rpm >/dev/null 2>&1; then nodeps=(--nodeps); fi

out="${OUT:-${CARGO_TARGET_DIR:-$PWD/target}/rpm}"
# A target dir of its own: cargo would take the caller's binary as fresh
# (the tarball keeps the files' times), and the RPM must hold what its
# sources build.
# As root, the build runs in a network namespace of its own with no
# interface up: proof that it needs nothing from a registry.
offline=()
if [ "$(id -u)" -eq 0 ]; then offline=(unshare --net --); fi
CARGO_TARGET_DIR="$top/target" "${offline[@]}" rpmbuild -ba --quiet "${nodeps[@]}" --define "_topdir $top" \
  packaging/rpm/pinns.spec >&2

mkdir -p "$out"
srpm=$(find "$top/SRPMS" -name '*.src.rpm' | head -n 1)
rpm=$(find "$top/RPMS" -name '*.rpm' | head -n 1)
cp "$srpm" "$rpm" "$out/"
echo "$out/$(basename "$rpm")"
