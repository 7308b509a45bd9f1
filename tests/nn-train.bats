#!/usr/bin/env bats
# nn-train: learning a clearly separable 3-colour dataset, the metrics
# and model records, repeatable runs, and the errors on bad input.

load helpers

setup_file() {
    local dir="$BATS_FILE_TMPDIR"
    # 16x16 RGB, 20 images per colour: 45 for training, 12 for dev.
    make_dataset "$dir/colors" 16x16 blue:20:30,30,200 green:20:30,200,30 \
        red:20:200,30,30
    nn-load -q -p training "$dir/colors" >"$dir/training"
    nn-load -q -p dev "$dir/colors" >"$dir/dev"
    # 5 epochs of 6 batches (5 of 8 samples, then 5).
    nn-shuffle -q -e 5 --seed 1 "$dir/training" | nn-batch -q 8 >"$dir/batches"
}

setup() {
    D="$BATS_FILE_TMPDIR"
}

# train ARG...: run nn-train -q on the batches and print the metrics
# records as JSON lines.
train() {
    nn-train -q "$@" "$D/batches" | nn-dump | jq -c 'select(.type == "metrics")'
}

@test "nn-train one-layer reaches dev accuracy 1" {
    run train -m one-layer -r 0.01 --dev "$D/dev"
    [ "$status" -eq 0 ]
    local last
    last=$(jq -c 'select(.scope == "epoch")' <<<"$output" | tail -n 1)
    [ "$(jq .epoch <<<"$last")" -eq 4 ]
    [ "$(jq .dev_accuracy <<<"$last")" = 1 ]
    [ "$(jq -c .dev_confusion <<<"$last")" = "[[4,0,0],[0,4,0],[0,0,4]]" ]
    [ "$(jq '.cost < 0.1' <<<"$last")" = true ]
}

@test "nn-train n-layers reaches dev accuracy 1" {
    run train -m n-layers -l 16 -o adam -r 0.01 --dev "$D/dev"
    [ "$status" -eq 0 ]
    [ "$(jq -c 'select(.scope == "epoch") | .dev_accuracy' <<<"$output" | tail -n 1)" = 1 ]
}

@test "nn-train writes a header, then metrics" {
    run --separate-stderr bash -c 'nn-train -m one-layer "$1" | nn-dump' _ "$D/batches"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = '{"type":"header","format":"nnpipe","version":1,"classes":["blue","green","red"],"source":"nn-train"}' ]
    [ "$(jq -r .type <<<"$output" | sort | uniq -c | awk '{ print $1, $2 }')" = $'1 header\n35 metrics' ]
    [[ "$stderr" == *" nn-train info: "*"inputs=768 classes=3 parameters=2307 "* ]]
}

@test "nn-train minibatch metrics have their fields" {
    run train -m one-layer
    [ "$status" -eq 0 ]
    local minibatch
    minibatch=$(jq -c 'select(.scope == "minibatch")' <<<"$output")
    [ "$(wc -l <<<"$minibatch")" -eq 30 ]
    [ "$(head -n 1 <<<"$minibatch" | jq -c 'keys_unsorted')" = '["type","scope","epoch","step","index","samples","cost","accuracy"]' ]
    [ "$(jq -c .step <<<"$minibatch" | tr '\n' ' ')" = "$(seq -s ' ' 0 29) " ]
    [ "$(jq -c .index <<<"$minibatch" | head -n 6 | tr '\n' ' ')" = "0 1 2 3 4 5 " ]
    [ "$(jq -c .samples <<<"$minibatch" | head -n 6 | tr '\n' ' ')" = "8 8 8 8 8 5 " ]
    [ "$(jq -c .epoch <<<"$minibatch" | sort -u | tr '\n' ' ')" = "0 1 2 3 4 " ]
    [ "$(jq -c '[.cost >= 0, .accuracy >= 0 and .accuracy <= 1] | all' <<<"$minibatch" | sort -u)" = true ]
}

