#!/usr/bin/env bash
# The systemd unit parses cleanly (systemd-analyze verify: any warning fails) and its
# sandbox rates no worse than 1.8 in systemd-analyze security (lower is better).
#   test_systemd_unit.sh UNIT ARBITERD [MANDIR]
# ExecStart's /usr/sbin/arbiterd becomes ARBITERD, so the unit is checked against the binary
# just built. With MANDIR (the built man pages), the unit's Documentation= pages must exist.
# Exit 77 (skipped) only when systemd-analyze is not installed.
set -euo pipefail

unit=$1 arbiterd=$(realpath "$2") mandir=${3:-}
max_exposure=1.8

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found (Debian package systemd): skipped"
  exit 77
fi

work=$(mktemp -d /tmp/arbiter-unit.XXXXXX)
trap 'rm -rf "$work"' EXIT

name=$(basename "$unit")
grep -q '^ExecStart=/usr/sbin/arbiterd ' "$unit" || {
  echo "FAIL $unit: no 'ExecStart=/usr/sbin/arbiterd ...' line to check"
  exit 1
}
sed "s|^ExecStart=/usr/sbin/arbiterd |ExecStart=$arbiterd |" "$unit" >"$work/$name"

man=--man=no
if [[ -n $mandir && -f $mandir/arbiterd.8 ]] && command -v man >/dev/null; then
  # man(1) wants manN/ directories; the build dir holds the pages flat.
  for page in "$mandir"/*.[158]; do
    mkdir -p "$work/man/man${page##*.}"
    ln -s "$(realpath "$page")" "$work/man/man${page##*.}/"
  done
  export MANPATH=$work/man
  man=--man=yes
fi

rc=0
if ! systemd-analyze verify "$man" "$work/$name" >"$work/verify.out" 2>&1; then
  rc=1
fi
if [[ -s $work/verify.out ]]; then
  rc=1
fi
if ((rc)); then
  echo "FAIL systemd-analyze verify $man:"
  sed "s|$work/||" "$work/verify.out"
else
  echo "ok   systemd-analyze verify $man"
fi

report=$(systemd-analyze security --offline=true "$work/$name" 2>&1) || {
  echo "FAIL systemd-analyze security:"
  echo "$report"
  exit 1
}
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' <<<"$report")
if [[ -z $score ]]; then
  echo "FAIL no exposure level in systemd-analyze security's output:"
  echo "$report"
  exit 1
fi
if awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s > m) }'; then
  echo "FAIL exposure level $score is above $max_exposure; what it counts:"
  grep '✗' <<<"$report" || true
  rc=1
else
  echo "ok   exposure level $score (at most $max_exposure)"
fi
exit "$rc"
