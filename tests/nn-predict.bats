#!/usr/bin/env bats
# nn-predict: a model saved by nn-run reproduces the figures nn-train
# reported for it, prediction records carry their fields, PNG files
# can be classified one by one, and bad models and samples are
# rejected with clear errors.

load helpers
load training_helpers

setup_file() {
    cd "$BATS_FILE_TMPDIR"
    ln -s "$DATASETS" datasets
    # Two numbers models: running and batch statistics at inference.
    nn-run --dataset=numbers --model=NLayers --layers=32 --nbr-epochs=10 \
        --max-minibatch-size=100 --eval-test --exp-id=running \
        --experiment --dataset=numbers --model=NLayers --layers=32 \
        --nbr-epochs=10 --max-minibatch-size=100 --bn-inference=batch \
        --exp-id=batch >/dev/null 2>"$BATS_FILE_TMPDIR/nn-run.err"
}

setup() {
    D="$BATS_FILE_TMPDIR"
    T="$BATS_TEST_TMPDIR"
    RUN="$D/runs/running"
}

# summary_field RUN FIELD: a field of RUN's summary.json.
summary_field() {
    jq ".$2" "$1/summary.json"
}

# prediction_metrics MODEL FILE...: nn-predict's metrics record.
prediction_metrics() {
    local model="$1"
    shift
    nn-predict -q --model "$model" "$@" | nn-dump | jq -c 'select(.type == "metrics")'
}

@test "nn-predict reproduces the test accuracy" {
    local metrics
    metrics=$(prediction_metrics "$RUN/model.nn" "$RUN/test.nn")
    echo "nn-predict: $metrics"
    echo "summary: test_accuracy $(summary_field "$RUN" test_accuracy), test_cost $(summary_field "$RUN" test_cost)"
    [ "$(jq -c '[.type, .scope, .samples]' <<<"$metrics")" = '["metrics","prediction",130]' ]
    [ "$(jq --argjson a "$(summary_field "$RUN" test_accuracy)" '.accuracy == $a' <<<"$metrics")" = true ]
    close_to "$(jq .cost <<<"$metrics")" "$(summary_field "$RUN" test_cost)" 1e-12
}

@test "nn-predict reproduces the dev figures" {
    local metrics
    metrics=$(prediction_metrics "$RUN/model.nn" "$RUN/dev.nn")
    [ "$(jq --argjson a "$(summary_field "$RUN" dev_accuracy)" '.accuracy == $a' <<<"$metrics")" = true ]
    close_to "$(jq .cost <<<"$metrics")" "$(summary_field "$RUN" dev_cost)" 1e-12
    # The confusion matrix is the last epoch's.
    [ "$(jq -c .confusion <<<"$metrics")" = \
        "$(metrics_of "$RUN/metrics.nn" | scope epoch | tail -n 1 | jq -c .dev_confusion)" ]
}

@test "nn-predict batch statistics in one pass" {
    # A model saved with --bn-inference=batch normalises with the
    # statistics of all its input, as nn-train's dev evaluation did.
    local run="$D/runs/batch" metrics
    [ "$(nn-dump "$run/model.nn" | jq -r 'select(.type == "model") | .bn_mode')" = batch ]
    metrics=$(prediction_metrics "$run/model.nn" "$run/dev.nn")
    [ "$(jq --argjson a "$(summary_field "$run" dev_accuracy)" '.accuracy == $a' <<<"$metrics")" = true ]
    close_to "$(jq .cost <<<"$metrics")" "$(summary_field "$run" dev_cost)" 1e-12
}

