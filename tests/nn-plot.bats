#!/usr/bin/env bats
# nn-plot: each chart kind as PNG and SVG, legends and names, the image
# grids, the errors, gnuplot failures and --watch.

load helpers

# metrics_stream OUT EPOCHS [EXPERIMENT] [STOP]: a metrics stream as
# nn-train writes it, for 3 classes: 4 minibatches an epoch, dev
# results with a confusion matrix after each epoch, two tracked
# parameters (L0_Dense_W, 4 rows of 48 f64 values; L1_Dense_W, 2 rows
# of 10 f32 values), a gradient check, and an early stop at epoch STOP.
# EXPERIMENT, when not empty, goes into the header.
metrics_stream() {
    "$PY" - "$@" <<'PYEOF'
import math, struct, sys
import msgpack

path, epochs = sys.argv[1], int(sys.argv[2])
name = sys.argv[3] if len(sys.argv) > 3 else ""
stop = int(sys.argv[4]) if len(sys.argv) > 4 else -1
header = dict(type="header", format="nnpipe", version=1,
              classes=["cat", "dog", "fox"], source="nn-train")
if name:
    header["experiment"] = name
records = [header]
step = 0
for e in range(epochs):
    for i in range(4):
        cost = 1.5 * math.exp(-0.2 * (e + i / 4)) + 0.05 * (i % 2)
        records.append(dict(type="metrics", scope="minibatch", epoch=e,
                            step=step, index=i, samples=10, cost=cost,
                            accuracy=1 - cost / 2))
        step += 1
    cost = 1.5 * math.exp(-0.2 * (e + 1))
    records.append(dict(type="metrics", scope="epoch", epoch=e, samples=40,
                        parameters=99, cost=cost, accuracy=1 - cost / 2,
                        seconds=0.1 * e, dev_samples=12, dev_cost=1.3 * cost,
                        dev_accuracy=1 - cost / 1.6,
                        dev_confusion=[[4, 0, 0], [1, 3, 0], [0, 2, 2 + 10 * e]]))
    w0 = [math.sin(0.1 * k * (r + 1) + 0.3 * e) for r in range(4)
          for k in range(48)]
    records.append(dict(type="metrics", scope="track", epoch=e,
                        name="L0_Dense_W", rows=[0, 3, 6, 9], dtype="f64",
                        shape=[4, 48], data=struct.pack("<192d", *w0)))
    w1 = [float(k * (r + 1) + e) for r in range(2) for k in range(10)]
    records.append(dict(type="metrics", scope="track", epoch=e,
                        name="L1_Dense_W", rows=[0, 1], dtype="f32",
                        shape=[2, 10], data=struct.pack("<20f", *w1)))
    records.append(dict(type="metrics", scope="gradient_check", epoch=e,
                        step=step, distance=1e-9))
    if e == stop:
        records.append(dict(type="metrics", scope="early_stop", epoch=e))
with open(path, "wb") as f:
    for r in records:
        f.write(msgpack.packb(r, use_bin_type=True))
PYEOF
}

# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk, after checking the
# PNG signature.
png_size() {
    "$PY" - "$1" <<'PYEOF'
import struct, sys
data = open(sys.argv[1], "rb").read(24)
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
assert data[12:16] == b"IHDR", "no IHDR chunk first"
print("%dx%d" % struct.unpack(">II", data[16:24]))
PYEOF
}

# check_svg FILE: a well-formed SVG document.
check_svg() {
    if command -v xmllint >/dev/null; then
        xmllint --noout "$1"
    fi
    grep -q '<svg' "$1"
    grep -q '</svg>' "$1"
}

# plots_ok ARGS...: nn-plot -q ARGS exits 0 and prints nothing at all,
# so gnuplot reported no warning either.
plots_ok() {
    run --separate-stderr nn-plot -q "$@"
    if [ "$status" -ne 0 ] || [ -n "$stderr" ] || [ -n "$output" ]; then
        echo "status: $status"
        echo "stderr: $stderr"
        return 1
    fi
}

