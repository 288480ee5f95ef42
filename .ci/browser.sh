#!/usr/bin/env bash
# browser.sh prepares the browser test of the webhooks portal
# (manage/e2e/e2e_test.go): Debian's Chromium, and from npm playwright-core,
# which drives that Chromium (it never downloads a browser of its own), and
# axe-core, which the test runs in every page for accessibility.
#
# Two ways to use it:
#
#   source .ci/browser.sh                        # from .ci/run, before go test
#   .ci/browser.sh go test -v ./manage/e2e/      # prepare, then run a command
#
# It installs chromium with apt-get when it is missing, installs
# manage/e2e's locked node_modules (npm ci), and exports
#
#   WEBHOOK_TEST_BROWSER=1   the test runs (it skips without it, and fails
#                            when it is set but a tool is missing)
#   CHROMIUM                 the browser binary for playwright-core
#
# Screenshots of every page, at 1280 and 390 px, and audits.json (each
# page's width at 390 px and its axe-core findings) land in
# manage/e2e/artifacts/ (gitignored); this script prints that path, and the
# test the paths of the screenshots.

webhook_browser_setup() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if ! command -v chromium >/dev/null 2>&1; then
    echo "browser.sh: installing chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "browser.sh: installing nodejs and npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  (cd "$root/manage/e2e" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  mkdir -p "$root/manage/e2e/artifacts"
  export WEBHOOK_TEST_BROWSER=1
  CHROMIUM="$(command -v chromium)"
  export CHROMIUM
  echo "browser.sh: $("$CHROMIUM" --version 2>/dev/null | head -1), playwright-core $(cd "$root/manage/e2e" && node -p 'require("playwright-core/package.json").version'), axe-core $(cd "$root/manage/e2e" && node -p 'require("axe-core/package.json").version')"
  echo "browser.sh: the portal's screenshots and audits.json go to $root/manage/e2e/artifacts"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  webhook_browser_setup
  if [[ $# -gt 0 ]]; then
    exec "$@"
  fi
else
  webhook_browser_setup
fi
