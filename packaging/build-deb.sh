#!/usr/bin/env bash
# Builds the Debian package from the static binary with cargo-deb and prints
# the path of the .deb on stdout, last. Installs cargo-deb first when it is
# missing (about a minute on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked >&2
fi

crate_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
changelog_version=$(sed -n '1s/^pinns (\([^-)]*\).*/\1/p' packaging/debian/changelog)
if [ "$changelog_version" != "$crate_version" ]; then
  echo "build-deb: packaging/debian/changelog is at $changelog_version, Cargo.toml at $crate_version" >&2
  exit 1
fi

packaging/build-static.sh >/dev/null
# --no-build: package exactly the binary build-static.sh checked;
# --no-strip: it is stripped already (profile.release strip = true).
# PINNS_MAINTAINER: a distribution's packager, instead of the placeholder.
maintainer=()
if [ -n "${PINNS_MAINTAINER:-}" ]; then maintainer=(--maintainer "$PINNS_MAINTAINER"); fi
cargo deb --no-build --no-strip "${maintainer[@]}" --target x86_64-unknown-linux-gnu 2>&1 | tail -n 1