# fake_gnuplot BODY: put a gnuplot that runs the shell code BODY first
# on PATH, and print the new PATH.
fake_gnuplot() {
    mkdir -p "$BATS_TEST_TMPDIR/fake"
    printf '#!/bin/sh\ncat >/dev/null\n%s\n' "$1" \
        >"$BATS_TEST_TMPDIR/fake/gnuplot"
    chmod +x "$BATS_TEST_TMPDIR/fake/gnuplot"
    echo "$BATS_TEST_TMPDIR/fake:$PATH"
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    metrics_stream m.nn 5 alpha 2
}

@test "nn-plot --help, --version and unknown options" {
    check_help nn-plot
    check_version nn-plot
    check_unknown_option nn-plot --bogus
}

@test "nn-plot curves: PNG of 1200x500" {
    plots_ok m.nn -o c.png
    [ "$(png_size c.png)" = 1200x500 ]
}

@test "nn-plot cost and accuracy: PNG of 1000x600" {
    plots_ok --kind=cost m.nn -o cost.png
    plots_ok --kind accuracy m.nn -o acc.png
    [ "$(png_size cost.png)" = 1000x600 ]
    [ "$(png_size acc.png)" = 1000x600 ]
}

@test "nn-plot confusion: PNG of 800x700" {
    plots_ok -k confusion m.nn -o cm.png
    [ "$(png_size cm.png)" = 800x700 ]
}

@test "nn-plot --size sets the chart size" {
    plots_ok --size 640x480 m.nn -o c.png
    plots_ok -k confusion -s 300x300 m.nn -o cm.png
    [ "$(png_size c.png)" = 640x480 ]
    [ "$(png_size cm.png)" = 300x300 ]
}

@test "nn-plot curves and confusion as SVG" {
    plots_ok m.nn -o c.svg
    plots_ok -k confusion m.nn -o cm.svg
    check_svg c.svg
    check_svg cm.svg
    grep -q 'width="1200"' c.svg
    grep -q 'height="500"' c.svg
}

@test "nn-plot curves: axis labels, titles and early stop" {
    plots_ok m.nn -o c.svg
    grep -q '>epoch<' c.svg
    grep -q 'cost (cross-entropy)' c.svg
    grep -q 'accuracy (fraction)' c.svg
    grep -q '>Cost<' c.svg
    grep -q '>Accuracy<' c.svg
    grep -q 'alpha: training' c.svg
    grep -q 'alpha: dev' c.svg
    grep -q 'early stop' c.svg
}

@test "nn-plot curves: no early stop entry without one" {
    metrics_stream plain.nn 3 plain
    plots_ok plain.nn -o c.svg
    ! grep -q 'early stop' c.svg
}

@test "nn-plot curves: one legend entry pair per experiment" {
    metrics_stream b.nn 4 beta
    metrics_stream c.nn 3 gamma
    plots_ok m.nn b.nn c.nn -o c.svg
    for id in alpha beta gamma; do
        grep -q ">$id: training<" c.svg
        grep -q ">$id: dev<" c.svg
    done
    grep -q '>alpha, beta, gamma<' c.svg
}

@test "nn-plot names an experiment after its folder" {
    mkdir -p runs/exp-7 runs/.exp-8.tmp-Ab12Cd
    metrics_stream runs/exp-7/metrics.nn 2
    metrics_stream runs/.exp-8.tmp-Ab12Cd/metrics.nn 2
    plots_ok runs/exp-7/metrics.nn runs/.exp-8.tmp-Ab12Cd/metrics.nn -o c.svg
    grep -q '>exp-7: training<' c.svg
    grep -q '>exp-8: training<' c.svg
}

@test "nn-plot --title replaces the default title" {
    plots_ok -t 'Adam & friends' m.nn -o c.svg
    grep -q 'Adam &amp; friends' c.svg
}

