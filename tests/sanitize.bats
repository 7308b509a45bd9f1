#!/usr/bin/env bats
# `make check SANITIZE=1` must run the suites on programs built with
# AddressSanitizer and UBSan.  In a normal `make check` these tests are
# skipped.

load helpers

@test "sanitized run uses sanitized programs" {
    local prog
    [ -n "${NN_SANITIZED:-}" ] || skip "not a make check SANITIZE=1 run"
    for prog in "$REPO"/bin/nn-*; do
        # help=1 lists ASan's options on stderr before the program runs
        run env ASAN_OPTIONS=help=1 "$prog" --version
        [ "$status" -eq 0 ]
        [[ "$output" == *"Available flags for AddressSanitizer"* ]]
    done
}

@test "sanitized programs are found through PATH" {
    [ -n "${NN_SANITIZED:-}" ] || skip "not a make check SANITIZE=1 run"
    [ "$(command -v nn-dump)" = "$REPO/bin/nn-dump" ]
    run env ASAN_OPTIONS=help=1 nn-dump --version
    [[ "$output" == *"Available flags for AddressSanitizer"* ]]
}
