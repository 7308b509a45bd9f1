#!/usr/bin/env bats
# nn-batch: batch sizes around epoch markers, pixel scaling to [0,1],
# labels and sample order, and the errors on bad input.

load helpers

setup() {
    # Ten 1x3 gray samples; sample i holds the pixels i, 51 and 255 - i.
    pack '[header()] + [sample("s%d" % i, i % 2, [1, 3, 1], [i, 51, 255 - i])
                        for i in range(10)]' >"$BATS_TEST_TMPDIR/ten"
}

@test "nn-batch splits epochs into batches" {
    nn-shuffle -q -e 2 "$BATS_TEST_TMPDIR/ten" >"$BATS_TEST_TMPDIR/epochs"
    run --separate-stderr bash -c 'nn-batch 4 "$1" | nn-dump |
        jq -c "if .type == \"batch\" then [.epoch, .index, .shape] else .type end"' \
        _ "$BATS_TEST_TMPDIR/epochs"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = '"header"' ]
    [ "${lines[1]}" = '[0,0,[4,1,3,1]]' ]
    [ "${lines[2]}" = '[0,1,[4,1,3,1]]' ]
    [ "${lines[3]}" = '[0,2,[2,1,3,1]]' ]
    [ "${lines[4]}" = '"epoch"' ]
    [ "${lines[5]}" = '[1,0,[4,1,3,1]]' ]
    [ "${lines[6]}" = '[1,1,[4,1,3,1]]' ]
    [ "${lines[7]}" = '[1,2,[2,1,3,1]]' ]
    [ "${lines[8]}" = '"epoch"' ]
    [ "${#lines[@]}" -eq 9 ]
    [[ "$stderr" == *" nn-batch info: batches=6 size=4 dtype=f32" ]]
}

@test "nn-batch flushes at input end" {
    run bash -c 'nn-batch -q 3 "$1" | nn-dump | jq -c "select(.type == \"batch\") | .labels | length"' \
        _ "$BATS_TEST_TMPDIR/ten"
    [ "$status" -eq 0 ]
    [ "$output" = $'3\n3\n3\n1' ]
}

@test "nn-batch N above sample count" {
    run bash -c 'nn-batch -q 100 "$1" | nn-dump | jq -c "select(.type == \"batch\") | .shape"' \
        _ "$BATS_TEST_TMPDIR/ten"
    [ "$status" -eq 0 ]
    [ "$output" = "[10,1,3,1]" ]
}

@test "nn-batch keeps labels and sample order" {
    nn-shuffle -q --seed 3 "$BATS_TEST_TMPDIR/ten" >"$BATS_TEST_TMPDIR/shuffled"
    local labels pixels
    labels=$(nn-dump "$BATS_TEST_TMPDIR/shuffled" |
        jq -c -s '[.[] | select(.type == "sample") | .label]')
    pixels=$(nn-dump --data "$BATS_TEST_TMPDIR/shuffled" |
        jq -c -s '[.[] | select(.type == "sample") | .data[] / 255]')
    nn-batch -q -t f64 4 "$BATS_TEST_TMPDIR/shuffled" | nn-dump --data >"$BATS_TEST_TMPDIR/batches"
    [ "$(jq -c -s '[.[] | select(.type == "batch") | .labels[]]' "$BATS_TEST_TMPDIR/batches")" = "$labels" ]
    [ "$(jq -c -s '[.[] | select(.type == "batch") | .data[]]' "$BATS_TEST_TMPDIR/batches")" = "$pixels" ]
}

@test "nn-batch scales pixels to f32" {
    pack '[header(), sample("x", 1, [1, 3, 1], [0, 51, 255])]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-batch -q 1 "$1" | nn-dump --data | jq -c "select(.type == \"batch\")"' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$(jq -r .dtype <<<"$output")" = f32 ]
    [ "$(jq -c .labels <<<"$output")" = "[1]" ]
    [ "$(jq '.data[0]' <<<"$output")" = 0 ]
    [ "$(jq '.data[2]' <<<"$output")" = 1 ]
    # 51 / 255 = 0.2, to float precision.
    [ "$(jq '.data[1] - 0.2 | fabs < 1e-7' <<<"$output")" = true ]
    [ "$(jq '.data[1] != 0.2' <<<"$output")" = true ]
    # 4 bytes per value.
    run bash -c 'nn-batch -q 1 "$1" | nn-dump | jq -c "select(.type == \"batch\") | .data.bytes"' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$output" = 12 ]
}

@test "nn-batch --dtype f64 writes doubles" {
    pack '[header(), sample("x", 0, [1, 3, 1], [0, 51, 255])]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-batch -q --dtype f64 1 "$1" | nn-dump --data | jq -c "select(.type == \"batch\") | [.dtype, .data]"' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$output" = '["f64",[0,0.2,1]]' ]
    run bash -c 'nn-batch -q -t f64 1 "$1" | nn-dump | jq -c "select(.type == \"batch\") | .data.bytes"' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$output" = 24 ]
}

