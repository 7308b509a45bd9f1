#!/usr/bin/env bats
# The Python reader of docs/format.md: it is the same code as
# tests/format_example.py, and it reads nn-load's samples as nn-dump
# does.

load helpers

@test "format doc example matches file" {
    awk '/^```python$/ { inside = 1; next } /^```$/ { inside = 0 } inside' \
        "$REPO/docs/format.md" >"$BATS_TEST_TMPDIR/doc.py"
    diff "$REPO/tests/format_example.py" "$BATS_TEST_TMPDIR/doc.py"
}

@test "format example matches nn-dump" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    run "$PY" "$REPO/tests/format_example.py" "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 12 ]
    [ "${lines[0]%% *}" = cyan/000.png ]
    nn-dump --data "$BATS_TEST_TMPDIR/in" | jq -r -s '
        .[0].classes as $classes | .[] | select(.type == "sample") |
        "\(.id) \($classes[.label]) \(.shape | map(tostring) | join("x")) \(.data | add)"' \
        >"$BATS_TEST_TMPDIR/expected"
    [ "$output" = "$(cat "$BATS_TEST_TMPDIR/expected")" ]
}

@test "format example reads resized gray" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    nn-resize -q -g 5x2 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/gray"
    run "$PY" "$REPO/tests/format_example.py" "$BATS_TEST_TMPDIR/gray"
    [ "$status" -eq 0 ]
    [ "$(cut -d ' ' -f 3 <<<"$output" | sort -u)" = 2x5x1 ]
    nn-dump --data "$BATS_TEST_TMPDIR/gray" |
        jq -r 'select(.type == "sample") | .data | add' >"$BATS_TEST_TMPDIR/sums"
    [ "$(cut -d ' ' -f 4 <<<"$output")" = "$(cat "$BATS_TEST_TMPDIR/sums")" ]
}

@test "format example rejects headless stream" {
    pack '[sample("x", 0, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/in"
    run --separate-stderr "$PY" "$REPO/tests/format_example.py" "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 1 ]
    [ "$stderr" = "not an nnpipe version 1 stream" ]
}
