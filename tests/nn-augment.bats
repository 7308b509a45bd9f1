#!/usr/bin/env bats
# nn-augment: clones and their ids, exact and random rotation, noise,
# byte-identical pass-through at 0, reproducibility by seed, golden
# images, errors, and constant memory of the stages after nn-shuffle.

load helpers

GOLDEN="$REPO/tests/data/golden"

# A 3x3 RGB image whose pixel p (row-major) is (10p, 10p+1, 10p+2).
RGB3='sample("a", 0, [3, 3, 3], [10 * p + c for p in range(9) for c in range(3)])'

# pixels P...: the RGB values of those pixels of RGB3, as a JSON array.
pixels() {
    local out="" p
    for p in "$@"; do
        out+="$((10 * p)),$((10 * p + 1)),$((10 * p + 2)),"
    done
    echo "[${out%,}]"
}

# augmented EXPR OPTION...: the data of every sample nn-augment writes
# for the stream EXPR, one JSON array a line.
augmented() {
    local expr="$1"
    shift
    pack "$expr" | nn-augment -q "$@" | nn-dump --data |
        jq -c 'select(.type == "sample") | .data'
}

setup_file() {
    # 1,000 distinct 16x16 RGB samples replayed over 2 and over 20
    # epochs: 2,000 and 20,000 sample records with epoch markers.
    local samples='[sample("s%d" % i, i % 2, [16, 16, 3],
                           bytes((i + 3 * j) % 256 for j in range(768)))
                    for i in range(1000)]'
    pack "(lambda s: [header()] + [r for e in range(2) for r in s + [epoch(e)]])($samples)" \
        >"$BATS_FILE_TMPDIR/small.nn"
    pack "(lambda s: [header()] + [r for e in range(20) for r in s + [epoch(e)]])($samples)" \
        >"$BATS_FILE_TMPDIR/big.nn"
}

@test "nn-augment without options passes bytes through" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    nn-augment -q <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
    cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
}

@test "nn-augment --rotate 0 passes bytes through" {
    cp "$BATS_FILE_TMPDIR/small.nn" "$BATS_TEST_TMPDIR/in"
    nn-augment -q --rotate 0 --seed 5 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
    cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
}

@test "nn-augment --noise 0 passes bytes through" {
    cp "$BATS_FILE_TMPDIR/small.nn" "$BATS_TEST_TMPDIR/in"
    nn-augment -q --noise 0 --seed 5 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
    cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
}

@test "nn-augment --rotate 0 draws no numbers" {
    # The noise after a zero --rotate is the noise without it.
    pack "[header(), $RGB3, $RGB3]" >"$BATS_TEST_TMPDIR/in"
    nn-augment -q --noise 0.1 --seed 4 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/a"
    nn-augment -q --rotate 0 --noise 0.1 --seed 4 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/b"
    cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
}

@test "nn-augment --rotate-exact 90 permutes the pixels clockwise" {
    [ "$(augmented "[header(), $RGB3]" --rotate-exact 90)" = "$(pixels 6 3 0 7 4 1 8 5 2)" ]
}

@test "nn-augment --rotate-exact -90 and 270 turn counter-clockwise" {
    [ "$(augmented "[header(), $RGB3]" --rotate-exact -90)" = "$(pixels 2 5 8 1 4 7 0 3 6)" ]
    [ "$(augmented "[header(), $RGB3]" --rotate-exact 270)" = "$(pixels 2 5 8 1 4 7 0 3 6)" ]
}

@test "nn-augment --rotate-exact 180 reverses the pixels" {
    [ "$(augmented "[header(), $RGB3]" --rotate-exact 180)" = "$(pixels 8 7 6 5 4 3 2 1 0)" ]
}

@test "nn-augment rotation keeps the size and crops the centre" {
    # 3 wide, 2 high, turned: rows {4 1} {5 2} {6 3} of which the centre
    # 3x2 window leaves the left column uncovered.
    local wide='[header(), sample("w", 0, [2, 3, 1], [1, 2, 3, 4, 5, 6])]'
    pack "$wide" >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-augment -q --rotate-exact 90 "$1" | nn-dump |
        jq -c "select(.type == \"sample\") | .shape"' _ "$BATS_TEST_TMPDIR/in"
    [ "$output" = "[2,3,1]" ]
    # Uncovered pixels take the top-left pixel by default.
    [ "$(augmented "$wide" --rotate-exact 90)" = "[1,4,1,1,5,2]" ]
}