@test "nn-train epoch metrics have their fields" {
    run train -m one-layer
    [ "$status" -eq 0 ]
    local epoch
    epoch=$(jq -c 'select(.scope == "epoch")' <<<"$output")
    [ "$(wc -l <<<"$epoch")" -eq 5 ]
    [ "$(head -n 1 <<<"$epoch" | jq -c 'keys_unsorted')" = '["type","scope","epoch","samples","parameters","cost","accuracy","seconds"]' ]
    [ "$(jq -c '[.epoch, .samples, .parameters]' <<<"$epoch" | head -n 1)" = "[0,45,2307]" ]
    [ "$(jq -c '.seconds >= 0' <<<"$epoch" | sort -u)" = true ]
}

@test "nn-train epoch metrics with --dev" {
    run train -m one-layer --dev "$D/dev"
    [ "$status" -eq 0 ]
    local first
    first=$(jq -c 'select(.scope == "epoch")' <<<"$output" | head -n 1)
    [ "$(jq -c 'keys_unsorted' <<<"$first")" = '["type","scope","epoch","samples","parameters","cost","accuracy","seconds","dev_samples","dev_cost","dev_accuracy","dev_confusion"]' ]
    [ "$(jq .dev_samples <<<"$first")" -eq 12 ]
    # Rows are true classes: each row sums to that class's 4 dev samples.
    [ "$(jq -c '[.dev_confusion[] | add]' <<<"$first")" = "[4,4,4]" ]
    [ "$(jq '.dev_cost >= 0' <<<"$first")" = true ]
}

@test "nn-train prints dev confusion matrix" {
    run --separate-stderr nn-train -m one-layer -r 0.01 --dev "$D/dev" "$D/batches"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"dev confusion matrix (rows: true class, columns: predicted class)"* ]]
    [[ "$stderr" == *"      blue      4      0      0"* ]]
}

@test "nn-train ends epoch at input end" {
    nn-batch -q 8 "$D/training" >"$BATS_TEST_TMPDIR/unmarked"
    run bash -c 'nn-train -q -m one-layer "$1" | nn-dump | jq -c "select(.scope == \"epoch\") | [.epoch, .samples]"' \
        _ "$BATS_TEST_TMPDIR/unmarked"
    [ "$status" -eq 0 ]
    [ "$output" = "[0,45]" ]
}

@test "nn-train metrics repeat per seed" {
    train -m n-layers -l 8 --model-seed 3 --dev "$D/dev" | jq -c 'del(.seconds)' >"$BATS_TEST_TMPDIR/one"
    train -m n-layers -l 8 --model-seed 3 --dev "$D/dev" | jq -c 'del(.seconds)' >"$BATS_TEST_TMPDIR/two"
    cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/one")" -eq 35 ]
}

@test "nn-train metrics differ across seeds" {
    train -m n-layers -l 8 --model-seed 3 | jq -c 'del(.seconds)' >"$BATS_TEST_TMPDIR/one"
    train -m n-layers -l 8 --model-seed 4 | jq -c 'del(.seconds)' >"$BATS_TEST_TMPDIR/two"
    ! cmp -s "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}

@test "nn-train --save writes a model file" {
    mkdir "$BATS_TEST_TMPDIR/out"
    nn-train -q -m one-layer --save "$BATS_TEST_TMPDIR/out/model.nn" "$D/batches" >/dev/null
    run nn-dump "$BATS_TEST_TMPDIR/out/model.nn"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "$(jq -c '[.type, .classes]' <<<"${lines[0]}")" = '["header",["blue","green","red"]]' ]
    [ "$(jq -c '[.type, .arch, .hidden, .input_shape, .dtype]' <<<"${lines[1]}")" = "[\"model\",\"one-layer\",[],[16,16,3],\"f${NN_PRECISION:-64}\"]" ]
    local bits=${NN_PRECISION:-64} size=$((${NN_PRECISION:-64} / 8))
    [ "$(jq -c '[.params[] | [.name, .dtype, .shape, .data.bytes]]' <<<"${lines[1]}")" = "[[\"L0_Dense_W\",\"f$bits\",[3,768],$((2304 * size))],[\"L0_Dense_B\",\"f$bits\",[3,1],$((3 * size))]]" ]
    # Only the model is left in the folder: no temporary file.
    [ "$(ls -A "$BATS_TEST_TMPDIR/out")" = model.nn ]
}