@test "nn-predict writes a record per sample" {
    nn-predict -q --model "$RUN/model.nn" "$RUN/test.nn" | nn-dump >"$T/out"
    local predictions
    predictions=$(jq -c 'select(.type == "prediction")' "$T/out")
    [ "$(wc -l <<<"$predictions")" -eq 130 ]
    [ "$(head -n 1 "$T/out" | jq -c '[.type, .classes, .source]')" = '["header",["0","1","2","3","4","5","6","7","8","9"],"nn-predict"]' ]
    [ "$(head -n 1 <<<"$predictions" | jq -c keys_unsorted)" = '["type","id","label","class","probabilities","true_label"]' ]
    # Ids and true labels in the order of the input.
    [ "$(jq -c '[.id, .true_label]' <<<"$predictions")" = \
        "$(nn-dump "$RUN/test.nn" | jq -c 'select(.type == "sample") | [.id, .label]')" ]
    # The label is the most likely class, and its name goes with it.
    [ "$(jq -c '(.probabilities | index(max)) == .label and .class == (.label | tostring)' <<<"$predictions" | sort -u)" = true ]
    [ "$(jq -c '.probabilities | length == 10 and all(. >= 0 and . <= 1)' <<<"$predictions" | sort -u)" = true ]
    [ "$(jq -c '(.probabilities | add) - 1 | fabs < 1e-6' <<<"$predictions" | sort -u)" = true ]
    # The metrics record comes last.
    [ "$(tail -n 1 "$T/out" | jq -r .scope)" = prediction ]
}

@test "nn-predict reads joined streams as one" {
    # cat keeps the second stream's header: one header comes out, and
    # the metrics count both copies.
    cat "$RUN/test.nn" "$RUN/test.nn" |
        nn-predict -q --model "$RUN/model.nn" | nn-dump >"$T/out"
    [ "$(jq -c 'select(.type == "header")' "$T/out" | wc -l)" -eq 1 ]
    [ "$(jq -c 'select(.type == "prediction")' "$T/out" | wc -l)" -eq 260 ]
    [ "$(tail -n 1 "$T/out" | jq .samples)" -eq 260 ]
}

@test "nn-predict counts the confusion matrix" {
    nn-predict -q --model "$RUN/model.nn" "$RUN/test.nn" | nn-dump >"$T/out"
    local counted
    counted=$(jq -s -c '[.[] | select(.type == "prediction")] as $p
        | [range(10) as $t | [range(10) as $c
            | [$p[] | select(.true_label == $t and .label == $c)] | length]]' "$T/out")
    [ "$(tail -n 1 "$T/out" | jq -c .confusion)" = "$counted" ]
    [ "$(tail -n 1 "$T/out" | jq -c '.accuracy == ([range(10) as $i | .confusion[$i][$i]] | add) / 130')" = true ]
}

@test "nn-predict same answer across chunks" {
    # 260 samples: the second copy of the test set straddles the end
    # of the first 256-sample pass.
    nn-predict -q --model "$RUN/model.nn" "$RUN/test.nn" "$RUN/test.nn" |
        nn-dump | jq -c 'select(.type == "prediction") | [.label, .probabilities]' >"$T/both"
    [ "$(wc -l <"$T/both")" -eq 260 ]
    [ "$(head -n 130 "$T/both" | jq -c '.[0]')" = "$(tail -n 130 "$T/both" | jq -c '.[0]')" ]
    [ "$(paste -d ' ' <(head -n 130 "$T/both") <(tail -n 130 "$T/both") |
        jq -s -c '[range(0; length; 2) as $i | [.[$i][1], .[$i + 1][1]] | transpose[]
            | (.[0] - .[1] | fabs) < 1e-6] | all')" = true ]
}

@test "nn-predict classifies a PNG file" {
    local png="$DATASETS/numbers/3/3-0000.png"
    nn-load -q "$png" | nn-resize -q 28x28 |
        nn-predict -q --model "$RUN/model.nn" | nn-dump >"$T/out"
    [ "$(wc -l <"$T/out")" -eq 2 ]
    [ "$(head -n 1 "$T/out" | jq -r .type)" = header ]
    [ "$(tail -n 1 "$T/out" | jq -c '[.type, .id, (.probabilities | length)]')" = "[\"prediction\",\"$png\",10]" ]
    # Its class is not one of the model's, so there is no true label
    # and no accuracy.
    [ "$(tail -n 1 "$T/out" | jq -c 'has("true_label")')" = false ]
    [ "$(jq -c 'select(.type == "metrics")' "$T/out" | wc -l)" -eq 0 ]
}

@test "nn-predict logs that labels are ignored" {
    run --separate-stderr bash -c 'nn-load -q "$1" | nn-predict --model "$2" >/dev/null' \
        _ "$DATASETS/numbers/7/7-0000.png" "$RUN/model.nn"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *" nn-predict info: the input's classes are not the model's: labels are ignored" ]]
}

