#!/usr/bin/env bash
# The Debian package builds, is lintian-clean and holds the expected files (scripts/package).
# It takes a minute or two, so it runs only with ARBITER_PACKAGE_TEST=1:
#   ARBITER_PACKAGE_TEST=1 meson test -C build --suite package
# and is skipped (exit 77) otherwise.
set -euo pipefail
if [[ ${ARBITER_PACKAGE_TEST:-0} != 1 ]]; then
  echo "set ARBITER_PACKAGE_TEST=1 to build and lint the Debian package: skipped"
  exit 77
fi
out=$(mktemp -d /tmp/arbiter-package-test.XXXXXX)
trap 'rm -rf "$out"' EXIT
OUT=$out "$1/scripts/package"