@test "nn-batch floats are u8 pixels times scale" {
    # f32 and f64 batches must hold the values nn-train makes of a u8
    # batch, v * scale in double then rounded, so the three dtypes train
    # the same network.  v / 255 would differ in the last bit of 24
    # doubles.
    local t="$BATS_TEST_TMPDIR"
    pack '[header()] + [sample("s", 0, [16, 16, 1], list(range(256)))]' >"$t/in"
    for dtype in u8 f32 f64; do
        nn-batch -q --dtype "$dtype" 1 "$t/in" >"$t/$dtype"
    done
    "$PY" - "$t/u8" "$t/f32" "$t/f64" <<'PYEOF'
import sys
import msgpack
import numpy as np

def batch(path):
    with open(path, "rb") as f:
        return [r for r in msgpack.Unpacker(f, raw=False)
                if r["type"] == "batch"][0]

u8 = batch(sys.argv[1])
pixels = np.frombuffer(u8["data"], np.uint8)
want = pixels * u8["scale"]
f32 = np.frombuffer(batch(sys.argv[2])["data"], np.float32)
f64 = np.frombuffer(batch(sys.argv[3])["data"], np.float64)
assert np.array_equal(f64, want), "f64 differs from u8 * scale"
assert np.array_equal(f32, want.astype(np.float32)), "f32 differs"
assert np.count_nonzero(pixels / 255.0 != want) == 24
PYEOF
}

@test "nn-batch summary of a dataset batch" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-batch -q 12 "$1" | nn-dump | jq -c "select(.type == \"batch\") | .data | [.min >= 0, .max <= 1, .bytes]"' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$output" = "[true,true,$((12 * 3 * 4 * 3 * 4))]" ]
}

@test "nn-batch passes unknown records through" {
    check_pass_through nn-batch -q 2
}

@test "nn-batch --help" {
    check_help nn-batch
}

@test "nn-batch --version" {
    check_version nn-batch
}

@test "nn-batch rejects unknown options" {
    check_unknown_option nn-batch --bogus
    check_unknown_option nn-batch -x
}

@test "nn-batch rejects bad option values" {
    check_usage_error "nn-batch: missing batch size N" nn-batch
    check_usage_error "nn-batch: invalid value '0' for the batch size: expected 1 to 1048576" \
        nn-batch 0
    check_usage_error "nn-batch: invalid value 'four' for the batch size: expected an integer" \
        nn-batch four
    check_usage_error "nn-batch: invalid dtype 'f16': expected f32, f64 or u8" nn-batch -t f16 4
    check_usage_error "nn-batch: invalid dtype 'i8': expected f32, f64 or u8" nn-batch --dtype i8 4
}

@test "nn-batch rejects mixed shapes" {
    pack '[header(), sample("x", 0, [1, 2, 1]), sample("y", 1, [2, 1, 1])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-batch: '$BATS_TEST_TMPDIR/in': record 3: sample 'y' has shape [2,1,1], other samples [1,2,1]: give them one size and channel count first (nn-resize WxH --grayscale)" \
        nn-batch -q 4 "$BATS_TEST_TMPDIR/in"
}

@test "nn-batch rejects shapes across batches" {
    pack '[header(), sample("x", 0, [1, 2, 3]), sample("y", 1, [1, 2, 1])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-batch: '$BATS_TEST_TMPDIR/in': record 3: sample 'y' has shape [1,2,1], other samples [1,2,3]: give them one size and channel count first (nn-resize WxH --grayscale)" \
        nn-batch -q 1 "$BATS_TEST_TMPDIR/in"
}

@test "nn-batch rejects non-u8 pixels" {
    pack '[header(), sample("x", 0, [1, 1, 1], dtype="f64")]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-batch: '$BATS_TEST_TMPDIR/in': record 2: sample 'x': expected u8 pixels, got f64" \
        nn-batch -q 4 "$BATS_TEST_TMPDIR/in"
}

@test "nn-batch rejects truncated stream" {
    head -c -5 "$BATS_TEST_TMPDIR/ten" >"$BATS_TEST_TMPDIR/cut"
    fails_with "$(truncation_error nn-batch "$BATS_TEST_TMPDIR/ten" "'$BATS_TEST_TMPDIR/cut'")" \
        nn-batch -q 4 "$BATS_TEST_TMPDIR/cut"
}

@test "nn-batch rejects stream without header" {
    pack '[{"type": "note"}]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-batch: '$BATS_TEST_TMPDIR/in': record 1: stream does not start with a header record (got 'note')" \
        nn-batch 4 "$BATS_TEST_TMPDIR/in"
}

@test "nn-batch rejects out-of-range label" {
    pack '[header(["a", "b"]), sample("x", 7, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-batch: '$BATS_TEST_TMPDIR/in': record 2: label 7 is outside the 2 classes" \
        nn-batch -q 4 "$BATS_TEST_TMPDIR/in"
}

@test "nn-batch rejects 2-dim sample" {
    pack '[header(), sample("x", 0, [2, 2])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-batch: '$BATS_TEST_TMPDIR/in': record 2: sample: expected shape [height, width, channels], got 2 dims" \
        nn-batch -q 4 "$BATS_TEST_TMPDIR/in"
}

@test "nn-batch rejects 2^40-element shape" {
    pack '[header(), sample("x", 1, [1048576, 1048576, 1], [0, 0])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-batch: '$BATS_TEST_TMPDIR/in': record 2: sample: shape has more than 2147483648 elements" \
        nn-batch -q 4 "$BATS_TEST_TMPDIR/in"
}

@test "nn-batch rejects bin over record limit" {
    pack '[header(), b"\x82\xa4type\xa6sample\xa4data\xc6\xff\xff\xff\xffabc"]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-batch: '$BATS_TEST_TMPDIR/in': record 2: record larger than the limit of 2147483648 bytes or 16777216 values" \
        nn-batch -q 4 "$BATS_TEST_TMPDIR/in"
}

@test "nn-batch exits quietly on closed pipe" {
    big_stream "$BATS_TEST_TMPDIR/big"
    check_closed_pipe nn-batch -q 2 "$BATS_TEST_TMPDIR/big"
}

@test "nn-batch reports a full disk" {
    check_disk_full nn-batch -q 4 "$BATS_TEST_TMPDIR/ten"
}