@test "nn-train --save n-layers model" {
    nn-train -q -m n-layers -l 16,8 -a tanh --save "$BATS_TEST_TMPDIR/model.nn" "$D/batches" >/dev/null
    run bash -c 'nn-dump "$1" | jq -c "select(.type == \"model\") | [.arch, .hidden, .activation, (.params | length), (.buffers | length), .params[0].shape]"' \
        _ "$BATS_TEST_TMPDIR/model.nn"
    [ "$status" -eq 0 ]
    [ "$output" = '["n-layers",[16,8],"tanh",9,6,[16,768]]' ]
}

@test "nn-train --save repeats per seed" {
    nn-train -q -l 8 --save "$BATS_TEST_TMPDIR/one.nn" "$D/batches" >/dev/null
    nn-train -q -l 8 --save "$BATS_TEST_TMPDIR/two.nn" "$D/batches" >/dev/null
    cmp "$BATS_TEST_TMPDIR/one.nn" "$BATS_TEST_TMPDIR/two.nn"
}

@test "nn-train takes the original option spellings" {
    run train --model OneLayer --optimizer ExponentialDecay -r 0.01
    [ "$status" -eq 0 ]
    run train --model NLayers --layers 4 --activation LeakyReLU --optimizer Constant
    [ "$status" -eq 0 ]
}

@test "nn-train passes unknown records through" {
    pack '[header(["a", "b"]), {"type": "note", "text": "kept"},
           {"type": "batch", "epoch": 0, "index": 0, "labels": [0, 1],
            "dtype": "f32", "shape": [2, 1, 1, 1], "data": bytes(8)}]' \
        >"$BATS_TEST_TMPDIR/in"
    record_hex "$BATS_TEST_TMPDIR/in" | sed -n 2p >"$BATS_TEST_TMPDIR/note"
    nn-train -q -m one-layer "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
    record_hex "$BATS_TEST_TMPDIR/out" | grep -Fx -f "$BATS_TEST_TMPDIR/note"
}

@test "nn-train --help" {
    check_help nn-train
}

@test "nn-train --version" {
    run --separate-stderr nn-train --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^nn-train\ [0-9]+\.[0-9]+\.[0-9]+ ]]
}

@test "nn-train rejects unknown options" {
    check_unknown_option nn-train --bogus
    check_unknown_option nn-train -x
}

@test "nn-train rejects an unknown optimizer" {
    check_usage_error "nn-train: invalid optimizer 'sgd': expected adam, constant or exponential-decay" \
        nn-train -o sgd "$D/batches"
}

@test "nn-train rejects bad option values" {
    check_usage_error "nn-train: invalid model 'three': expected one-layer or n-layers" \
        nn-train -m three
    check_usage_error "nn-train: invalid activation 'swish': expected leaky-relu, relu, tanh or sigmoid" \
        nn-train -a swish
    check_usage_error "nn-train: invalid value '0' for --layers: expected comma-separated positive integers" \
        nn-train --layers 0
    check_usage_error "nn-train: invalid value '8,,4' for --layers: expected comma-separated positive integers" \
        nn-train --layers 8,,4
    check_usage_error "nn-train: invalid value 'fast' for --learning-rate: expected a number" \
        nn-train -r fast
    check_usage_error "nn-train: invalid value '0' for --threads: expected 1 to 1024" \
        nn-train --threads 0
}

@test "nn-train rejects sample records" {
    fails_with "nn-train: '$D/training': record 2: got a sample record: nn-train reads batches; put nn-batch before it" \
        nn-train -q "$D/training"
}

@test "nn-train rejects input without batches" {
    pack '[header()]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-train: no batch records in the input: nothing to train" \
        nn-train -q "$BATS_TEST_TMPDIR/in"
}

@test "nn-train rejects dev of other size" {
    nn-resize -q 8x8 "$D/dev" >"$BATS_TEST_TMPDIR/dev8"
    fails_with "nn-train: '$BATS_TEST_TMPDIR/dev8': samples have shape [8,8,3], the training batches [16,16,3]" \
        nn-train -q --dev "$BATS_TEST_TMPDIR/dev8" "$D/batches"
}

@test "nn-train rejects dev of other shape" {
    # 8x32x3 has the 768 values of 16x16x3 but another layout, so the
    # dev metrics of such samples would mean nothing.  No exact message
    # is checked because nn-train has none for this case yet.
    pack '[header(["blue", "green", "red"]), sample("x", 0, [8, 32, 3])]' >"$BATS_TEST_TMPDIR/dev"
    run --separate-stderr bash -c 'nn-train -q --dev "$1" "$2" >/dev/null' \
        _ "$BATS_TEST_TMPDIR/dev" "$D/batches"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "nn-train: '$BATS_TEST_TMPDIR/dev': "* ]]
}

