#!/usr/bin/env bats
# nn-dump: records as JSON lines, tensor summaries against the --data
# values, every dtype, and the errors on bad input.

load helpers

@test "nn-dump prints JSON lines" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    run --separate-stderr nn-dump "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 13 ]
    for line in "${lines[@]}"; do
        jq -e 'type == "object"' <<<"$line" >/dev/null
    done
    [ "$(jq -c . <<<"${lines[1]}" | jq -c 'del(.data)')" = '{"type":"sample","id":"cyan/000.png","label":0,"dtype":"u8","shape":[3,4,3]}' ]
    [ -z "$stderr" ]
}

@test "nn-dump summary matches --data" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    nn-dump "$BATS_TEST_TMPDIR/in" | jq -c 'select(.type == "sample") | .data' \
        >"$BATS_TEST_TMPDIR/summary"
    nn-dump --data "$BATS_TEST_TMPDIR/in" | jq -c 'select(.type == "sample") | .data' \
        >"$BATS_TEST_TMPDIR/values"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/summary")" -eq 12 ]
    run jq -n --slurpfile values "$BATS_TEST_TMPDIR/values" \
        --slurpfile summary "$BATS_TEST_TMPDIR/summary" '
        [range($values | length) as $i | $values[$i] as $v | $summary[$i] |
         .bytes == ($v | length), .min == ($v | min), .max == ($v | max),
         ((.mean - ($v | add / length)) | fabs) < 1e-9] | all'
    [ "$status" -eq 0 ]
    [ "$output" = true ]
}

@test "nn-dump tensor summary fields" {
    pack '[header(), sample("x", 0, [1, 4, 1], [3, 1, 4, 2])]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-dump "$1" | tail -n 1 | jq -c .data' _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$output" = '{"bytes":4,"min":1,"max":4,"mean":2.5}' ]
}

@test "nn-dump reads each dtype little-endian" {
    pack '[header(),
           sample("i", 0, [1, 3, 1], __import__("struct").pack("<3i", 258, -7, 2**31 - 1), dtype="i32"),
           sample("f", 0, [1, 2, 1], __import__("struct").pack("<2f", 0.5, -2.25), dtype="f32"),
           sample("d", 0, [1, 2, 1], __import__("struct").pack("<2d", 0.1, -1e300), dtype="f64")]' \
        >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-dump --data "$1" | jq -c "select(.type == \"sample\") | [.dtype, .data]"' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = '["i32",[258,-7,2147483647]]' ]
    [ "${lines[1]}" = '["f32",[0.5,-2.25]]' ]
    [ "${lines[2]}" = '["f64",[0.1,-1e+300]]' ]
}

@test "nn-dump prints non-finite numbers as strings" {
    pack '[header(), sample("x", 0, [1, 3, 1],
           __import__("struct").pack("<3f", float("nan"), float("inf"), -float("inf")),
           dtype="f32")]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-dump --data "$1" | tail -n 1 | jq -c .data' _ "$BATS_TEST_TMPDIR/in"
    [ "$output" = '["NaN","Infinity","-Infinity"]' ]
    run bash -c 'nn-dump "$1" | tail -n 1 | jq -c .data' _ "$BATS_TEST_TMPDIR/in"
    [ "$output" = '{"bytes":12,"min":"-Infinity","max":"Infinity","mean":"NaN"}' ]
}

@test "nn-dump escapes strings for JSON" {
    pack '[header(["q\"uote", "back\\slash", "line\nbreak\ttab\x01"])]' >"$BATS_TEST_TMPDIR/in"
    run nn-dump "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$(jq -c .classes <<<"$output")" = '["q\"uote","back\\slash","line\nbreak\ttab\u0001"]' ]
}

@test "nn-dump prints unknown records" {
    pack '[header(), {"type": "note", "map": {"t": True, "f": False, "n": None},
           "float": 1.5, "neg": -3, "big": 2**64 - 1, "list": [1, "s"],
           "blob": b"\x00\x01\x02"}]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-dump "$1" | tail -n 1' _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$output" = '{"type":"note","map":{"t":true,"f":false,"n":null},"float":1.5,"neg":-3,"big":18446744073709551615,"list":[1,"s"],"blob":{"bytes":3}}' ]
}

@test "nn-dump joins several files" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-dump "$1" - "$1" <"$1" | jq -r .type | sort | uniq -c' _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "$(awk '{ print $1, $2 }' <<<"$output")" = $'1 header\n36 sample' ]
}

