#!/usr/bin/env bats
# nn-resize's preprocessing options: --trim, --adaptive-invert and
# --minmax, their fixed order with resizing and --grayscale, the
# optional size, golden images and constant memory.

load helpers

GOLDEN="$REPO/tests/data/golden"

# preprocessed EXPR OPTION...: the shape and data of every sample of the
# stream EXPR after nn-resize, one JSON array [shape, data] a line.
preprocessed() {
    local expr="$1"
    shift
    pack "$expr" >"$BATS_TEST_TMPDIR/pre.in"
    nn-resize -q "$@" "$BATS_TEST_TMPDIR/pre.in" | nn-dump --data |
        jq -c 'select(.type == "sample") | [.shape, .data]'
}

@test "nn-resize --minmax stretches to 0..255" {
    # (100 - 50) * 255 / 100 = 127.5 rounds up.
    [ "$(preprocessed '[header(), sample("x", 0, [1, 3, 1], [50, 100, 150])]' --minmax)" = "[[1,3,1],[0,128,255]]" ]
}

@test "nn-resize --minmax uses one range for all channels" {
    # 20..220 over all samples: 40 -> 25.5 -> 26.
    [ "$(preprocessed '[header(), sample("x", 0, [1, 2, 3], [20, 40, 60, 30, 50, 220])]' --minmax)" = "[[1,2,3],[0,26,51,13,38,255]]" ]
}

@test "nn-resize --minmax keeps a flat image" {
    [ "$(preprocessed '[header(), sample("x", 0, [1, 3, 1], [7, 7, 7])]' --minmax)" = "[[1,3,1],[7,7,7]]" ]
}

@test "nn-resize --trim cuts the border and keeps the aspect ratio" {
    # 6x4 (3:2) with content in x 2..3, y 1..2: the 2x2 box grows to 3x2.
    [ "$(preprocessed '[header(), sample("x", 0, [4, 6, 1],
        [0, 0, 0, 0, 0, 0,
         0, 0, 9, 0, 0, 0,
         0, 0, 0, 8, 0, 0,
         0, 0, 0, 0, 0, 0])]' --trim)" = "[[2,3,1],[9,0,0,0,8,0]]" ]
}

@test "nn-resize --trim compares every channel with the corner" {
    # Only the blue channel of the centre pixel differs.
    [ "$(preprocessed '[header(), sample("x", 0, [3, 3, 3],
        [10, 20, 30] * 4 + [10, 20, 31] + [10, 20, 30] * 4)]' --trim)" = "[[1,1,3],[10,20,31]]" ]
}

@test "nn-resize --trim keeps an image of one colour" {
    [ "$(preprocessed '[header(), sample("x", 0, [2, 2, 1], [5, 5, 5, 5])]' --trim)" = "[[2,2,1],[5,5,5,5]]" ]
}

@test "nn-resize --adaptive-invert inverts dark backgrounds only" {
    [ "$(preprocessed '[header(), sample("x", 0, [1, 3, 1], [0, 255, 10])]' --adaptive-invert)" = "[[1,3,1],[255,0,245]]" ]
    [ "$(preprocessed '[header(), sample("x", 0, [1, 3, 1], [200, 0, 10])]' --adaptive-invert)" = "[[1,3,1],[200,0,10]]" ]
    # The decision takes the luma of an RGB corner: blue is 29, dark.
    [ "$(preprocessed '[header(), sample("x", 0, [1, 2, 3], [0, 0, 255, 1, 2, 3])]' -i)" = "[[1,2,3],[255,255,0,254,253,252]]" ]
}

@test "nn-resize trims before resizing" {
    # The 2x2 content of a 4x4 fills the whole 2x2 output.  Resizing
    # first would average the border into it.
    [ "$(preprocessed '[header(), sample("x", 0, [4, 4, 1],
        [0, 0, 0, 0,
         0, 10, 20, 0,
         0, 30, 40, 0,
         0, 0, 0, 0])]' --trim 2x2)" = "[[2,2,1],[10,20,30,40]]" ]
}

@test "nn-resize inverts before the min-max stretch" {
    # Inverted, 100 150 200 is 155 105 55, stretched 255 127.5 0, and
    # 127.5 rounds up.  Stretching first would give 255 127 0.
    [ "$(preprocessed '[header(), sample("x", 0, [1, 3, 1], [100, 150, 200])]' --minmax --adaptive-invert)" = "[[1,3,1],[255,128,0]]" ]
}

@test "nn-resize stretches after resizing" {
    # Area averaging 0 100 200 255 to two pixels gives 50 227.5; the
    # stretch then restores 0 and 255.
    [ "$(preprocessed '[header(), sample("x", 0, [1, 4, 1], [0, 100, 200, 255])]' --minmax 2x1)" = "[[1,2,1],[0,255]]" ]
}

@test "nn-resize stretches after the grayscale conversion" {
    # Lumas 124 and 30 become 255 and 0.
    [ "$(preprocessed '[header(), sample("x", 0, [1, 2, 3], [200, 100, 50, 30, 30, 30])]' --grayscale --minmax)" = "[[1,2,1],[255,0]]" ]
}

