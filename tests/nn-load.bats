#!/usr/bin/env bats
# nn-load: class folders, the seeded stratified split, PNG decoding and
# the errors for missing or bad dataset files.

load helpers

setup_file() {
    # Classes of 100, 20 and 7 images for the split tests.
    make_dataset "$BATS_FILE_TMPDIR/split" 1x1 a:100 b:20 c:7
}

# ids DIR PARTITION [SEED]: the sample ids of one partition, one a line.
ids() {
    nn-load -q -p "$2" -s "${3:-0}" "$1" | nn-dump |
        jq -r 'select(.type == "sample") | .id'
}

# check_decode KIND W H CHANNELS: one PNG of that kind gives a sample
# of shape [H, W, CHANNELS] with the expected pixels.
check_decode() {
    local dir="$BATS_TEST_TMPDIR/ds"
    mkdir -p "$dir/c"
    make_png "$dir/c/img.png" "$1" "$2" "$3"
    run --separate-stderr bash -c 'nn-load -q "$1" | nn-dump --data' _ "$dir"
    [ "$status" -eq 0 ]
    [ "$(jq -c 'select(.type == "sample") | .shape' <<<"$output")" = "[$3,$2,$4]" ]
    [ "$(jq -c 'select(.type == "sample") | .data' <<<"$output")" = "$(expect_pixels "$1" "$2" "$3")" ]
}

@test "nn-load writes header and samples" {
    local dir="$BATS_TEST_TMPDIR/ds"
    make_dataset "$dir" 3x2 red:2:200,0,0 blue:1:0,0,200
    run --separate-stderr bash -c 'nn-load "$1" | nn-dump' _ "$dir"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 4 ]
    [ "$(jq -c . <<<"${lines[0]}")" = "$(jq -nc --arg d "$dir" \
        '{type: "header", format: "nnpipe", version: 1,
          classes: ["blue", "red"], source: $d, partition: "all"}')" ]
    [ "$(jq -c '[.type, .id, .label, .dtype, .shape]' <<<"${lines[1]}")" = '["sample","blue/000.png",0,"u8",[2,3,3]]' ]
    [ "$(jq -c '[.id, .label]' <<<"${lines[2]}")" = '["red/000.png",1]' ]
    [ "$(jq -c '[.id, .label]' <<<"${lines[3]}")" = '["red/001.png",1]' ]
    [ "$(jq '.data.bytes' <<<"${lines[1]}")" -eq 18 ]
    [[ "$stderr" == *"nn-load info: dataset=$dir classes=2 "* ]]
}

@test "nn-load sorts class folders by name" {
    local dir="$BATS_TEST_TMPDIR/ds"
    make_dataset "$dir" 1x1 zeta:1 alpha:1 Mid:1 beta2:1
    # Hidden entries and plain files beside the class folders are ignored.
    mkdir "$dir/.cache"
    echo notes >"$dir/README"
    run bash -c 'nn-load -q "$1" | nn-dump | jq -c "select(.type == \"header\") | .classes"' _ "$dir"
    [ "$status" -eq 0 ]
    [ "$output" = '["Mid","alpha","beta2","zeta"]' ]
}

@test "nn-load labels samples by class index" {
    run bash -c 'nn-load -q "$1" | nn-dump |
        jq -r "select(.type == \"sample\") | \"\(.label) \(.id)\"" |
        awk "{ split(\$2, p, \"/\"); print \$1, p[1] }" | sort -u' \
        _ "$BATS_FILE_TMPDIR/split"
    [ "$status" -eq 0 ]
    [ "$output" = $'0 a\n1 b\n2 c' ]
}

@test "nn-load splits 100 as 71/16/13" {
    local dir="$BATS_FILE_TMPDIR/split"
    [ "$(ids "$dir" training | grep -c '^a/')" -eq 71 ]
    [ "$(ids "$dir" dev | grep -c '^a/')" -eq 16 ]
    [ "$(ids "$dir" test | grep -c '^a/')" -eq 13 ]
    [ "$(ids "$dir" all | grep -c '^a/')" -eq 100 ]
}

