#!/usr/bin/env bats
# nn-shuffle: epochs as seeded permutations of the cached samples, each
# closed by an epoch marker, and the errors on bad input.

load helpers

setup() {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
}

# epochs: read nn-dump lines on stdin and print one JSON object per
# epoch marker: {"epoch": N, "ids": [the sample ids before it]}.
epochs() {
    jq -s -c '
        foreach .[] as $r ({ids: [], out: null};
            if $r.type == "epoch" then {ids: [], out: {epoch: $r.epoch, ids: .ids}}
            elif $r.type == "sample" then {ids: (.ids + [$r.id]), out: null}
            else {ids: .ids, out: null} end;
            .out // empty)'
}

@test "nn-shuffle writes one pass per epoch" {
    run --separate-stderr bash -c 'nn-shuffle --epochs 3 --seed 5 "$1" | nn-dump' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    local all passes header_hex sample_bytes
    all=$(nn-dump "$BATS_TEST_TMPDIR/in" |
        jq -c -s '[.[] | select(.type == "sample") | .id] | sort')
    passes=$(epochs <<<"$output")
    [ "$(wc -l <<<"$passes")" -eq 3 ]
    [ "$(jq -c .epoch <<<"$passes" | tr '\n' ' ')" = "0 1 2 " ]
    # Every pass is a permutation of the input's 12 samples.
    for i in 1 2 3; do
        [ "$(sed -n "${i}p" <<<"$passes" | jq -c '.ids | sort')" = "$all" ]
    done
    # The stream ends with the last marker, and starts with the header.
    [ "$(jq -r .type <<<"${lines[-1]}")" = epoch ]
    [ "$(jq -r .type <<<"${lines[0]}")" = header ]
    [ "${#lines[@]}" -eq $((1 + 3 * 13)) ]
    # The cache holds the sample records: the input less its header.
    header_hex=$(record_hex "$BATS_TEST_TMPDIR/in" | head -n 1)
    sample_bytes=$(($(stat -c %s "$BATS_TEST_TMPDIR/in") - ${#header_hex} / 2))
    [[ "$stderr" == *" nn-shuffle info: cached=12 bytes=$sample_bytes epochs=3 seed=5" ]]
}

@test "nn-shuffle reorders every epoch" {
    run bash -c 'nn-shuffle -q -e 3 -s 5 "$1" | nn-dump' _ "$BATS_TEST_TMPDIR/in"
    local passes
    passes=$(epochs <<<"$output")
    # Two passes over 12 samples agree by chance with odds 1 in 12!.
    [ "$(sed -n 1p <<<"$passes" | jq -c .ids)" != "$(sed -n 2p <<<"$passes" | jq -c .ids)" ]
    [ "$(sed -n 2p <<<"$passes" | jq -c .ids)" != "$(sed -n 3p <<<"$passes" | jq -c .ids)" ]
    # Nor is the first pass the input order.
    [ "$(sed -n 1p <<<"$passes" | jq -c .ids)" != "$(sed -n 1p <<<"$passes" | jq -c '.ids | sort')" ]
}

@test "nn-shuffle repeats per seed" {
    nn-shuffle -q -e 2 --seed 11 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/one"
    nn-shuffle -q -e 2 --seed 11 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/two"
    cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}

@test "nn-shuffle order differs across seeds" {
    nn-shuffle -q --seed 1 "$BATS_TEST_TMPDIR/in" | nn-dump >"$BATS_TEST_TMPDIR/one"
    nn-shuffle -q --seed 2 "$BATS_TEST_TMPDIR/in" | nn-dump >"$BATS_TEST_TMPDIR/two"
    # Odds of the same order: 1 in 12!.
    [ "$(epochs <"$BATS_TEST_TMPDIR/one")" != "$(epochs <"$BATS_TEST_TMPDIR/two")" ]
}

@test "nn-shuffle defaults" {
    nn-shuffle -q "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/default"
    nn-shuffle -q -e 1 -s 0 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/explicit"
    cmp "$BATS_TEST_TMPDIR/default" "$BATS_TEST_TMPDIR/explicit"
    [ "$(nn-dump "$BATS_TEST_TMPDIR/default" | jq -c 'select(.type == "epoch")')" = '{"type":"epoch","epoch":0}' ]
}

@test "nn-shuffle copies sample records unchanged" {
    nn-shuffle -q -e 2 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
    record_hex "$BATS_TEST_TMPDIR/in" | sed 1d >"$BATS_TEST_TMPDIR/samples"
    cat "$BATS_TEST_TMPDIR/samples" "$BATS_TEST_TMPDIR/samples" | sort >"$BATS_TEST_TMPDIR/expected"
    record_hex "$BATS_TEST_TMPDIR/out" | grep -Fx -f "$BATS_TEST_TMPDIR/samples" |
        sort >"$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
}

@test "nn-shuffle drops input epoch markers" {
    pack '[header(), sample("x", 0, [1, 1, 1]), epoch(0),
           sample("y", 1, [1, 1, 1]), epoch(1)]' >"$BATS_TEST_TMPDIR/marked"
    run bash -c 'nn-shuffle -q -e 2 "$1" | nn-dump | jq -r "[.type, .id // .epoch] | join(\" \")"' \
        _ "$BATS_TEST_TMPDIR/marked"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^epoch' <<<"$output")" -eq 2 ]
    [ "$(grep -c '^sample' <<<"$output")" -eq 4 ]
    [ "${lines[3]}" = "epoch 0" ]
    [ "${lines[6]}" = "epoch 1" ]
}

@test "nn-shuffle without samples" {
    pack '[header()]' >"$BATS_TEST_TMPDIR/empty"
    run bash -c 'nn-shuffle -q -e 2 "$1" | nn-dump | jq -r .type' _ "$BATS_TEST_TMPDIR/empty"
    [ "$status" -eq 0 ]
    [ "$output" = $'header\nepoch\nepoch' ]
}

@test "nn-shuffle passes unknown records through" {
    check_pass_through nn-shuffle -q
}

@test "nn-shuffle --help" {
    check_help nn-shuffle
    [[ "$output" == *"--max-memory"* ]]
}

@test "nn-shuffle --version" {
    check_version nn-shuffle
}

@test "nn-shuffle rejects unknown options" {
    check_unknown_option nn-shuffle --bogus
    check_unknown_option nn-shuffle -x
}

@test "nn-shuffle rejects bad option values" {
    check_usage_error "nn-shuffle: invalid value '0' for --epochs: expected 1 to 1000000" \
        nn-shuffle --epochs 0
    check_usage_error "nn-shuffle: invalid value 'x' for --seed: expected an integer" \
        nn-shuffle --seed x
    check_usage_error "nn-shuffle: invalid value '0' for --max-memory: expected 1 to 16777216" \
        nn-shuffle --max-memory 0
    check_usage_error "nn-shuffle: option '--max-memory' requires a value" \
        nn-shuffle --max-memory
    check_usage_error "nn-shuffle: option '-e' requires a value" nn-shuffle -e
}

@test "nn-shuffle names --seed missing value" {
    check_usage_error "nn-shuffle: option '--seed' requires a value" nn-shuffle --seed
}

@test "nn-shuffle fails past --max-memory" {
    pack '[header()] + [sample("s%d" % i, 0, [1, 1, 600000]) for i in range(2)]' \
        >"$BATS_TEST_TMPDIR/large"
    fails_with "nn-shuffle: the cached samples need more than --max-memory=1 MiB" \
        nn-shuffle -q --max-memory 1 "$BATS_TEST_TMPDIR/large"
}

@test "nn-shuffle rejects truncated stream" {
    head -c -5 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/cut"
    fails_with "$(truncation_error nn-shuffle "$BATS_TEST_TMPDIR/in" "'$BATS_TEST_TMPDIR/cut'")" \
        nn-shuffle -q "$BATS_TEST_TMPDIR/cut"
}

@test "nn-shuffle rejects stream without header" {
    pack '[sample("x", 0, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/bad"
    fails_with "nn-shuffle: '$BATS_TEST_TMPDIR/bad': record 1: stream does not start with a header record (got 'sample')" \
        nn-shuffle "$BATS_TEST_TMPDIR/bad"
}

@test "nn-shuffle rejects out-of-range label" {
    pack '[header(["a", "b", "c"]), sample("x", 3, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/bad"
    fails_with "nn-shuffle: '$BATS_TEST_TMPDIR/bad': record 2: label 3 is outside the 3 classes" \
        nn-shuffle -q "$BATS_TEST_TMPDIR/bad"
}

@test "nn-shuffle rejects negative label" {
    pack '[header(), sample("x", -1, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/bad"
    fails_with "nn-shuffle: '$BATS_TEST_TMPDIR/bad': record 2: label -1 is outside the 2 classes" \
        nn-shuffle -q "$BATS_TEST_TMPDIR/bad"
}

@test "nn-shuffle rejects shape-data mismatch" {
    pack '[header(), sample("x", 0, [2, 2, 3], bytes(11))]' >"$BATS_TEST_TMPDIR/bad"
    fails_with "nn-shuffle: '$BATS_TEST_TMPDIR/bad': record 2: sample: shape needs 12 bytes of u8, data has 11" \
        nn-shuffle -q "$BATS_TEST_TMPDIR/bad"
}

@test "nn-shuffle rejects 2^40-element shape" {
    pack '[header(), sample("x", 1, [1048576, 1048576, 1], [0])]' >"$BATS_TEST_TMPDIR/bad"
    fails_with "nn-shuffle: '$BATS_TEST_TMPDIR/bad': record 2: sample: shape has more than 2147483648 elements" \
        nn-shuffle -q "$BATS_TEST_TMPDIR/bad"
}

@test "nn-shuffle rejects bin past stream end" {
    pack '[header(), b"\x82\xa4type\xa6sample\xa4data\xc6\x7f\xff\xff\x00abc"]' \
        >"$BATS_TEST_TMPDIR/bad"
    fails_with "nn-shuffle: '$BATS_TEST_TMPDIR/bad': record 2: truncated record: the stream ends inside it after 26 bytes" \
        nn-shuffle -q "$BATS_TEST_TMPDIR/bad"
}

@test "nn-shuffle exits quietly on closed pipe" {
    big_stream "$BATS_TEST_TMPDIR/big"
    check_closed_pipe nn-shuffle -q "$BATS_TEST_TMPDIR/big"
}

@test "nn-shuffle reports a full disk" {
    check_disk_full nn-shuffle -q "$BATS_TEST_TMPDIR/in"
}