@test "nn-plot confusion: class names, axis labels and counts" {
    plots_ok -k confusion m.nn -o cm.svg
    grep -q '>predicted class<' cm.svg
    grep -q '>true class<' cm.svg
    grep -q '>fox<' cm.svg
    # the last epoch's matrix: 2 + 10 * 4 in the bottom-right cell
    grep -q '>42<' cm.svg
    grep -q 'alpha: dev confusion matrix after epoch 5' cm.svg
}

@test "nn-plot track: one strip per epoch, RGB cells of 4x4" {
    plots_ok -k track --scale 1 m.nn -o t.png
    # 48 values a row = 16 RGB pixels, 4x4; 4 rows wide, 5 epochs down,
    # 2 px between cells
    [ "$(png_size t.png)" = 22x28 ]
    plots_ok -k track m.nn -o t8.png
    [ "$(png_size t8.png)" = 176x224 ]
}

@test "nn-plot track: --track-name picks the parameter" {
    plots_ok -k track --track-name L1_Dense_W --scale 2 m.nn -o t.png
    # 10 values a row: gray cells of 4x4; 2 rows wide, 5 epochs down
    [ "$(png_size t.png)" = 20x56 ]
}

@test "nn-plot track: each row scaled to 0..255, then zero padded" {
    plots_ok -k track --track-name L1_Dense_W --scale 1 m.nn -o t.png
    mkdir -p ds/c
    cp t.png ds/c/t.png
    run bash -c 'nn-load -q ds | nn-dump --data |
        jq -c "select(.type == \"sample\")"'
    [ "$status" -eq 0 ]
    [ "$(jq -c '.shape' <<<"$output")" = '[28,10,1]' ]
    # epoch 0, rows k and 2k for k = 0..9, both scaled to 0..255:
    # k = 0..3 on the first line of each cell, a white gap between them
    [ "$(jq -c '.data[0:10]' <<<"$output")" = '[0,28,57,85,255,255,0,28,57,85]' ]
    # k = 8 and 9 on the third line, then zeros for the padding
    [ "$(jq -c '.data[20:24]' <<<"$output")" = '[227,255,0,0]' ]
    [ "$(jq -c '.data[30:34]' <<<"$output")" = '[0,0,0,0]' ]
}

@test "nn-plot samples: grid of ceil(sqrt(n)) a row on white" {
    pack '[header(["a", "b"])] + [
          sample("s%d" % i, i % 2, [2, 3, 1], [10 * i + j for j in range(6)])
          for i in range(5)]' >s.nn
    plots_ok -k samples --scale 1 s.nn -o g.png
    [ "$(png_size g.png)" = 13x6 ]
    mkdir -p ds/c
    cp g.png ds/c/g.png
    run bash -c 'nn-load -q ds | nn-dump --data |
        jq -c "select(.type == \"sample\") | .data"'
    [ "$status" -eq 0 ]
    # row 0: s0 (0 1 2), gap, s1 (10 11 12), gap, s2 (20 21 22)
    [ "$(jq -c '.[0:13]' <<<"$output")" = '[0,1,2,255,255,10,11,12,255,255,20,21,22]' ]
    # rows 4 and 5: s3, s4, then a white cell for the missing sixth
    [ "$(jq -c '.[52:65]' <<<"$output")" = '[30,31,32,255,255,40,41,42,255,255,255,255,255]' ]
}

@test "nn-plot samples: --count and RGB" {
    pack '[header(["a"])] + [
          sample("s%d" % i, 0, [4, 4, 3]) for i in range(20)]' >s.nn
    plots_ok -k samples -n 9 --scale 1 s.nn -o g.png
    [ "$(png_size g.png)" = 16x16 ]
    plots_ok -k samples s.nn -o g16.png
    # 16 samples: 4 a row, 4*4 + 3*2 = 22 px, times 8
    [ "$(png_size g16.png)" = 176x176 ]
}

@test "nn-plot reads standard input" {
    run --separate-stderr bash -c 'nn-plot -q - -o c.png <m.nn'
    [ "$status" -eq 0 ]
    [ "$(png_size c.png)" = 1200x500 ]
}

