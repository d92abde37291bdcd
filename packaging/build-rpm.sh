#!/usr/bin/env bash
# Builds the RPM with rpmbuild (Debian: apt-get install rpm) from a tarball of
# the repository's tracked files, in a throw-away topdir. Prints the path of
# the .rpm on stdout, last. OUT=dir keeps it somewhere else than target/rpm.
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

out="${OUT:-${CARGO_TARGET_DIR:-$PWD/target}/rpm}"
# A target dir of its own: cargo would take the caller's binary as fresh
# (the tarball keeps the files' times), and the RPM must hold what its
# sources build.
CARGO_TARGET_DIR="$top/target" rpmbuild -bb --quiet --define "_topdir $top" packaging/rpm/pinns.spec >&2

mkdir -p "$out"
rpm=$(find "$top/RPMS" -name '*.rpm' | head -n 1)
cp "$rpm" "$out/"
echo "$out/$(basename "$rpm")"
