#!/usr/bin/env bats
# Golden metrics: six fixed trainings on datasets/numbers, five in 64-bit
# and one in 32-bit, must give the cost, accuracy and dev cost of every
# metrics record stored in tests/data/golden/metrics-*.json, to 1e-12
# relative.  A change to a kernel or an optimizer that alters results
# beyond rounding fails here.
#
# To regenerate the stored values after a deliberate change of results:
#   NN_GOLDEN_UPDATE=1 bats tests/golden.bats
# The stored values depend on the OpenBLAS build and on the kernel it
# runs, because the order of the sums inside a GEMM changes the last
# bits: 32-bit results differ by about 1e-8 between OpenBLAS's Haswell
# and SkylakeX kernels.  So the suite asks for the Haswell kernels,
# which every CPU with AVX2 and FMA runs (Intel since 2013, AMD since
# Zen).  The values were made with OpenBLAS 0.3.21 (Debian 12), one
# thread, OPENBLAS_CORETYPE=Haswell, on an AMD EPYC with AVX-512.

load helpers

GOLDEN="$REPO/tests/data/golden"

# NOTE: without AVX2 and FMA, OpenBLAS picks an older kernel: the 64-bit
# values still hold to 1e-12, but the 32-bit test is skipped.
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
fi

setup_file() {
    local dir="$BATS_FILE_TMPDIR"
    nn-load -q -p training "$REPO/datasets/numbers" >"$dir/training"
    nn-load -q -p dev "$REPO/datasets/numbers" >"$dir/dev"
    # 710 samples: 3 epochs of 14 batches of 50 and one of 10
    nn-shuffle -q -e 3 --seed 5 "$dir/training" | nn-batch -q 50 \
        >"$dir/batches"
}

setup() {
    if [ "${NN_PRECISION:-64}" = 32 ]; then
        skip "golden metrics are 64-bit values (NN_PRECISION=32)"
    fi
    D="$BATS_FILE_TMPDIR"
}

# Compare the metrics records of the stream in $1 with the JSON lines
# of $2: the same records in the same order, and every stored cost,
# accuracy and dev_cost within 1e-12 relative.  Prints each mismatch.
read -r -d '' COMPARE_PY <<'PYEOF' || true
import json, sys

import msgpack

FIELDS = ("scope", "epoch", "step", "cost", "accuracy", "dev_cost")
TOLERANCE = 1e-12


def metrics(path):
    with open(path, "rb") as f:
        records = msgpack.Unpacker(f, raw=False)
        return [{k: r[k] for k in FIELDS if k in r}
                for r in records if r.get("type") == "metrics"]


got = metrics(sys.argv[1])
if len(sys.argv) > 3:
    with open(sys.argv[2], "w") as f:
        for r in got:
            f.write(json.dumps(r) + "\n")
    sys.exit(0)

with open(sys.argv[2]) as f:
    want = [json.loads(line) for line in f]
errors = []
if len(got) != len(want):
    errors.append("%d metrics records, expected %d" % (len(got), len(want)))
for i, (g, w) in enumerate(zip(got, want)):
    if sorted(g) != sorted(w):
        errors.append("record %d: fields %s, expected %s"
                      % (i, sorted(g), sorted(w)))
        continue
    for k, v in w.items():
        if isinstance(v, float):
            scale = max(abs(v), 1e-300)
            if abs(g[k] - v) > TOLERANCE * scale:
                errors.append("record %d (%s %s): %s = %r, expected %r, "
                              "relative difference %.3g"
                              % (i, w["scope"], w.get("step", w["epoch"]),
                                 k, g[k], v, abs(g[k] - v) / scale))
        elif g[k] != v:
            errors.append("record %d: %s = %r, expected %r"
                          % (i, k, g[k], v))
for e in errors[:20]:
    print(e)
sys.exit(1 if errors else 0)
PYEOF

# matches_golden NAME BITS ARG...: nn-train ARG... on the batches, in
# BITS precision on one thread, gives the metrics of
# tests/data/golden/metrics-NAME.json.  With NN_GOLDEN_UPDATE=1 it
# writes that file first.
matches_golden() {
    local name="$1" bits="$2" out="$BATS_TEST_TMPDIR/metrics"
    shift 2
    nn-train -q --precision "$bits" --threads 1 --model-seed 7 "$@" \
        "$D/batches" >"$out"
    if [ "${NN_GOLDEN_UPDATE:-0}" = 1 ]; then
        "$PY" -c "$COMPARE_PY" "$out" "$GOLDEN/metrics-$name.json" update
    fi
    run "$PY" -c "$COMPARE_PY" "$out" "$GOLDEN/metrics-$name.json"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "golden n-layers adam dropout decay" {
    matches_golden n-layers 64 -m n-layers -l 32,16 --dropout-rate 0.1 \
        --weight-decay 0.01 -o adam -r 0.002 --dev "$D/dev"
}

@test "golden n-layers 32-bit kernels" {
    if [ "${OPENBLAS_CORETYPE:-}" != Haswell ]; then
        skip "32-bit golden values need OpenBLAS's Haswell kernels (AVX2, FMA)"
    fi
    # an explicit --precision 32, checked in the 64-bit pass of the suite
    matches_golden n-layers-f32 32 -m n-layers -l 32,16 --dropout-rate 0.1 \
        --weight-decay 0.01 -o adam -r 0.002 --dev "$D/dev"
}

@test "golden n-layers tanh batch statistics" {
    matches_golden n-layers-tanh 64 -m n-layers -l 24,12 -a tanh \
        --bn-inference batch -o adam --dev "$D/dev"
}

@test "golden n-layers sigmoid" {
    matches_golden n-layers-sigmoid 64 -m n-layers -l 20 -a sigmoid -o adam \
        -r 0.01 --dev "$D/dev"
}

@test "golden one-layer constant" {
    matches_golden one-layer-constant 64 -m one-layer -o constant -r 0.05 \
        --dev "$D/dev"
}

@test "golden one-layer exponential decay" {
    matches_golden one-layer-exp-decay 64 -m one-layer -o exponential-decay \
        -r 0.1 --decay 0.5 --dev "$D/dev"
}

@test "golden files hold every record" {
    local name
    for name in n-layers n-layers-f32 n-layers-tanh n-layers-sigmoid \
        one-layer-constant one-layer-exp-decay; do
        # 3 epochs of 15 minibatches, each followed by its epoch record
        [ "$(wc -l <"$GOLDEN/metrics-$name.json")" -eq 48 ]
        [ "$(grep -c '"dev_cost"' "$GOLDEN/metrics-$name.json")" -eq 3 ]
    done
}
