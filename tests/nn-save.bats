#!/usr/bin/env bats
# nn-save: one PNG per sample in class folders, safe file names, grid
# images and their layout, --every, --tee, errors and constant memory.

load helpers

# decoded PNG: the shape and pixels of one PNG file, as the JSON array
# [shape, data].
decoded() {
    local dir="$BATS_TEST_TMPDIR/decode"
    rm -rf "$dir"
    mkdir -p "$dir/c"
    cp "$1" "$dir/c/image.png"
    nn-load -q "$dir" | nn-dump --data |
        jq -c 'select(.type == "sample") | [.shape, .data]'
}

# saved_files DIR: the files under DIR, relative to it, sorted.
saved_files() {
    (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
}

@test "nn-save writes one PNG per sample in class folders" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    run --separate-stderr nn-save "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(saved_files "$BATS_TEST_TMPDIR/out" | head -n 2)" = $'cyan/cyan_000.png\ncyan/cyan_001.png' ]
    [ "$(saved_files "$BATS_TEST_TMPDIR/out" | wc -l)" -eq 12 ]
    [[ "$stderr" == *" nn-save info: samples=12 files=12" ]]
}

@test "nn-save keeps the pixels" {
    # Loading the saved folder gives back the same classes and pixels.
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    nn-save -q "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
    nn-dump --data "$BATS_TEST_TMPDIR/in" |
        jq -c 'select(.type == "sample") | [.label, .shape, .data]' >"$BATS_TEST_TMPDIR/before"
    nn-load -q "$BATS_TEST_TMPDIR/out" | nn-dump --data |
        jq -c 'select(.type == "sample") | [.label, .shape, .data]' >"$BATS_TEST_TMPDIR/after"
    cmp "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "nn-save writes gray samples as gray PNGs" {
    pack '[header(), sample("g", 0, [2, 3, 1], [0, 50, 100, 150, 200, 250])]' |
        nn-save -q "$BATS_TEST_TMPDIR/out"
    [ "$(decoded "$BATS_TEST_TMPDIR/out/a/g.png")" = "[[2,3,1],[0,50,100,150,200,250]]" ]
}

@test "nn-save replaces unsafe characters in names" {
    pack '[header(["a b", "..", "ok"]),
           sample("x/y z#1", 0, [1, 1, 1]),
           sample(".hidden", 1, [1, 1, 1]),
           sample("caf\u00e9.png", 2, [1, 1, 1]),
           sample("", 2, [1, 1, 1]),
           sample("v1.2-final_A", 2, [1, 1, 1])]' |
        nn-save -q "$BATS_TEST_TMPDIR/out"
    run saved_files "$BATS_TEST_TMPDIR/out"
    [ "${#lines[@]}" -eq 5 ]
    [ "${lines[0]}" = "_./_hidden.png" ]
    [ "${lines[1]}" = "a_b/x_y_z_1.png" ]
    [ "${lines[2]}" = "ok/_.png" ]
    [ "${lines[3]}" = "ok/caf__.png" ]
    [ "${lines[4]}" = "ok/v1.2-final_A.png" ]
}

@test "nn-save drops one final .png of the id" {
    pack '[header(), sample("red/000.png", 0, [1, 1, 1]),
           sample("x.png.png", 0, [1, 1, 1]), sample(".png", 0, [1, 1, 1])]' |
        nn-save -q "$BATS_TEST_TMPDIR/out"
    run saved_files "$BATS_TEST_TMPDIR/out"
    [ "${#lines[@]}" -eq 3 ]
    [ "${lines[0]}" = "a/_png.png" ]
    [ "${lines[1]}" = "a/red_000.png" ]
    [ "${lines[2]}" = "a/x.png.png" ]
}

@test "nn-save creates missing parent folders" {
    pack '[header(), sample("s", 1, [1, 1, 1])]' | nn-save -q "$BATS_TEST_TMPDIR/deep/er/out"
    [ -f "$BATS_TEST_TMPDIR/deep/er/out/b/s.png" ]
}

@test "nn-save replaces a file written earlier under the same name" {
    pack '[header(), sample("s", 0, [1, 1, 1], [1]), epoch(0),
           sample("s", 0, [1, 1, 1], [2]), epoch(1)]' |
        nn-save -q "$BATS_TEST_TMPDIR/out"
    [ "$(saved_files "$BATS_TEST_TMPDIR/out")" = "a/s.png" ]
    [ "$(decoded "$BATS_TEST_TMPDIR/out/a/s.png")" = "[[1,1,1],[2]]" ]
}