@test "nn-load split is stratified" {
    local dir="$BATS_FILE_TMPDIR/split"
    # 20 files: 15/4/1.  7 files: trunc(4.9)+1 = 5, then trunc(1.05)+1 = 2
    # takes what is left, so test gets none.
    [ "$(ids "$dir" training | grep -c '^b/')" -eq 15 ]
    [ "$(ids "$dir" dev | grep -c '^b/')" -eq 4 ]
    [ "$(ids "$dir" test | grep -c '^b/')" -eq 1 ]
    [ "$(ids "$dir" training | grep -c '^c/')" -eq 5 ]
    [ "$(ids "$dir" dev | grep -c '^c/')" -eq 2 ]
    [ "$(ids "$dir" test | grep -c '^c/' || true)" -eq 0 ]
}

@test "nn-load logs the partition sizes" {
    run --separate-stderr nn-load -p dev "$BATS_FILE_TMPDIR/split"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *" nn-load info: dataset=$BATS_FILE_TMPDIR/split classes=3 training=91 dev=22 test=14 seed=0" ]]
}

@test "nn-load partitions cover all, disjoint" {
    local dir="$BATS_FILE_TMPDIR/split"
    ids "$dir" training >"$BATS_TEST_TMPDIR/parts"
    ids "$dir" dev >>"$BATS_TEST_TMPDIR/parts"
    ids "$dir" test >>"$BATS_TEST_TMPDIR/parts"
    [ -z "$(sort "$BATS_TEST_TMPDIR/parts" | uniq -d)" ]
    [ "$(sort "$BATS_TEST_TMPDIR/parts")" = "$(ids "$dir" all | sort)" ]
    [ "$(wc -l <"$BATS_TEST_TMPDIR/parts")" -eq 127 ]
}

@test "nn-load keeps file order" {
    run ids "$BATS_FILE_TMPDIR/split" dev
    [ "$status" -eq 0 ]
    [ "$output" = "$(sort <<<"$output")" ]
}

@test "nn-load split repeats per seed" {
    local dir="$BATS_FILE_TMPDIR/split"
    for part in training dev test; do
        nn-load -q -p "$part" --dataset-seed 7 "$dir" >"$BATS_TEST_TMPDIR/one"
        nn-load -q -p "$part" --dataset-seed 7 "$dir" >"$BATS_TEST_TMPDIR/two"
        cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    done
}

@test "nn-load split differs across seeds" {
    local dir="$BATS_FILE_TMPDIR/split"
    # Two seeds pick the same 71 of 100 files with odds 1 in C(100, 71),
    # about 1e-25.
    [ "$(ids "$dir" training 1)" != "$(ids "$dir" training 2)" ]
    [ "$(ids "$dir" training 1 | grep -c '^a/')" -eq 71 ]
    [ "$(ids "$dir" training 2 | grep -c '^a/')" -eq 71 ]
}

@test "nn-load --split sets the fractions" {
    # 100 files: trunc(0.5 * 100) + 1 = 51 go to training.
    run bash -c 'nn-load -q --split 0.5,0.25 -p training "$1" | nn-dump |
        jq -r "select(.type == \"sample\") | .id" | grep -c "^a/"' \
        _ "$BATS_FILE_TMPDIR/split"
    [ "$status" -eq 0 ]
    [ "$output" -eq 51 ]
}

@test "nn-load header names the partition" {
    run bash -c 'nn-load -q -p test "$1" | nn-dump | head -n 1 | jq -r .partition' \
        _ "$BATS_FILE_TMPDIR/split"
    [ "$status" -eq 0 ]
    [ "$output" = test ]
}

@test "nn-load decodes 8-bit gray PNG" {
    check_decode gray 5 3 1
}

@test "nn-load decodes 1-bit gray PNG" {
    check_decode gray1 9 2 1
}

@test "nn-load decodes 16-bit gray PNG" {
    check_decode gray16 5 3 1
}

@test "nn-load decodes gray PNG with alpha" {
    check_decode graya 4 3 1
}

@test "nn-load decodes 8-bit RGB PNG" {
    check_decode rgb 5 3 3
}

@test "nn-load decodes 16-bit RGB PNG" {
    check_decode rgb16 4 2 3
}