@test "nn-predict takes a resized colour PNG" {
    nn-load -q "$DATASETS/colors/red/red-00.png" | nn-resize -q --grayscale 28x28 |
        nn-predict -q --model "$RUN/model.nn" | nn-dump >"$T/out"
    [ "$(jq -c 'select(.type == "prediction") | .probabilities | length' "$T/out")" = 10 ]
}

@test "nn-predict rejects samples of another shape" {
    pack '[header([str(i) for i in range(10)]), sample("wide", 1, [28, 30, 1])]' >"$T/in"
    fails_with "nn-predict: '$T/in': record 2: sample 'wide' has shape [28,30,1], the model expects [28,28,1]: resize it first" \
        nn-predict -q --model "$RUN/model.nn" "$T/in"
    nn-load -q "$DATASETS/colors/red/red-00.png" >"$T/red"
    fails_with "nn-predict: '$T/red': record 2: sample '$DATASETS/colors/red/red-00.png' has shape [32,32,3], the model expects [28,28,1]: resize it first" \
        nn-predict -q --model "$RUN/model.nn" "$T/red"
}

@test "nn-predict rejects other model shape" {
    # The record says 33 hidden units, its tensors hold 32.
    "$PY" - "$RUN/model.nn" "$T/shape.nn" <<'EOF'
import sys

import msgpack

with open(sys.argv[1], "rb") as f:
    records = list(msgpack.Unpacker(f, raw=False))
records[1]["hidden"] = [33]
with open(sys.argv[2], "wb") as f:
    for r in records:
        f.write(msgpack.packb(r, use_bin_type=True))
EOF
    run --separate-stderr nn-predict -q --model "$T/shape.nn" "$RUN/test.nn"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ "$stderr" == "nn-predict: '$T/shape.nn': "?* ]]
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
}

@test "nn-predict rejects a cut model file" {
    local last
    last=$(record_hex "$RUN/model.nn" | tail -n 1)
    head -c -100 "$RUN/model.nn" >"$T/cut.nn"
    fails_with "nn-predict: '$T/cut.nn': record 2: truncated record: the stream ends inside it after $((${#last} / 2 - 100)) bytes" \
        nn-predict -q --model "$T/cut.nn" "$RUN/test.nn"
}

@test "nn-predict rejects file without model" {
    pack '[header([str(i) for i in range(10)])]' >"$T/empty.nn"
    fails_with "nn-predict: '$T/empty.nn': no model record" \
        nn-predict -q --model "$T/empty.nn" "$RUN/test.nn"
}

@test "nn-predict rejects samples as a model" {
    # A sample stream is not a model file; the error must say so rather
    # than complain about the samples' labels.
    run --separate-stderr nn-predict -q --model "$RUN/dev.nn" "$RUN/test.nn"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [ "$stderr" = "nn-predict: '$RUN/dev.nn': no model record" ]
}

@test "nn-predict rejects a missing model file" {
    fails_with "nn-predict: '$T/none.nn': cannot open: No such file or directory" \
        nn-predict -q --model "$T/none.nn" "$RUN/test.nn"
}

@test "nn-predict needs --model" {
    check_usage_error "nn-predict: missing --model=FILE" nn-predict "$RUN/test.nn"
}

@test "nn-predict --help" {
    check_help nn-predict
    run nn-predict --help
    [[ "$output" == *"  -m, --model=FILE "* ]]
}

@test "nn-predict rejects unknown options" {
    check_unknown_option nn-predict --bogus
}