@test "nn-augment --fill sets the uncovered colour" {
    local wide='[header(), sample("w", 0, [2, 3, 1], [1, 2, 3, 4, 5, 6])]'
    local rgb='[header(), sample("w", 0, [2, 3, 3], list(range(1, 19)))]'
    [ "$(augmented "$wide" --rotate-exact 90 --fill 0)" = "[0,4,1,0,5,2]" ]
    # An RGB fill on a gray image gives its luma: 124.2 for 200,100,50.
    [ "$(augmented "$wide" --rotate-exact 90 --fill 200,100,50)" = "[124,4,1,124,5,2]" ]
    # A gray fill on an RGB image fills every channel.
    [ "$(augmented "$rgb" --rotate-exact 90 --fill 9 | jq -c '.[0:3]')" = "[9,9,9]" ]
    [ "$(augmented "$rgb" --rotate-exact 90 --fill 7,8,9 | jq -c '.[0:3]')" = "[7,8,9]" ]
}

@test "nn-augment --rotate-exact takes fractions of a degree" {
    # A 5x5 with one bright pixel off the centre moves a little at 5.5.
    local dot='[header(), sample("d", 0, [5, 5, 1], [0] * 7 + [255] + [0] * 17)]'
    local none half
    none=$(augmented "$dot" --rotate-exact 0)
    half=$(augmented "$dot" --rotate-exact 5.5)
    [ "$none" != "$half" ]
    [ "$half" != "$(augmented "$dot" --rotate-exact 5)" ]
}

@test "nn-augment --rotate draws angles between -A and A" {
    # Turns of up to 2 degrees move a 4x4's corner pixel by less than a
    # tenth of a pixel, so it keeps over 230 of its 250; turns of 20
    # degrees would take it below 110, and 45 degrees to the fill.
    pack '[header()] + [sample("c%d" % i, 0, [4, 4, 1], [250] + [10] * 15)
                        for i in range(50)]' >"$BATS_TEST_TMPDIR/in"
    nn-augment -q --rotate 2 --seed 9 --fill 0 "$BATS_TEST_TMPDIR/in" |
        nn-dump --data | jq 'select(.type == "sample") | .data[0]' |
        sort -n >"$BATS_TEST_TMPDIR/corners"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/corners")" -eq 50 ]
    [ "$(head -n 1 "$BATS_TEST_TMPDIR/corners")" -gt 230 ]
    # The angles differ from sample to sample.
    [ "$(sort -u "$BATS_TEST_TMPDIR/corners" | wc -l)" -gt 5 ]
}

@test "nn-augment --noise has the requested standard deviation" {
    # 4,096 draws of standard deviation 0.1 * 255 = 25.5 around 128: the
    # sample mean is within 1.5 (3.7 sigma) and the sample standard
    # deviation within 1.5 (over 5 sigma) of the true values.
    pack '[header(), sample("f", 0, [64, 64, 1], [128] * 4096)]' >"$BATS_TEST_TMPDIR/in"
    nn-augment -q --noise 0.1 --seed 2 "$BATS_TEST_TMPDIR/in" | nn-dump --data |
        jq -r 'select(.type == "sample") | .data | (add / length) as $m |
               [$m, (map((. - $m) * (. - $m)) | add / length | sqrt)] |
               map(. * 100 | round) | @tsv' >"$BATS_TEST_TMPDIR/stats"
    read -r mean std <"$BATS_TEST_TMPDIR/stats"
    [ "$mean" -ge 12650 ]
    [ "$mean" -le 12950 ]
    [ "$std" -ge 2400 ]
    [ "$std" -le 2700 ]
}

@test "nn-augment --noise clamps to 0..255" {
    pack '[header(), sample("e", 0, [1, 2, 1], [0, 255])]' >"$BATS_TEST_TMPDIR/in"
    nn-augment -q --noise 1 --clones 200 --seed 3 "$BATS_TEST_TMPDIR/in" |
        nn-dump --data | jq 'select(.type == "sample") | .data[]' |
        sort -n >"$BATS_TEST_TMPDIR/values"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/values")" -eq 400 ]
    [ "$(head -n 1 "$BATS_TEST_TMPDIR/values")" -eq 0 ]
    [ "$(tail -n 1 "$BATS_TEST_TMPDIR/values")" -eq 255 ]
}