@test "nn-load decodes RGBA PNG without alpha" {
    check_decode rgba 3 3 3
}

@test "nn-load decodes 8-bit palette PNG" {
    check_decode palette 6 4 3
}

@test "nn-load decodes 4-bit palette PNG" {
    check_decode palette4 5 3 3
}

@test "nn-load decodes interlaced PNG" {
    # 9x9 has pixels in all seven Adam7 passes.
    check_decode interlaced 9 9 3
}

@test "nn-load --help" {
    check_help nn-load
}

@test "nn-load --version" {
    check_version nn-load
}

@test "nn-load rejects unknown options" {
    check_unknown_option nn-load --bogus
    check_unknown_option nn-load -x
}

@test "nn-load rejects bad option values" {
    local dir="$BATS_FILE_TMPDIR/split"
    check_usage_error "nn-load: missing dataset folder DIR" nn-load
    check_usage_error "nn-load: expected one dataset folder DIR" \
        nn-load "$dir" "$dir"
    check_usage_error "nn-load: invalid partition 'train': expected training, dev, test or all" \
        nn-load -p train "$dir"
    check_usage_error "nn-load: invalid value '-1' for --dataset-seed: expected 0 to 9223372036854775807" \
        nn-load -s -1 "$dir"
    check_usage_error "nn-load: invalid value '0.5' for --split: expected T,D" \
        nn-load --split 0.5 "$dir"
    check_usage_error "nn-load: invalid value '0.8,0.3' for --split: fractions must be positive and sum to at most 1" \
        nn-load --split 0.8,0.3 "$dir"
}

@test "nn-load rejects missing folder" {
    fails_with "nn-load: cannot read folder '$BATS_TEST_TMPDIR/none': No such file or directory" \
        nn-load "$BATS_TEST_TMPDIR/none"
    [ -z "$output" ]
}

@test "nn-load rejects folder without classes" {
    mkdir "$BATS_TEST_TMPDIR/empty"
    touch "$BATS_TEST_TMPDIR/empty/loose.png"
    fails_with "nn-load: '$BATS_TEST_TMPDIR/empty': no class folders: expected DIR/<class>/<image>.png" \
        nn-load "$BATS_TEST_TMPDIR/empty"
    [ -z "$output" ]
}

@test "nn-load rejects empty class folder" {
    local dir="$BATS_TEST_TMPDIR/ds"
    make_dataset "$dir" 1x1 a:2
    mkdir "$dir/b"
    fails_with "nn-load: '$dir/b': class folder has no images" nn-load "$dir"
    [ -z "$output" ]
}

@test "nn-load rejects non-PNG file" {
    local dir="$BATS_TEST_TMPDIR/ds"
    make_dataset "$dir" 1x1 a:2
    echo "not an image" >"$dir/a/notes.png"
    fails_with "nn-load: '$dir/a/notes.png': not a PNG file" nn-load -q "$dir"
}

@test "nn-load rejects truncated PNG" {
    local dir="$BATS_TEST_TMPDIR/ds"
    make_dataset "$dir" 8x8 a:1
    make_png "$BATS_TEST_TMPDIR/whole.png" rgb 8 8
    head -c -20 "$BATS_TEST_TMPDIR/whole.png" >"$dir/a/cut.png"
    fails_with "nn-load: '$dir/a/cut.png': truncated PNG data" nn-load -q "$dir"
}

@test "nn-load rejects PNG cut in signature" {
    local dir="$BATS_TEST_TMPDIR/ds"
    make_dataset "$dir" 1x1 a:1
    make_png "$BATS_TEST_TMPDIR/whole.png" gray 2 2
    head -c 5 "$BATS_TEST_TMPDIR/whole.png" >"$dir/a/cut.png"
    fails_with "nn-load: '$dir/a/cut.png': truncated PNG data" nn-load -q "$dir"
}

@test "nn-load exits quietly on closed pipe" {
    local dir="$BATS_TEST_TMPDIR/ds"
    make_dataset "$dir" 96x96 a:4 b:4
    check_closed_pipe nn-load -q "$dir"
}

@test "nn-load reports a full disk" {
    check_disk_full nn-load -q "$BATS_FILE_TMPDIR/split"
}
