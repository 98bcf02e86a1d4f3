#!/usr/bin/env bash
# Smoke run of the fuzzer (part of tools/test.sh): a few seconds of cases
# with a seed that changes every day, so that the sample moves over time
# while any failure stays reproducible (the seed is printed).
FUZZ_SEED=${FUZZ_SEED:-$(date -u +%Y%m%d)} FUZZ_SECONDS=${FUZZ_SECONDS:-8} FUZZ_CASES=${FUZZ_CASES:-1000000} \
	FUZZ_BATCH=${FUZZ_BATCH:-200} exec bash "$(dirname "${BASH_SOURCE[0]}")/fuzz.sh" "$@"