@test "nn-augment --clones writes each sample K times with suffixed ids" {
    pack '[header(), sample("a", 0, [1, 1, 1], [5]), sample("b/x.png", 1, [1, 1, 1], [6])]' \
        >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-augment -q --clones 3 "$1" | nn-dump --data |
        jq -r "select(.type == \"sample\") | \"\(.id) \(.label) \(.data)\""' \
        _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 6 ]
    [ "${lines[0]}" = "a#0 0 [5]" ]
    [ "${lines[1]}" = "a#1 0 [5]" ]
    [ "${lines[2]}" = "a#2 0 [5]" ]
    [ "${lines[3]}" = "b/x.png#0 1 [6]" ]
    [ "${lines[5]}" = "b/x.png#2 1 [6]" ]
}

@test "nn-augment --clones 1 keeps the ids" {
    pack '[header(), sample("a", 0, [1, 1, 1], [5])]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-augment -q --clones 1 --noise 0.2 "$1" | nn-dump |
        jq -r "select(.type == \"sample\") | .id"' _ "$BATS_TEST_TMPDIR/in"
    [ "$output" = a ]
}

@test "nn-augment augments every clone on its own" {
    run augmented "[header(), $RGB3]" --clones 2 --rotate 30 --noise 0.05
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" != "${lines[1]}" ]
}

@test "nn-augment draws anew in every epoch" {
    run augmented "[header(), $RGB3, epoch(0), $RGB3, epoch(1)]" --rotate 30 --noise 0.05
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" != "${lines[1]}" ]
}

@test "nn-augment passes headers and epoch markers through" {
    pack "[header(), $RGB3, epoch(0), $RGB3, epoch(1)]" >"$BATS_TEST_TMPDIR/in"
    nn-augment -q -c 2 -r 10 -n 0.1 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
    record_hex "$BATS_TEST_TMPDIR/in" | sed -n '1p;3p;5p' >"$BATS_TEST_TMPDIR/want"
    record_hex "$BATS_TEST_TMPDIR/out" | sed -n '1p;4p;7p' >"$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "nn-augment passes unknown records through" {
    check_pass_through nn-augment -q --rotate 10 --noise 0.1 --clones 2
}

@test "nn-augment gives the same bytes for the same seed" {
    local opts
    for opts in "--rotate 25" "--noise 0.1" "--clones 3 --rotate 10 --noise 0.05"; do
        # shellcheck disable=SC2086
        nn-augment -q $opts --seed 11 "$BATS_FILE_TMPDIR/small.nn" >"$BATS_TEST_TMPDIR/a"
        # shellcheck disable=SC2086
        nn-augment -q $opts --seed 11 "$BATS_FILE_TMPDIR/small.nn" >"$BATS_TEST_TMPDIR/b"
        cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
    done
}

@test "nn-augment gives other bytes for another seed" {
    local opts
    for opts in "--rotate 25" "--noise 0.1" "--clones 3 --rotate 10 --noise 0.05"; do
        # shellcheck disable=SC2086
        nn-augment -q $opts --seed 11 "$BATS_FILE_TMPDIR/small.nn" >"$BATS_TEST_TMPDIR/a"
        # shellcheck disable=SC2086
        nn-augment -q $opts --seed 12 "$BATS_FILE_TMPDIR/small.nn" >"$BATS_TEST_TMPDIR/b"
        run cmp -s "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
        [ "$status" -eq 1 ]
    done
}

@test "nn-augment draws the angle before the noise" {
    # An exact rotation draws nothing, so it commutes with the noise
    # stage's draws; the whole output matches the two steps in turn.
    pack "[header(), $RGB3, $RGB3]" >"$BATS_TEST_TMPDIR/in"
    nn-augment -q --rotate-exact 90 --noise 0.1 --seed 6 "$BATS_TEST_TMPDIR/in" \
        >"$BATS_TEST_TMPDIR/a"
    nn-augment -q --rotate-exact 90 "$BATS_TEST_TMPDIR/in" |
        nn-augment -q --noise 0.1 --seed 6 >"$BATS_TEST_TMPDIR/b"
    cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
}

@test "nn-augment logs its settings and counts" {
    pack "[header(), $RGB3]" >"$BATS_TEST_TMPDIR/in"
    run --separate-stderr nn-augment -c 2 -r 12.5 -n 0.25 -s 8 "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *" nn-augment info: samples=1 written=2 clones=2 rotate=12.5 noise=0.25 seed=8" ]]
}

@test "nn-augment --rotate-exact 30 matches the golden images" {
    matches_golden_image rotate-30 nn-augment -q --rotate-exact=30
}

@test "nn-augment --noise with a seed matches the golden images" {
    matches_golden_image noise nn-augment -q --noise=0.1 --seed=7
}