@test "nn-train rejects dev with more classes" {
    pack '[header(["blue", "green", "red", "white"]), sample("x", 0, [16, 16, 3])]' \
        >"$BATS_TEST_TMPDIR/dev"
    fails_with "nn-train: '$BATS_TEST_TMPDIR/dev': record 1: its classes are not the training stream's" \
        nn-train -q --dev "$BATS_TEST_TMPDIR/dev" "$D/batches"
}

@test "nn-train rejects dev with other classes" {
    # Labels index the class list, so other names make other labels.
    pack '[header(["cyan", "magenta", "yellow"]), sample("x", 0, [16, 16, 3])]' \
        >"$BATS_TEST_TMPDIR/dev"
    run --separate-stderr bash -c 'nn-train -q --dev "$1" "$2" >/dev/null' \
        _ "$BATS_TEST_TMPDIR/dev" "$D/batches"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "nn-train: '$BATS_TEST_TMPDIR/dev': record 1: "* ]]
}

@test "nn-train rejects missing dev file" {
    fails_with "nn-train: cannot open '$BATS_TEST_TMPDIR/none': No such file or directory" \
        nn-train -q --dev "$BATS_TEST_TMPDIR/none" "$D/batches"
}

@test "nn-train rejects batches of other shape" {
    nn-resize -q 8x8 "$D/training" | nn-batch -q 8 >"$BATS_TEST_TMPDIR/small"
    fails_with "nn-train: '$BATS_TEST_TMPDIR/small': record 2: batch: sample shape [8,8,3] differs from the first batch's [16,16,3]" \
        nn-train -q "$D/batches" "$BATS_TEST_TMPDIR/small"
}

@test "nn-train rejects 3-dim batch" {
    pack '[header(["a", "b"]), {"type": "batch", "epoch": 0, "index": 0,
           "labels": [0, 1], "dtype": "f32", "shape": [2, 1, 1], "data": bytes(8)}]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-train: '$BATS_TEST_TMPDIR/in': record 2: batch: expected shape [m, height, width, channels], got 3 dims" \
        nn-train -q "$BATS_TEST_TMPDIR/in"
}

@test "nn-train rejects out-of-range batch label" {
    pack '[header(["a", "b"]), {"type": "batch", "epoch": 0, "index": 0,
           "labels": [0, 2], "dtype": "f32", "shape": [2, 1, 1, 1], "data": bytes(8)}]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-train: '$BATS_TEST_TMPDIR/in': record 2: label 2 is outside the 2 classes" \
        nn-train -q "$BATS_TEST_TMPDIR/in"
}

@test "nn-train rejects batch missing labels" {
    pack '[header(["a", "b"]), {"type": "batch", "epoch": 0, "index": 0,
           "labels": [0], "dtype": "f32", "shape": [2, 1, 1, 1], "data": bytes(8)}]' \
        >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-train: '$BATS_TEST_TMPDIR/in': record 2: batch: field 'labels' must be an array of 2 labels" \
        nn-train -q "$BATS_TEST_TMPDIR/in"
}

@test "nn-train rejects truncated stream" {
    head -c -5 "$D/batches" >"$BATS_TEST_TMPDIR/cut"
    fails_with "$(truncation_error nn-train "$D/batches" "'$BATS_TEST_TMPDIR/cut'")" \
        nn-train -q -m one-layer "$BATS_TEST_TMPDIR/cut"
}

@test "nn-train rejects stream without header" {
    pack '[epoch(0)]' >"$BATS_TEST_TMPDIR/in"
    fails_with "nn-train: '$BATS_TEST_TMPDIR/in': record 1: stream does not start with a header record (got 'epoch')" \
        nn-train -q "$BATS_TEST_TMPDIR/in"
}

@test "nn-train rejects unwritable --save path" {
    # Checked before training starts, so a long run cannot fail at its end.
    check_usage_error "nn-train: --save '$BATS_TEST_TMPDIR/none/model.nn': cannot write in folder '$BATS_TEST_TMPDIR/none': No such file or directory" \
        nn-train -q -m one-layer --save "$BATS_TEST_TMPDIR/none/model.nn" "$D/batches"
}

