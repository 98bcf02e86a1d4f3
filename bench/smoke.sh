#!/usr/bin/env bash
# Smoke run of every benchmark scenario (a few seconds each), so that the
# benchmarks cannot rot: part of tools/test.sh.  Exits non-zero when any
# scenario fails or prints no RESULT line.
BENCH_MODE=smoke exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
