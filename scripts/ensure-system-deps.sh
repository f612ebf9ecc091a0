#!/usr/bin/env bash
# Makes sure the system packages the test suite uses are installed: installs them with apt-get when they are
# missing and this user can, else stops with the exact command to run. Quiet when everything is present.
set -euo pipefail

# command -> Debian package
declare -A NEEDED=([redis-server]=redis-server [chromium]=chromium [logrotate]=logrotate [promtool]=prometheus [prometheus]=prometheus)

missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ensure-system-deps: missing system packages: ${missing[*]}" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "ensure-system-deps: installed ${missing[*]}" >&2
else
  echo "ensure-system-deps: install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