@test "nn-train refuses to overwrite its inputs" {
    check_usage_error "nn-train: --save would overwrite the --dev file '$D/batches'" \
        nn-train -q --dev "$D/batches" --save "$D/batches" "$D/batches"
    check_usage_error "nn-train: --save and --checkpoint name the same file '$BATS_TEST_TMPDIR/m'" \
        nn-train -q --save "$BATS_TEST_TMPDIR/m" --checkpoint "$BATS_TEST_TMPDIR/m" "$D/batches"
    check_usage_error "nn-train: --save '$BATS_TEST_TMPDIR' is a folder; name a file" \
        nn-train -q --save "$BATS_TEST_TMPDIR" "$D/batches"
}

@test "nn-train exits quietly on closed pipe" {
    # Batches of 1: 45 minibatch records of about 110 bytes per epoch.
    nn-shuffle -q -e 30 "$D/training" | nn-batch -q 1 >"$BATS_TEST_TMPDIR/ones"
    check_closed_pipe nn-train -q -m one-layer "$BATS_TEST_TMPDIR/ones"
}

@test "nn-train reports a full disk" {
    check_disk_full nn-train -q -m one-layer "$D/batches"
}

@test "large u8 batches train as their float values" {
    # Batches of 500 digits at 96x96 carry 4.6 MB of pixels, enough for
    # nn-train to convert them in place in the reader's buffer; each
    # epoch ends with a smaller batch, converted into a buffer of its
    # own.  Both must give the metrics of the same pixels sent as the
    # floats v * (1 / 255) that the u8 scale stands for.
    local t="$BATS_TEST_TMPDIR"
    nn-load -q -p training "$REPO/datasets/numbers" | nn-resize -q 96x96 |
        nn-shuffle -q -e 2 --seed 3 | nn-batch -q --dtype u8 500 >"$t/u8"
    "$PY" - "$t/u8" "$t/f32" "$t/f64" <<'PYEOF'
import sys
import msgpack
import numpy as np

outs = {"f32": open(sys.argv[2], "wb"), "f64": open(sys.argv[3], "wb")}
with open(sys.argv[1], "rb") as f:
    for rec in msgpack.Unpacker(f, raw=False):
        for dtype, out in outs.items():
            r = dict(rec)
            if r["type"] == "batch":
                v = np.frombuffer(r.pop("data"), np.uint8) * r.pop("scale")
                r["data"] = v.astype(np.float32 if dtype == "f32"
                                     else np.float64).tobytes()
                r["dtype"] = dtype
            out.write(msgpack.packb(r, use_bin_type=True))
PYEOF
    [ "$(nn-dump "$t/u8" | jq -c 'select(.type == "batch") | .shape[0]' |
         tr '\n' ' ')" = "500 210 500 210 " ]
    for bits in 32 64; do
        nn-train -q --precision "$bits" -m n-layers -l 8 "$t/u8" |
            nn-dump | jq -c 'select(.type == "metrics") | del(.seconds)' \
            >"$t/from-u8"
        nn-train -q --precision "$bits" -m n-layers -l 8 "$t/f$bits" |
            nn-dump | jq -c 'select(.type == "metrics") | del(.seconds)' \
            >"$t/from-float"
        [ "$(wc -l <"$t/from-u8")" -eq 6 ]
        diff "$t/from-u8" "$t/from-float"
    done
}