@test "nn-save --every writes the chosen epochs to their own folders" {
    pack '[header()] + [r for e in range(5)
                        for r in [sample("s", 0, [1, 1, 1], [e]), epoch(e)]]' |
        nn-save -q --every 2 "$BATS_TEST_TMPDIR/out"
    run saved_files "$BATS_TEST_TMPDIR/out"
    [ "${#lines[@]}" -eq 3 ]
    [ "${lines[0]}" = "epoch-0/a/s.png" ]
    [ "${lines[1]}" = "epoch-2/a/s.png" ]
    [ "${lines[2]}" = "epoch-4/a/s.png" ]
    [ "$(decoded "$BATS_TEST_TMPDIR/out/epoch-4/a/s.png")" = "[[1,1,1],[4]]" ]
}

@test "nn-save writes nothing to standard output without --tee" {
    pack '[header(), sample("s", 0, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/in"
    nn-save -q "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/stdout"
    [ ! -s "$BATS_TEST_TMPDIR/stdout" ]
}

@test "nn-save --tee copies the stream unchanged" {
    pack '[header(), sample("s", 0, [1, 1, 1]), {"type": "note", "n": 1},
           epoch(0), sample("t", 1, [2, 2, 3])]' >"$BATS_TEST_TMPDIR/in"
    nn-save -q --tee "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/copy"
    cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/copy"
    [ "$(saved_files "$BATS_TEST_TMPDIR/out" | wc -l)" -eq 2 ]
}

@test "nn-save --tee --grid copies the stream unchanged" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    nn-save -q --tee --grid 4 --every 1 "$BATS_TEST_TMPDIR/g.png" "$BATS_TEST_TMPDIR/in" \
        >"$BATS_TEST_TMPDIR/copy"
    cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/copy"
}

@test "nn-save --grid lays out ceil(sqrt(n)) images a row" {
    # 5 samples of 4x3: 3 a row, 2 rows, cells 2 pixels apart.
    pack '[header()] + [sample("s%d" % i, 0, [3, 4, 3]) for i in range(5)]' |
        nn-save -q --grid 5 "$BATS_TEST_TMPDIR/grid.png"
    [ "$(decoded "$BATS_TEST_TMPDIR/grid.png" | jq -c '.[0]')" = "[12,20,3]" ]
}

@test "nn-save --grid draws samples on white" {
    # Cells of 1x1 at x 2 and 5, y 2, on an 8x5 white canvas.
    pack '[header(), sample("a", 0, [1, 1, 1], [10]), sample("b", 0, [1, 1, 1], [20])]' |
        nn-save -q --grid 2 "$BATS_TEST_TMPDIR/grid.png"
    local w=255
    local row="$w,$w,$w,$w,$w,$w,$w,$w"
    [ "$(decoded "$BATS_TEST_TMPDIR/grid.png")" = "[[5,8,1],[$row,$row,$w,$w,10,$w,$w,20,$w,$w,$row,$row]]" ]
}

@test "nn-save --grid takes the first N samples" {
    pack '[header()] + [sample("s%d" % i, 0, [1, 1, 1], [i]) for i in range(10)]' |
        nn-save -q --grid 4 "$BATS_TEST_TMPDIR/grid.png"
    # 2x2 cells of 1 pixel: 8x8, holding samples 0 to 3.
    run decoded "$BATS_TEST_TMPDIR/grid.png"
    [ "$(jq -c '.[0]' <<<"$output")" = "[8,8,1]" ]
    [ "$(jq -c '[.[1][] | select(. != 255)]' <<<"$output")" = "[0,1,2,3]" ]
}

@test "nn-save --grid with fewer samples draws those it has" {
    pack '[header(), sample("a", 0, [1, 1, 1], [10]), sample("b", 0, [1, 1, 1], [20])]' |
        nn-save -q --grid 9 "$BATS_TEST_TMPDIR/grid.png"
    [ "$(decoded "$BATS_TEST_TMPDIR/grid.png" | jq -c '.[0]')" = "[5,8,1]" ]
}

@test "nn-save --grid turns gray into RGB when mixed" {
    pack '[header(), sample("g", 0, [1, 1, 1], [10]), sample("c", 0, [1, 1, 3], [1, 2, 3])]' |
        nn-save -q --grid 2 "$BATS_TEST_TMPDIR/grid.png"
    run decoded "$BATS_TEST_TMPDIR/grid.png"
    [ "$(jq -c '.[0]' <<<"$output")" = "[5,8,3]" ]
    [ "$(jq -c '[.[1][] | select(. != 255)]' <<<"$output")" = "[10,10,10,1,2,3]" ]
}

