#!/usr/bin/env bash
# docs/openapi.yaml passes a real OpenAPI 3.1 linter (@redocly/cli, "recommended" rules as
# errors), and the same linter rejects a deliberately broken copy — so this test can fail.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT/tests" || exit 1
lint() { npx --no-install redocly lint --config redocly.yaml "$1"; }
lint "$ROOT/docs/openapi.yaml" || { echo "FAIL: docs/openapi.yaml does not lint"; exit 1; }
broken=$(mktemp --suffix=.yaml)
trap 'rm -f "$broken"' EXIT
# a dangling $ref and a response without a description
sed -e "s|#/components/schemas/Session'|#/components/schemas/NoSuchSchema'|" \
    -e '0,/description: Forgotten./s//x-broken: true/' "$ROOT/docs/openapi.yaml" >"$broken"
if lint "$broken" >/dev/null 2>&1; then
  echo "FAIL: the linter accepted a broken spec"
  exit 1
fi
echo "PASS: docs/openapi.yaml lints clean; a broken copy is rejected"
