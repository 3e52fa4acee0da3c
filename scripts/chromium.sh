#!/usr/bin/env bash
# Headless Chromium for the report tests: Debian's `chromium` package, installed with apt-get when missing (needs
# root). The tests drive it with playwright-core and never download a browser.
#
#   bash scripts/chromium.sh     # prints the browser's path once it is installed
set -euo pipefail

readonly BROWSER=/usr/bin/chromium

if [[ ! -x $BROWSER ]]; then
  [[ $(id -u) == 0 ]] || { echo "chromium: $BROWSER is missing and installing it needs root (apt-get install chromium)" >&2; exit 1; }
  echo "chromium: installing Debian's chromium (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
echo "$BROWSER"
