# Functions shared by the training suites (nn-train-options, checkpoint,
# nn-predict, nn-run, pipeline): load it after helpers with
# `load training_helpers`.
#
# Every suite runs twice, the second time with NN_PRECISION=32, which
# nn-train and nn-run take as their default precision.  Figures that
# depend on the precision come from the functions below.

DATASETS="$REPO/datasets"

# precision_bits: the default precision of nn-train and nn-run, 64 or 32.
precision_bits() {
    echo "${NN_PRECISION:-64}"
}

# gradient_limit: the largest gradient-check distance a correct
# gradient may show.  Rounding makes central differences much less
# exact in float32: trained ReLU networks measure up to 1.5e-2 there,
# so the bound is nn-train's own 32-bit threshold, 0.2.
gradient_limit() {
    if [ "$(precision_bits)" = 32 ]; then echo 0.2; else echo 1e-7; fi
}

# model_dtype: the dtype of model tensors at the default precision.
model_dtype() {
    if [ "$(precision_bits)" = 32 ]; then echo f32; else echo f64; fi
}

# make_batches SAMPLES EPOCHS SIZE SEED OUT: shuffle SAMPLES for EPOCHS
# epochs with SEED and group them in batches of SIZE into OUT.
make_batches() {
    nn-shuffle -q -e "$2" --seed "$4" "$1" | nn-batch -q "$3" >"$5"
}

# metrics_of FILE: the metrics records of a stream as JSON lines.
metrics_of() {
    nn-dump "$1" | jq -c 'select(.type == "metrics")'
}

# scope SCOPE: keep the metrics records of SCOPE from JSON lines on stdin.
scope() {
    jq -c --arg s "$1" 'select(.scope == $s)'
}

# first_cost FILE: the cost of the first minibatch record in FILE.
first_cost() {
    metrics_of "$1" | scope minibatch | head -n 1 | jq .cost
}

# checkpoint_epoch FILE: the epoch in progress stored in a checkpoint
# file, or -1 when the file is missing or cannot be read.
checkpoint_epoch() {
    local epoch
    epoch=$(nn-dump "$1" 2>/dev/null |
        jq -r 'select(.type == "checkpoint") | .epoch' 2>/dev/null)
    echo "${epoch:--1}"
}

# wait_for_checkpoint FILE EPOCH PID: wait until FILE contains a
# checkpoint of epoch EPOCH or later, while process PID runs.  Fails
# when PID ends first or after 30 s.
wait_for_checkpoint() {
    local tries
    for ((tries = 0; tries < 1500; tries++)); do
        if [ "$(checkpoint_epoch "$1")" -ge "$2" ]; then
            return 0
        fi
        if ! kill -0 "$3" 2>/dev/null; then
            echo "process $3 ended before $1 reached epoch $2"
            return 1
        fi
        sleep 0.02
    done
    echo "timed out waiting for $1 to reach epoch $2"
    return 1
}

# nan_batch OUT: a two-class stream whose one batch has a NaN pixel.
nan_batch() {
    pack '[header(["a", "b"]),
           {"type": "batch", "epoch": 0, "index": 0, "labels": [0, 1],
            "dtype": "f32", "shape": [2, 1, 1, 2],
            "data": struct.pack("<4f", 0.5, float("nan"), 0.25, 0.75)}]' >"$1"
}

# sum_of_squares MODEL: the sum of squares of every trainable value in
# a model file, the ||theta||^2 of the L2 term.
sum_of_squares() {
    "$PY" - "$1" <<'EOF'
import sys

import msgpack
import numpy

with open(sys.argv[1], "rb") as f:
    records = list(msgpack.Unpacker(f, raw=False))
model = next(r for r in records if r["type"] == "model")
total = 0.0
for p in model["params"]:
    dtype = {"f32": "<f4", "f64": "<f8"}[p["dtype"]]
    values = numpy.frombuffer(p["data"], dtype=dtype)
    total += float(numpy.sum(values.astype(numpy.float64) ** 2))
print(repr(total))
EOF
}

# close_to GOT WANT REL: |GOT - WANT| <= REL * |WANT|, printing both if not.
close_to() {
    if ! jq -n --argjson g "$1" --argjson w "$2" --argjson r "$3" \
        -e '($g - $w | fabs) <= $r * ($w | fabs)' >/dev/null; then
        echo "got $1, expected $2 within a relative $3"
        return 1
    fi
}