@test "nn-plot rejects an unknown kind with status 2" {
    check_usage_error "nn-plot: invalid kind 'pie': expected curves, cost, accuracy, confusion, track or samples" \
        nn-plot --kind=pie m.nn -o c.png
}

@test "nn-plot usage errors" {
    check_usage_error "nn-plot: missing option --output: name the image to write" \
        nn-plot m.nn
    check_usage_error "nn-plot: invalid output 'c.jpg': expected a name ending in .png or .svg" \
        nn-plot m.nn -o c.jpg
    check_usage_error "nn-plot: missing FILE: name the streams to draw" \
        nn-plot -o c.png
    check_usage_error "nn-plot: --kind=confusion takes one FILE, got 2" \
        nn-plot -k confusion m.nn m.nn -o c.png
    check_usage_error "nn-plot: --kind=track writes PNG only: name OUT '.png'" \
        nn-plot -k track m.nn -o t.svg
    check_usage_error "nn-plot: --size does not apply to --kind=samples; use --scale" \
        nn-plot -k samples -s 10x10 m.nn -o t.png
    check_usage_error "nn-plot: --watch-epochs needs --watch" \
        nn-plot --watch-epochs 3 m.nn -o c.png
    check_usage_error "nn-plot: --watch reads files: standard input cannot be read again" \
        nn-plot --watch - -o c.png
    check_usage_error "nn-plot: invalid size '0x5' for --size: expected WxH, each 1 to 65535" \
        nn-plot -s 0x5 m.nn -o c.png
}

@test "nn-plot: streams without the records a kind needs" {
    pack '[header(["a", "b"])]' >h.nn
    fails_with "nn-plot: no epoch metrics in 'h.nn'" nn-plot h.nn -o c.png
    fails_with "nn-plot: no dev confusion matrix in 'h.nn': train with --dev" \
        nn-plot -k confusion h.nn -o c.png
    fails_with "nn-plot: no track records in 'h.nn'" \
        nn-plot -k track h.nn -o c.png
    fails_with "nn-plot: no sample records in 'h.nn'" \
        nn-plot -k samples h.nn -o c.png
    fails_with "nn-plot: no track records named 'L9' in 'm.nn' (it tracks 'L0_Dense_W', 'L1_Dense_W')" \
        nn-plot -k track --track-name L9 m.nn -o c.png
    [ ! -e c.png ]
}

@test "nn-plot: the second FILE lacks epoch metrics" {
    pack '[header(["a", "b"]),
           dict(type="metrics", scope="minibatch", epoch=0, step=0,
                index=0, samples=1, cost=1.0, accuracy=0.5)]' >mb.nn
    fails_with "nn-plot: no epoch metrics in 'mb.nn'" nn-plot m.nn mb.nn -o c.png
}

@test "nn-plot: bad input names the file and record" {
    fails_with "nn-plot: cannot open 'none.nn': No such file or directory" \
        nn-plot none.nn -o c.png
    pack '[header(["a", "b"]),
           dict(type="metrics", scope="epoch", epoch=0, cost=1.0)]' >bad.nn
    fails_with "nn-plot: 'bad.nn': record 2: metrics: missing field 'accuracy'" \
        nn-plot bad.nn -o c.png
    pack '[header(["a", "b"]),
           dict(type="metrics", scope="epoch", epoch=0, cost=1.0,
                accuracy=0.5, dev_cost=1.0, dev_accuracy=0.5,
                dev_confusion=[[1, 2]])]' >cm.nn
    fails_with "nn-plot: 'cm.nn': record 2: metrics: dev_confusion is not a 2x2 array of counts" \
        nn-plot cm.nn -o c.png
    head -c -5 m.nn >cut.nn
    fails_with "$(truncation_error nn-plot m.nn "'cut.nn'")" nn-plot cut.nn -o c.png
    [ ! -e c.png ]
}