@test "nn-dump rejects files with other classes" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    pack '[header(["cyan", "magenta"])]' >"$BATS_TEST_TMPDIR/other"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/other': record 1: header lists other classes than the first input" \
        nn-dump "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/other"
    [ "${#lines[@]}" -eq 13 ]
}

@test "nn-dump --help" {
    check_help nn-dump
}

@test "nn-dump --version" {
    check_version nn-dump
}

@test "nn-dump rejects unknown options" {
    check_unknown_option nn-dump --bogus
    check_unknown_option nn-dump -x
}

@test "nn-dump rejects truncated stream" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    head -c -5 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/cut"
    fails_with "$(truncation_error nn-dump "$BATS_TEST_TMPDIR/in" "'$BATS_TEST_TMPDIR/cut'")" \
        nn-dump "$BATS_TEST_TMPDIR/cut"
    # The records before the cut are printed.
    [ "${#lines[@]}" -eq 12 ]
}

@test "nn-dump names standard input in errors" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    fails_with "$(truncation_error nn-dump "$BATS_TEST_TMPDIR/in" "standard input")" \
        bash -c 'head -c -5 "$1" | nn-dump' _ "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects stream without header" {
    pack '[{"type": "note"}, header()]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 1: stream does not start with a header record (got 'note')" \
        nn-dump "$BATS_TEST_TMPDIR/in"
    [ -z "$output" ]
}

@test "nn-dump rejects other format, version" {
    pack '[{"type": "header", "format": "other", "version": 1, "classes": ["a"]}]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 1: not an nnpipe stream: format is 'other'" \
        nn-dump "$BATS_TEST_TMPDIR/in"
    pack '[{"type": "header", "format": "nnpipe", "version": 2, "classes": ["a"]}]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 1: unsupported format version 2 (this build reads version 1)" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects header without classes" {
    pack '[{"type": "header", "format": "nnpipe", "version": 1, "classes": []}]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 1: header: field 'classes' must be an array of 1 to 65536 names" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects non-map record" {
    pack '[header(), b"\x93\x01\x02\x03"]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: record is not a map" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects record without type" {
    pack '[header(), {"kind": "sample"}]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: record has no string field 'type'" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects invalid MessagePack byte" {
    pack '[header(), b"\xc1"]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: invalid MessagePack byte 0xc1" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects out-of-range label" {
    pack '[header(["a", "b"]), sample("x", 2, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: label 2 is outside the 2 classes" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects shape-data mismatch" {
    pack '[header(), sample("x", 0, [2, 2, 1], [1, 2, 3, 4, 5])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: sample: shape needs 4 bytes of u8, data has 5" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects unknown dtype" {
    pack '[header(), dict(sample("x", 0, [1, 1, 1]), dtype="u16")]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: sample: unknown dtype 'u16'" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects 2^40-element shape" {
    pack '[header(), sample("x", 0, [1048576, 1048576, 1], [1])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: sample: shape has more than 2147483648 elements" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects bin over record limit" {
    pack '[header(), b"\x82\xa4type\xa4note\xa4data\xc6\x80\x00\x00\x00abc"]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: record larger than the limit of 2147483648 bytes or 16777216 values" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects bin past stream end" {
    # 1 GiB is under the record limit, but the stream ends 3 bytes in.
    pack '[header(), b"\x82\xa4type\xa4note\xa4data\xc6\x40\x00\x00\x00abc"]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: truncated record: the stream ends inside it after 24 bytes" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects huge array count" {
    pack '[header(), b"\x82\xa4type\xa4note\xa4list\xdd\xff\xff\xff\xff\x01"]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: container of 4294967295 entries is over the limit of 16777216" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects deep nesting" {
    pack '[header(), b"\x81\xa4type" + b"\x91" * 17 + b"\x01"]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-dump: '$BATS_TEST_TMPDIR/in': record 2: nesting deeper than 16 levels" \
        nn-dump "$BATS_TEST_TMPDIR/in"
}

@test "nn-dump rejects missing file" {
    fails_with "nn-dump: cannot open '$BATS_TEST_TMPDIR/none': No such file or directory" \
        nn-dump "$BATS_TEST_TMPDIR/none"
}

@test "nn-dump exits quietly on closed pipe" {
    big_stream "$BATS_TEST_TMPDIR/big"
    check_closed_pipe nn-dump --data "$BATS_TEST_TMPDIR/big"
}

@test "nn-dump reports a full disk" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    check_disk_full nn-dump "$BATS_TEST_TMPDIR/in"
}
