#!/usr/bin/env bash
# The whole suite: type check, then every test file (each in its own process, as
# node's runner does; Pulumi mock tests rely on that). Set-up already ran (pretest).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-reporter=spec "$@" "${files[@]}"