@test "nn-plot: missing gnuplot" {
    mkdir -p emptybin
    fails_with "nn-plot: cannot run gnuplot: it is not on PATH; install the gnuplot-nox package" \
        env PATH="$PWD/emptybin" "$REPO/bin/nn-plot" m.nn -o c.png
    [ -z "$(ls | grep c.png)" ]
}

@test "nn-plot: gnuplot error line" {
    local path
    path=$(fake_gnuplot 'echo "         line 12: undefined variable: foo" >&2; exit 1')
    fails_with "nn-plot: gnuplot failed: line 12: undefined variable: foo" \
        env PATH="$path" nn-plot m.nn -o c.png
    [ -z "$(ls | grep 'c.png')" ]
}

@test "nn-plot: gnuplot says error but exits 0" {
    local path
    path=$(fake_gnuplot 'echo "cairo error: out of memory" >&2')
    fails_with "nn-plot: gnuplot failed: cairo error: out of memory" \
        env PATH="$path" nn-plot m.nn -o c.png
}

@test "nn-plot: gnuplot exits non-zero in silence" {
    local path
    path=$(fake_gnuplot 'exit 3')
    fails_with "nn-plot: gnuplot failed: exit status 3" \
        env PATH="$path" nn-plot m.nn -o c.png
}

@test "nn-plot: gnuplot warnings are passed on" {
    local path
    path=$(fake_gnuplot 'echo "warning: empty y range" >&2
        out=$(ls | grep "c.png.tmp-"); echo x >"$out"')
    run --separate-stderr env PATH="$path" nn-plot -q m.nn -o c.png
    [ "$status" -eq 0 ]
    [ "$stderr" = "nn-plot: warning: gnuplot: empty y range" ]
}

@test "nn-plot: a failed draw keeps the old OUT" {
    local path
    echo old >c.png
    path=$(fake_gnuplot 'exit 1')
    run env PATH="$path" nn-plot m.nn -o c.png
    [ "$status" -eq 1 ]
    [ "$(cat c.png)" = old ]
    [ "$(ls | grep -c 'tmp-')" -eq 0 ]
}

@test "nn-plot --watch redraws as a file grows" {
    local size
    size=$(stat -c %s m.nn)
    # the file grows in three steps, the first two ending inside a record
    head -c $((size / 3)) m.nn >live.nn
    nn-plot --watch --watch-epochs 5 --watch-timeout 20 live.nn -o w.png \
        2>watch.err &
    local pid=$!
    sleep 1.5
    head -c $((2 * size / 3)) m.nn >live.nn
    sleep 1.5
    cat m.nn >live.nn
    wait "$pid"
    [ "$(png_size w.png)" = 1200x500 ]
    [ "$(grep -c "drew 'w.png'" watch.err)" -ge 2 ]
    grep -q "drew 'w.png': epochs=5" watch.err
    ! grep -q 'truncated' watch.err
}

@test "nn-plot --watch waits for a file to appear" {
    nn-plot --watch --watch-epochs 5 --watch-timeout 20 later.nn -o w.png \
        2>watch.err &
    local pid=$!
    sleep 1.2
    cp m.nn later.nn
    wait "$pid"
    [ "$(png_size w.png)" = 1200x500 ]
}

@test "nn-plot --watch stops when the file is moved" {
    mkdir -p runs/.x.tmp-000001
    cp m.nn runs/.x.tmp-000001/metrics.nn
    nn-plot --watch --watch-timeout 20 runs/.x.tmp-000001/metrics.nn \
        -o w.svg 2>watch.err &
    local pid=$!
    sleep 1.2
    mv runs/.x.tmp-000001 runs/x
    wait "$pid"
    grep -q 'a watched file was renamed or removed: stopping' watch.err
    check_svg w.svg
}

@test "nn-plot --watch times out on a file that never appears" {
    fails_with "nn-plot: 'never.nn' does not exist" \
        nn-plot --watch --watch-timeout 1 never.nn -o w.png
}