@test "nn-augment --help" {
    check_help nn-augment
    run nn-augment --help
    [[ "$output" == *"--rotate-exact=A"* ]]
}

@test "nn-augment --version" {
    check_version nn-augment
}

@test "nn-augment rejects unknown options" {
    check_unknown_option nn-augment --bogus
    check_unknown_option nn-augment -x
}

@test "nn-augment rejects bad option values" {
    check_usage_error "nn-augment: invalid value '0' for --clones: expected 1 to 1000000" \
        nn-augment --clones 0
    check_usage_error "nn-augment: invalid value '2.5' for --clones: expected an integer" \
        nn-augment --clones 2.5
    check_usage_error "nn-augment: invalid value '180.5' for --rotate: expected 0 to 180" \
        nn-augment --rotate 180.5
    check_usage_error "nn-augment: invalid value '-1' for --rotate: expected 0 to 180" \
        nn-augment --rotate -1
    check_usage_error "nn-augment: invalid value '400' for --rotate-exact: expected -360 to 360" \
        nn-augment --rotate-exact 400
    check_usage_error "nn-augment: invalid value '1.5' for --noise: expected 0 to 1" \
        nn-augment --noise 1.5
    check_usage_error "nn-augment: invalid value 'lots' for --noise: expected a number" \
        nn-augment --noise lots
    check_usage_error "nn-augment: invalid value '-1' for --seed: expected 0 to 9223372036854775807" \
        nn-augment --seed -1
    check_usage_error "nn-augment: option '--fill' requires a value" \
        nn-augment --fill
}

@test "nn-augment rejects bad fill colours" {
    local fill
    for fill in 256 -1 1,2 1,2,3,4 1,,3 a " 5" 5x ""; do
        check_usage_error "nn-augment: invalid value '$fill' for --fill: expected a gray level or R,G,B, each 0 to 255" \
            nn-augment --fill="$fill"
    done
}

@test "nn-augment rejects --rotate with --rotate-exact" {
    check_usage_error "nn-augment: --rotate and --rotate-exact exclude each other" \
        nn-augment --rotate 10 --rotate-exact 5
}

@test "nn-augment fails on non-u8 pixels" {
    pack '[header(), sample("x", 0, [1, 1, 1], dtype="f32")]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-augment: '$BATS_TEST_TMPDIR/in': record 2: sample 'x': expected u8 pixels, got f32" \
        nn-augment -q --noise 0.1 "$BATS_TEST_TMPDIR/in"
}

@test "nn-augment fails on 4 channels" {
    pack '[header(), sample("x", 0, [1, 1, 4])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-augment: '$BATS_TEST_TMPDIR/in': record 2: sample 'x': expected 1 or 3 channels, got 4" \
        nn-augment -q "$BATS_TEST_TMPDIR/in"
}

@test "nn-augment fails on a truncated stream" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    head -c -5 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/cut"
    fails_with "$(truncation_error nn-augment "$BATS_TEST_TMPDIR/in" "'$BATS_TEST_TMPDIR/cut'")" \
        nn-augment -q -r 5 "$BATS_TEST_TMPDIR/cut"
}

@test "nn-augment stops quietly when the reader closes the pipe" {
    big_stream "$BATS_TEST_TMPDIR/in"
    check_closed_pipe nn-augment -q --noise 0.1 "$BATS_TEST_TMPDIR/in"
}

@test "nn-augment reports a full disk" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    check_disk_full nn-augment -q --rotate 5 "$BATS_TEST_TMPDIR/in"
}

@test "nn-augment runs in constant memory" {
    local small big
    small=$(peak_kb nn-augment -q -c 2 -r 15 -n 0.05 "$BATS_FILE_TMPDIR/small.nn")
    big=$(peak_kb nn-augment -q -c 2 -r 15 -n 0.05 "$BATS_FILE_TMPDIR/big.nn")
    echo "peak RSS: 2,000 samples ${small} KiB, 20,000 samples ${big} KiB"
    [ "$big" -le $((small + 2048)) ]
}

@test "nn-batch runs in constant memory" {
    local small big
    small=$(peak_kb nn-batch -q 100 "$BATS_FILE_TMPDIR/small.nn")
    big=$(peak_kb nn-batch -q 100 "$BATS_FILE_TMPDIR/big.nn")
    echo "peak RSS: 2,000 samples ${small} KiB, 20,000 samples ${big} KiB"
    [ "$big" -le $((small + 2048)) ]
}