@test "nn-save --grid centres smaller samples in their cells" {
    # Cells are 3x3; the 1x1 sample sits at (1, 1) of the second cell.
    pack '[header(), sample("big", 0, [3, 3, 1], [0] * 9), sample("dot", 0, [1, 1, 1], [7])]' |
        nn-save -q --grid 2 "$BATS_TEST_TMPDIR/grid.png"
    run decoded "$BATS_TEST_TMPDIR/grid.png"
    [ "$(jq -c '.[0]' <<<"$output")" = "[7,12,1]" ]
    # Row 3, column 2 + 3 + 2 + 1 = 8.
    [ "$(jq -c '.[1][3 * 12 + 8]' <<<"$output")" = 7 ]
    [ "$(jq -c '[.[1][] | select(. != 255)] | length' <<<"$output")" = 10 ]
}

@test "nn-save --zoom repeats pixels" {
    pack '[header(), sample("a", 0, [1, 2, 1], [10, 20])]' |
        nn-save -q --grid 1 --zoom 2 "$BATS_TEST_TMPDIR/grid.png"
    run decoded "$BATS_TEST_TMPDIR/grid.png"
    [ "$(jq -c '.[0]' <<<"$output")" = "[6,8,1]" ]
    [ "$(jq -c '[.[1][] | select(. != 255)]' <<<"$output")" = "[10,10,20,20,10,10,20,20]" ]
}

@test "nn-save --grid --every writes one grid per E epochs" {
    pack '[header()] + [r for e in range(5)
                        for r in [sample("s%d" % i, 0, [1, 1, 1], [10 * e + i])
                                  for i in range(3)] + [epoch(e)]]' |
        nn-save -q --grid 2 --every 2 "$BATS_TEST_TMPDIR/runs/samples.png"
    run saved_files "$BATS_TEST_TMPDIR/runs"
    [ "${#lines[@]}" -eq 3 ]
    [ "${lines[0]}" = "samples-epoch-0.png" ]
    [ "${lines[1]}" = "samples-epoch-2.png" ]
    [ "${lines[2]}" = "samples-epoch-4.png" ]
    [ "$(decoded "$BATS_TEST_TMPDIR/runs/samples-epoch-2.png" | jq -c '[.[1][] | select(. != 255)]')" = "[20,21]" ]
}

@test "nn-save --grid --every writes a short epoch at its marker" {
    pack '[header(), sample("a", 0, [1, 1, 1], [1]), epoch(0),
           sample("b", 0, [1, 1, 1], [2]), epoch(1)]' |
        nn-save -q --grid 4 --every 1 "$BATS_TEST_TMPDIR/g.png"
    [ "$(decoded "$BATS_TEST_TMPDIR/g-epoch-0.png")" = "[[5,5,1],[255,255,255,255,255,255,255,255,255,255,255,255,1,255,255,255,255,255,255,255,255,255,255,255,255]]" ]
    [ "$(decoded "$BATS_TEST_TMPDIR/g-epoch-1.png" | jq -c '[.[1][] | select(. != 255)]')" = "[2]" ]
}

@test "nn-save --grid without --every spans epochs" {
    pack '[header(), sample("a", 0, [1, 1, 1], [1]), epoch(0),
           sample("b", 0, [1, 1, 1], [2]), epoch(1)]' |
        nn-save -q --grid 4 "$BATS_TEST_TMPDIR/g.png"
    [ "$(saved_files "$BATS_TEST_TMPDIR")" = "g.png" ]
    [ "$(decoded "$BATS_TEST_TMPDIR/g.png" | jq -c '[.[1][] | select(. != 255)]')" = "[1,2]" ]
}

@test "nn-save --grid logs the count" {
    pack '[header(), sample("a", 0, [1, 1, 1]), epoch(0), sample("b", 0, [1, 1, 1]), epoch(1)]' \
        >"$BATS_TEST_TMPDIR/in"
    run --separate-stderr nn-save --grid 1 --every 1 "$BATS_TEST_TMPDIR/g.png" "$BATS_TEST_TMPDIR/in"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *" nn-save info: samples=2 grids=2" ]]
}

@test "nn-save --help" {
    check_help nn-save
}

@test "nn-save --version" {
    check_version nn-save
}

@test "nn-save rejects unknown options" {
    check_unknown_option nn-save --bogus
    check_unknown_option nn-save -x
}