@test "nn-resize preprocessing options make the size optional" {
    local img='[header(), sample("x", 0, [2, 3, 1], [1, 2, 3, 4, 5, 6])]'
    for opt in --trim --grayscale --adaptive-invert --minmax; do
        [ "$(preprocessed "$img" "$opt" | jq -c '.[0]')" = "[2,3,1]" ]
    done
}

@test "nn-resize takes a size operand with preprocessing options" {
    local img='[header(), sample("x", 0, [2, 3, 1], [1, 2, 3, 4, 5, 6])]'
    [ "$(preprocessed "$img" --minmax 6x4 | jq -c '.[0]')" = "[4,6,1]" ]
    [ "$(preprocessed "$img" --minmax 6,4 | jq -c '.[0]')" = "[4,6,1]" ]
    [ "$(preprocessed "$img" --minmax --size 6x4 | jq -c '.[0]')" = "[4,6,1]" ]
}

@test "nn-resize reads a FILE operand after preprocessing options" {
    pack '[header(), sample("x", 0, [1, 2, 1], [10, 20])]' >"$BATS_TEST_TMPDIR/in"
    run bash -c 'nn-resize -q --minmax "$1" "$1" | nn-dump --data |
        jq -c "select(.type == \"sample\") | .data"' _ "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" = "[0,255]" ]
    [ "${lines[1]}" = "[0,255]" ]
}

@test "nn-resize reads a FILE named like a size as ./WxH" {
    pack '[header(), sample("x", 0, [1, 2, 1], [10, 20])]' >"$BATS_TEST_TMPDIR/3x3"
    cd "$BATS_TEST_TMPDIR"
    run bash -c 'nn-resize -q --minmax ./3x3 | nn-dump |
        jq -c "select(.type == \"sample\") | .shape"'
    [ "$output" = "[1,2,1]" ]
}

@test "nn-resize --keep-size keeps the trimmed size" {
    [ "$(preprocessed '[header(), sample("x", 0, [4, 4, 1],
        [0] * 5 + [10, 20] + [0] * 2 + [30, 40] + [0] * 5)]' --trim --keep-size)" = "[[2,2,1],[10,20,30,40]]" ]
}

@test "nn-resize still needs a size without preprocessing options" {
    check_usage_error "nn-resize: missing target size WxH" nn-resize
    check_usage_error "nn-resize: missing target size WxH" nn-resize -q
}

@test "nn-resize rejects a bad size after preprocessing options" {
    check_usage_error "nn-resize: invalid size '0x3' for WxH: expected WxH, each 1 to 65535" \
        nn-resize --minmax 0x3
    check_usage_error "nn-resize: invalid size '3x0' for --size: expected WxH, each 1 to 65535" \
        nn-resize --trim --size 3x0
    check_usage_error "nn-resize: --size and --keep-size exclude each other" \
        nn-resize --minmax --size 3x3 --keep-size
}

@test "nn-resize logs the preprocessing options" {
    pack '[header(), sample("x", 0, [1, 2, 1], [10, 20])]' >"$BATS_TEST_TMPDIR/in"
    run --separate-stderr nn-resize --trim --minmax "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *" nn-resize info: samples=1 size=0x0 trim=1 grayscale=0 adaptive_invert=0 minmax=1" ]]
}

@test "nn-resize --help lists the fixed order" {
    run nn-resize --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"  1. trim "*"  2. resize to WxH "*"  3. grayscale "*"  4. adaptive-invert "*"  5. minmax "* ]]
    [[ "$output" == *"  -m, --minmax "* ]]
    [[ "$output" == *"  -t, --trim "* ]]
    [[ "$output" == *"  -i, --adaptive-invert "* ]]
}

@test "nn-resize --minmax matches the golden images" {
    matches_golden_image minmax nn-resize -q --minmax
}

@test "nn-resize --trim matches the golden images" {
    matches_golden_image trim nn-resize -q --trim
}

@test "nn-resize --adaptive-invert matches the golden images" {
    matches_golden_image adaptive-invert nn-resize -q --adaptive-invert
}

@test "nn-resize --grayscale matches the golden images" {
    matches_golden_image grayscale nn-resize -q --grayscale
}

@test "nn-resize to 14x10 matches the golden images" {
    matches_golden_image resize nn-resize -q 14x10
}

@test "nn-resize fails on non-u8 pixels with --minmax" {
    pack '[header(), sample("x", 0, [1, 1, 1], dtype="f32")]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-resize: '$BATS_TEST_TMPDIR/in': record 2: sample 'x': expected u8 pixels, got f32" \
        nn-resize -q --minmax "$BATS_TEST_TMPDIR/in"
}

@test "nn-resize preprocessing runs in constant memory" {
    # 1,000 distinct 16x16 RGB samples, read 2 and 20 times.
    local small big
    pack '[header()] + [sample("s%d" % i, i % 2, [16, 16, 3],
                               bytes((i + 3 * j) % 256 for j in range(768)))
                        for i in range(1000)]' >"$BATS_TEST_TMPDIR/in"
    small=$(peak_kb nn-resize -q --trim --minmax -i -g 8x8 \
        "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/in")
    big=$(peak_kb nn-resize -q --trim --minmax -i -g 8x8 \
        $(for i in $(seq 20); do echo "$BATS_TEST_TMPDIR/in"; done))
    echo "peak RSS: 2,000 samples ${small} KiB, 20,000 samples ${big} KiB"
    [ "$big" -le $((small + 2048)) ]
}