@test "large batches of every dtype convert in place" {
    # Batches of 500 digits at 96x96 taking turns as u8, f32 and f64
    # records: each is converted in the buffer the one before left, so
    # the peak stays that of the u8 stream.  The metrics must be those
    # of the same values, all sent as f64: v * (1 / 255), rounded to
    # float first where the batch was f32.
    local t="$BATS_TEST_TMPDIR" mixed u8
    nn-load -q -p training "$REPO/datasets/numbers" | nn-resize -q 96x96 |
        nn-shuffle -q -e 2 --seed 3 | nn-batch -q --dtype u8 500 >"$t/u8"
    "$PY" - "$t/u8" "$t/mixed" "$t/f64" <<'PYEOF'
import sys
import msgpack
import numpy as np

mixed, f64 = open(sys.argv[2], "wb"), open(sys.argv[3], "wb")
n = 0
with open(sys.argv[1], "rb") as f:
    for rec in msgpack.Unpacker(f, raw=False):
        if rec["type"] != "batch":
            mixed.write(msgpack.packb(rec, use_bin_type=True))
            f64.write(msgpack.packb(rec, use_bin_type=True))
            continue
        values = np.frombuffer(rec["data"], np.uint8) * rec["scale"]
        dtype = ["u8", "f32", "f64"][n % 3]
        n += 1
        if dtype != "u8":
            r = dict(rec, dtype=dtype, data=values.astype(
                np.float32 if dtype == "f32" else np.float64).tobytes())
            del r["scale"]
            mixed.write(msgpack.packb(r, use_bin_type=True))
        else:
            mixed.write(msgpack.packb(rec, use_bin_type=True))
        if dtype == "f32":
            values = values.astype(np.float32).astype(np.float64)
        r = dict(rec, dtype="f64", data=values.tobytes())
        del r["scale"]
        f64.write(msgpack.packb(r, use_bin_type=True))
PYEOF
    [ "$(nn-dump "$t/mixed" | jq -r 'select(.type == "batch") | .dtype' |
         tr '\n' ' ')" = "u8 f32 f64 u8 " ]
    nn-train -q --precision 64 -l 8 "$t/mixed" | nn-dump |
        jq -c 'select(.type == "metrics") | del(.seconds)' >"$t/from-mixed"
    nn-train -q --precision 64 -l 8 "$t/f64" | nn-dump |
        jq -c 'select(.type == "metrics") | del(.seconds)' >"$t/from-f64"
    diff "$t/from-mixed" "$t/from-f64"

    # AddressSanitizer's realloc copies where glibc's moves pages
    # (mremap), so the f64 record and the buffer it outgrows coexist.
    if [ -n "${NN_SANITIZED:-}" ]; then
        return
    fi
    mixed=$(peak_kb nn-train -q --precision 64 -l 8 "$t/mixed")
    u8=$(peak_kb nn-train -q --precision 64 -l 8 "$t/u8")
    echo "peak KiB: $mixed for the mixed stream, $u8 for u8 alone"
    [ "$mixed" -le $((u8 + 1024)) ]
}

@test "small u8 batches reuse the large buffer" {
    # After a batch converted in place, the reader keeps a buffer that
    # holds 500 samples as floats.  The smaller batch that ends each
    # epoch must be converted inside it too, not in a second buffer
    # (210 x 9216 floats, 7.7 MB), so dropping the small batches must
    # not lower the peak.
    local t="$BATS_TEST_TMPDIR" mixed big
    nn-load -q -p training "$REPO/datasets/numbers" | nn-resize -q 96x96 |
        nn-shuffle -q -e 2 --seed 3 | nn-batch -q --dtype u8 500 >"$t/mixed"
    "$PY" - "$t/mixed" "$t/big" <<'PYEOF'
import sys
import msgpack

with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb") as out:
    for rec in msgpack.Unpacker(f, raw=False):
        if rec["type"] != "batch" or rec["shape"][0] == 500:
            out.write(msgpack.packb(rec, use_bin_type=True))
PYEOF
    mixed=$(peak_kb nn-train -q --precision 32 -l 8 "$t/mixed")
    big=$(peak_kb nn-train -q --precision 32 -l 8 "$t/big")
    echo "peak KiB: $mixed with the small batches, $big without"
    [ "$mixed" -le $((big + 1024)) ]
}

@test "joined streams train as one run" {
    # cat joins two sample streams, headers and all: nn-train writes one
    # header and reads --dev once, here from a pipe that cannot be
    # read twice.
    local t="$BATS_TEST_TMPDIR"
    nn-load -q -p training "$D/colors" >"$t/training"
    cat "$t/training" "$t/training" | nn-batch -q 8 >"$t/joined"
    nn-train -q -l 4 --dev <(nn-load -q -p dev "$D/colors") "$t/joined" \
        >"$t/metrics"
    [ "$(nn-dump "$t/metrics" | jq -c 'select(.type == "header")' | wc -l)" -eq 1 ]
    [ "$(nn-dump "$t/metrics" | jq -c 'select(.scope == "epoch") | .dev_accuracy' |
         wc -l)" -eq 1 ]
}