@test "nn-save rejects bad arguments" {
    check_usage_error "nn-save: missing output folder DIR" nn-save
    check_usage_error "nn-save: missing grid image PATH.png" nn-save --grid 4
    check_usage_error "nn-save: invalid grid image 'out': expected a name ending in '.png'" \
        nn-save --grid 4 out
    check_usage_error "nn-save: invalid grid image '.png': expected a name ending in '.png'" \
        nn-save --grid 4 .png
    check_usage_error "nn-save: invalid value '0' for --grid: expected 1 to 10000" \
        nn-save --grid 0 x.png
    check_usage_error "nn-save: invalid value '0' for --every: expected 1 to 1000000" \
        nn-save --every 0 out
    check_usage_error "nn-save: invalid value '65' for --zoom: expected 1 to 64" \
        nn-save --grid 1 --zoom 65 x.png
    check_usage_error "nn-save: --zoom needs --grid" nn-save --zoom 2 out
}

@test "nn-save fails when a folder cannot be created" {
    touch "$BATS_TEST_TMPDIR/file"
    pack '[header(), sample("s", 0, [1, 1, 1])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-save: cannot create folder '$BATS_TEST_TMPDIR/file/out': Not a directory" \
        nn-save "$BATS_TEST_TMPDIR/file/out" "$BATS_TEST_TMPDIR/in"
}

@test "nn-save fails on non-u8 pixels" {
    pack '[header(), sample("x", 0, [1, 1, 1], dtype="f32")]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-save: '$BATS_TEST_TMPDIR/in': record 2: sample 'x': expected u8 pixels, got f32" \
        nn-save "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
}

@test "nn-save fails on 4 channels" {
    pack '[header(), sample("x", 0, [1, 1, 4])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-save: '$BATS_TEST_TMPDIR/in': record 2: sample 'x': expected 1 or 3 channels, got 4" \
        nn-save --grid 1 "$BATS_TEST_TMPDIR/g.png" "$BATS_TEST_TMPDIR/in"
}

@test "nn-save fails on a grid over the pixel limit" {
    # 200 pixels zoomed 41 times, plus 2 on each side: 8204 squared is
    # just over 2^26.
    pack '[header(), sample("x", 0, [200, 200, 1])]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-save: cannot write '$BATS_TEST_TMPDIR/g.png': a grid of 8204x8204 pixels is over the limit of 67108864 pixels" \
        nn-save -q --grid 1 --zoom 41 "$BATS_TEST_TMPDIR/g.png" "$BATS_TEST_TMPDIR/in"
}

@test "nn-save --tee stops quietly when the reader closes the pipe" {
    big_stream "$BATS_TEST_TMPDIR/in"
    check_closed_pipe nn-save -q --tee --grid 4 "$BATS_TEST_TMPDIR/g.png" "$BATS_TEST_TMPDIR/in"
}

@test "nn-save --tee reports a full disk" {
    sample_stream "$BATS_TEST_TMPDIR/ds" "$BATS_TEST_TMPDIR/in"
    check_disk_full nn-save -q --tee --grid 4 "$BATS_TEST_TMPDIR/g.png" "$BATS_TEST_TMPDIR/in"
}

@test "nn-save --tee runs in constant memory" {
    # 1,000 distinct 16x16 RGB samples replayed over 2 and over 20 epochs.
    local samples='[sample("s%d" % i, i % 2, [16, 16, 3],
                           bytes((i + 3 * j) % 256 for j in range(768)))
                    for i in range(1000)]' small big
    pack "(lambda s: [header()] + [r for e in range(2) for r in s + [epoch(e)]])($samples)" \
        >"$BATS_TEST_TMPDIR/small"
    pack "(lambda s: [header()] + [r for e in range(20) for r in s + [epoch(e)]])($samples)" \
        >"$BATS_TEST_TMPDIR/big"
    small=$(peak_kb nn-save -q --tee --grid 16 --every 1 "$BATS_TEST_TMPDIR/s.png" \
        "$BATS_TEST_TMPDIR/small")
    big=$(peak_kb nn-save -q --tee --grid 16 --every 1 "$BATS_TEST_TMPDIR/b.png" \
        "$BATS_TEST_TMPDIR/big")
    echo "peak RSS: 2,000 samples ${small} KiB, 20,000 samples ${big} KiB"
    [ "$big" -le $((small + 2048)) ]
    [ -f "$BATS_TEST_TMPDIR/b-epoch-19.png" ]
}
