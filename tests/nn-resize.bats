#!/usr/bin/env bats
# nn-resize: output shapes and pixel values of shrinking, enlarging and
# grayscale conversion, WxH parsing, and the errors on bad records.

load helpers

# resized SIZE EXPR [OPTION]: the data of the one sample in the stream
# EXPR after nn-resize, as a JSON array.
resized() {
    pack "$2" | nn-resize -q ${3:+"$3"} "$1" | nn-dump --data |
        jq -c 'select(.type == "sample") | .data'
}

@test "nn-resize sets every sample's shape" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    run --separate-stderr bash -c 'nn-resize 7x5 "$1" | nn-dump' _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 13 ]
    [ "$(jq -c 'select(.type == "sample") | .shape' <<<"$output" | sort -u)" = "[5,7,3]" ]
    [ "$(jq -c 'select(.type == "sample") | .data.bytes' <<<"$output" | sort -u)" = 105 ]
}

@test "nn-resize keeps ids and labels" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    nn-dump "$BATS_TEST_TMPDIR/in" | jq -c '[.type, .id, .label, .classes]' \
        >"$BATS_TEST_TMPDIR/before"
    nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in" | nn-dump |
        jq -c '[.type, .id, .label, .classes]' >"$BATS_TEST_TMPDIR/after"
    cmp "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "nn-resize shrinks by area averaging" {
    # 3 -> 2 pixels: each output pixel covers 1.5 input pixels.
    [ "$(resized 2x1 '[header(), sample("x", 0, [1, 3, 1], [0, 90, 180])]')" = "[30,150]" ]
    # 2x2 -> 1x1 is the mean of each channel.
    [ "$(resized 1x1 '[header(), sample("x", 0, [2, 2, 3],
        [10, 1, 2, 20, 3, 4, 30, 5, 6, 40, 7, 8])]')" = "[25,4,5]" ]
}

@test "nn-resize enlarges by bilinear interpolation" {
    [ "$(resized 4x1 '[header(), sample("x", 0, [1, 2, 1], [0, 100])]')" = "[0,25,75,100]" ]
    [ "$(resized 1x3 '[header(), sample("x", 0, [2, 1, 1], [0, 120])]')" = "[0,60,120]" ]
}

@test "nn-resize to same size copies" {
    [ "$(resized 3x2 '[header(), sample("x", 0, [2, 3, 1], [1, 2, 3, 4, 5, 6])]')" = "[1,2,3,4,5,6]" ]
}

@test "nn-resize accepts W,H" {
    pack '[header(), sample("x", 0, [4, 4, 3])]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-resize -q 3,2 "$1" | nn-dump |
        jq -c "select(.type == \"sample\") | .shape"' _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$output" = "[2,3,3]" ]
}

@test "nn-resize --grayscale gives one luma channel" {
    # 0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2
    [ "$(resized 2x1 '[header(), sample("x", 0, [1, 2, 3],
        [200, 100, 50, 255, 255, 255])]' --grayscale)" = "[124,255]" ]
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-resize -q -g 2x2 "$1" | nn-dump |
        jq -c "select(.type == \"sample\") | .shape" | sort -u' _ "$BATS_TEST_TMPDIR/in"
    [ "$output" = "[2,2,1]" ]
}

@test "nn-resize --grayscale keeps gray samples" {
    [ "$(resized 2x1 '[header(), sample("x", 0, [1, 2, 1], [7, 9])]' -g)" = "[7,9]" ]
}

@test "nn-resize joins several files" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-resize -q 1x1 "$1" "$1" | nn-dump | jq -r .type | sort | uniq -c' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$(awk '{ print $1, $2 }' <<<"$output")" = $'1 header\n24 sample' ]
}

@test "nn-resize passes unknown records through" {
    check_pass_through nn-resize -q 1x1
}

@test "nn-resize --help" {
    check_help nn-resize
}

@test "nn-resize --version" {
    check_version nn-resize
}

@test "nn-resize rejects unknown options" {
    check_unknown_option nn-resize --bogus
    check_unknown_option nn-resize -x
}

@test "nn-resize rejects bad sizes" {
    check_usage_error "nn-resize: missing target size WxH" nn-resize
    for size in 0x3 3x0 3 x3 3x 3x4x 3x-2 65536x1 1x65536 axb; do
        check_usage_error "nn-resize: invalid size '$size' for WxH: expected WxH, each 1 to 65535" \
            nn-resize "$size"
    done
}

@test "nn-resize accepts the largest size" {
    pack '[header(), sample("x", 0, [1, 1, 1], [5])]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-resize -q 65535x1 "$1" | nn-dump' _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$(jq -c 'select(.type == "sample") | [.shape, .data.min, .data.max]' <<<"$output")" = "[[1,65535,1],5,5]" ]
}

@test "nn-resize rejects truncated stream" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    head -c -5 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/cut"
    fails_with "$(truncation_error nn-resize "$BATS_TEST_TMPDIR/in" "'$BATS_TEST_TMPDIR/cut'")" \
        nn-resize -q 2x2 "$BATS_TEST_TMPDIR/cut"
}

@test "nn-resize names standard input in errors" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    fails_with "$(truncation_error nn-resize "$BATS_TEST_TMPDIR/in" "standard input")" \
        bash -c 'head -c -5 "$1" | nn-resize -q 2x2 >/dev/null' _ "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects stream without header" {
    pack '[epoch(0)]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 1: stream does not start with a header record (got 'epoch')" \
        nn-resize 2x2 "$BATS_TEST_TMPDIR/in"
    [ -z "$output" ]
}

@test "nn-resize rejects empty stream" {
    : >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': empty stream: no header record" \
        nn-resize 2x2 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects out-of-range label" {
    pack '[header(["a", "b"]), sample("x", 2, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 2: label 2 is outside the 2 classes" \
        nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects shape-data mismatch" {
    pack '[header(), sample("x", 1, [1, 2, 1], [1, 2, 3])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 2: sample: shape needs 2 bytes of u8, data has 3" \
        nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects 2^40-element shape" {
    pack '[header(), sample("x", 1, [1048576, 1048576, 1], [1, 2, 3])]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 2: sample: shape has more than 2147483648 elements" \
        nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects bin over record limit" {
    # bin32 of 0xfffffff0 bytes, with three bytes behind it.
    pack '[header(), b"\x82\xa4type\xa6sample\xa4data\xc6\xff\xff\xff\xf0abc"]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 2: record larger than the limit of 2147483648 bytes or 16777216 values" \
        nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects bin past stream end" {
    # bin32 of 1 GiB, under the limit, but the stream ends 3 bytes in.
    pack '[header(), b"\x82\xa4type\xa6sample\xa4data\xc6\x40\x00\x00\x00abc"]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 2: truncated record: the stream ends inside it after 26 bytes" \
        nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects non-u8 pixels" {
    pack '[header(), sample("x", 0, [1, 1, 1], dtype="f32")]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 2: sample 'x': expected u8 pixels, got f32" \
        nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects 4 channels" {
    pack '[header(), sample("x", 0, [1, 1, 4])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 2: sample 'x': expected 1 or 3 channels, got 4" \
        nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize rejects missing file" {
    fails_with "nn-resize: cannot open '$BATS_TEST_TMPDIR/none': No such file or directory" \
        nn-resize 2x2 "$BATS_TEST_TMPDIR/none"
}

@test "nn-resize exits quietly on closed pipe" {
    big_stream "$BATS_TEST_TMPDIR/in"
    check_closed_pipe nn-resize -q 100x100 "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize reports a full disk" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    check_disk_full nn-resize -q 2x2 "$BATS_TEST_TMPDIR/in"
}
