#!/usr/bin/env bash
# deploy/prometheus: the alert rules are valid (`promtool check rules`) and pass their unit
# tests (`promtool test rules`: series in, alerts expected out).
#   test_prometheus_rules.sh RULES_DIR
# Exit 77 (skipped) without promtool (Debian package prometheus; scripts/setup installs it).
set -euo pipefail
dir=$1
if ! command -v promtool >/dev/null; then
  echo "promtool is not installed (package prometheus): skipped"
  exit 77
fi
cd "$dir"
promtool check rules arbiter-alerts.yml
promtool test rules arbiter-alerts.test.yml
