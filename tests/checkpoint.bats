#!/usr/bin/env bats
# nn-train --checkpoint and --resume: a run stopped by SIGKILL or SIGINT
# and resumed with the same input ends with the model of a run that was
# never stopped, byte for byte; checkpoints of other settings and cut
# files are rejected; no temporary file is left behind.

load helpers
load training_helpers

# The settings of every run here: 200 epochs of numbers in batches of
# 100, long enough (about a second) to stop it midway.
TRAIN_ARGS=(-q -l 16 --model-seed 3 --dev)

setup_file() {
    local dir="$BATS_FILE_TMPDIR"
    nn-load -q -p training "$DATASETS/numbers" >"$dir/training"
    nn-load -q -p dev "$DATASETS/numbers" >"$dir/dev"
    batches "$dir" | nn-train "${TRAIN_ARGS[@]}" "$dir/dev" \
        --save "$dir/reference.nn" >"$dir/reference.metrics"
}

setup() {
    D="$BATS_FILE_TMPDIR"
    T="$BATS_TEST_TMPDIR"
}

# batches DIR: the training batches of every run, from DIR/training.
batches() {
    nn-shuffle -q -e 200 --seed 0 "$1/training" | nn-batch -q 100
}

# epoch_records FILE FIRST: the epoch metrics of FILE from epoch FIRST
# on, without the timing.
epoch_records() {
    metrics_of "$1" | scope epoch |
        jq -c --argjson first "$2" 'select(.epoch >= $first) | del(.seconds)'
}

# start_training OUT ARG...: run the batches into nn-train in the
# background with a checkpoint in $T/checkpoint.nn; the metrics go to
# OUT, stderr to OUT.err.  Sets PID to nn-train's process id.
start_training() {
    local out="$1"
    shift
    batches "$D" | nn-train "${TRAIN_ARGS[@]}" "$D/dev" \
        --checkpoint "$T/checkpoint.nn" "$@" >"$out" 2>"$out.err" &
    PID=$!
}

# resume_training OUT: run the same input again from the checkpoint.
resume_training() {
    batches "$D" | nn-train "${TRAIN_ARGS[@]}" "$D/dev" \
        --checkpoint "$T/checkpoint.nn" --resume "$T/checkpoint.nn" \
        --save "$T/model.nn" >"$1"
}

@test "checkpoint after SIGKILL resumes exactly" {
    local status=0 epoch
    start_training "$T/first" --save "$T/model.nn"
    wait_for_checkpoint "$T/checkpoint.nn" 3 "$PID"
    kill -KILL "$PID"
    wait "$PID" || status=$?
    [ "$status" -eq 137 ]
    # Stopped midway: no model yet, fewer than 200 epochs.
    [ ! -e "$T/model.nn" ]
    [ "$(epoch_records "$T/first" 0 | wc -l)" -lt 200 ]
    # The checkpoint is whole even if the kill came while it was written.
    epoch=$(checkpoint_epoch "$T/checkpoint.nn")
    echo "killed with a checkpoint of epoch $epoch"
    [ "$epoch" -ge 3 ]
    [ "$epoch" -lt 200 ]

    resume_training "$T/second"
    cmp "$T/model.nn" "$D/reference.nn"
    # The resumed run writes the same epoch records as an unstopped one.
    [ "$(epoch_records "$T/second" 0 | head -n 1 | jq .epoch)" -eq "$epoch" ]
    [ "$(epoch_records "$T/second" 0)" = "$(epoch_records "$D/reference.metrics" "$epoch")" ]
}

@test "checkpoint after SIGINT resumes exactly" {
    local status=0 epoch batches_done
    start_training "$T/first" --save "$T/model.nn"
    wait_for_checkpoint "$T/checkpoint.nn" 3 "$PID"
    kill -INT "$PID"
    wait "$PID" || status=$?
    [ "$status" -eq 130 ]
    [[ "$(tail -n 1 "$T/first.err")" == *" nn-train warn: interrupted: checkpoint written to '$T/checkpoint.nn'; continue with --resume=$T/checkpoint.nn" ]]
    [ ! -e "$T/model.nn" ]
    # Written at the interrupt, so it may hold part of an epoch.
    epoch=$(checkpoint_epoch "$T/checkpoint.nn")
    batches_done=$(nn-dump "$T/checkpoint.nn" | jq 'select(.type == "checkpoint") | .batches_done')
    echo "interrupted at epoch $epoch after $batches_done batches"
    [ "$(ls -A "$T" | grep -c 'tmp')" -eq 0 ]

    resume_training "$T/second"
    cmp "$T/model.nn" "$D/reference.nn"
    [ "$(epoch_records "$T/second" 0)" = "$(epoch_records "$D/reference.metrics" "$epoch")" ]
    # The minibatches continue where the interrupted run stopped: at the
    # next epoch when the interrupt came after an epoch's last batch but
    # before its epoch marker.
    local per_epoch next="[$epoch,$batches_done]"
    per_epoch=$(metrics_of "$D/reference.metrics" | scope minibatch |
        jq -c 'select(.epoch == 0)' | wc -l)
    if [ "$batches_done" -eq "$per_epoch" ]; then
        next="[$((epoch + 1)),0]"
    fi
    [ "$(metrics_of "$T/second" | scope minibatch | head -n 1 | jq -c '[.epoch, .index]')" = "$next" ]
}

@test "checkpoint leaves no temporary file" {
    nn-shuffle -q -e 3 --seed 0 "$D/training" | nn-batch -q 100 |
        nn-train -q -l 8 --checkpoint "$T/checkpoint.nn" --save "$T/model.nn" >/dev/null
    [ "$(ls -A "$T" | tr '\n' ' ')" = "checkpoint.nn model.nn " ]
    # A whole checkpoint: header, model, then the checkpoint record.
    [ "$(nn-dump "$T/checkpoint.nn" | jq -r .type | tr '\n' ' ')" = "header model checkpoint " ]
    [ "$(checkpoint_epoch "$T/checkpoint.nn")" -eq 3 ]
}

@test "checkpoint of finished run" {
    make_batches "$D/training" 3 100 0 "$T/batches"
    nn-train -q -l 8 --checkpoint "$T/checkpoint.nn" --save "$T/first.nn" \
        "$T/batches" >/dev/null
    nn-train -q -l 8 --resume "$T/checkpoint.nn" --save "$T/second.nn" \
        "$T/batches" >"$T/out"
    cmp "$T/first.nn" "$T/second.nn"
    [ "$(metrics_of "$T/out" | wc -l)" -eq 0 ]
}

@test "checkpoint keeps early stopping state" {
    # A run that ends after 5 epochs, resumed on all 12, must stop and
    # keep the same best weights as a run on all 12 at once.
    make_batches "$D/training" 12 100 1 "$T/long"
    make_batches "$D/training" 5 100 1 "$T/short"
    local args=(-q -l 32 -r 0.01 --dev "$D/dev" --early-stopping-patience 1
        --stop-early)
    nn-train "${args[@]}" --save "$T/whole.nn" "$T/long" >"$T/whole"
    nn-train "${args[@]}" --checkpoint "$T/checkpoint.nn" "$T/short" >/dev/null
    nn-train "${args[@]}" --resume "$T/checkpoint.nn" --save "$T/resumed.nn" \
        "$T/long" >"$T/resumed"
    [ "$(metrics_of "$T/whole" | scope early_stop | wc -l)" -eq 1 ]
    [ "$(metrics_of "$T/resumed" | scope early_stop)" = "$(metrics_of "$T/whole" | scope early_stop)" ]
    cmp "$T/whole.nn" "$T/resumed.nn"
}

@test "checkpoint of other settings is rejected" {
    make_batches "$D/training" 2 100 0 "$T/batches"
    nn-train -q -l 8 --checkpoint "$T/checkpoint.nn" "$T/batches" >/dev/null
    run --separate-stderr nn-train -q -l 8 -r 0.002 --resume "$T/checkpoint.nn" "$T/batches"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "nn-train: cannot resume from '$T/checkpoint.nn': written with other settings: model=n-layers hidden=8 "*" learning_rate=0.001 "* ]]
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
}

# rejects_resume ARG...: nn-train ARG... --resume $T/checkpoint.nn on
# $T/batches exits with 1 and one line naming the checkpoint.
rejects_resume() {
    run --separate-stderr nn-train -q "$@" --resume "$T/checkpoint.nn" "$T/batches"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "nn-train: cannot resume from '$T/checkpoint.nn': "?* ]]
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
}

@test "checkpoint of another network is rejected" {
    make_batches "$D/training" 2 100 0 "$T/batches"
    nn-train -q -l 8 --checkpoint "$T/checkpoint.nn" "$T/batches" >/dev/null
    rejects_resume -l 9
    rejects_resume -l 8,4
    rejects_resume -m one-layer
}

@test "checkpoint of other precision is rejected" {
    make_batches "$D/training" 2 100 0 "$T/batches"
    nn-train -q -l 8 --precision 64 --checkpoint "$T/checkpoint.nn" "$T/batches" >/dev/null
    rejects_resume -l 8 --precision 32
}

@test "checkpoint that is cut is rejected" {
    make_batches "$D/training" 2 100 0 "$T/batches"
    nn-train -q -l 8 --checkpoint "$T/checkpoint.nn" "$T/batches" >/dev/null
    local n last
    n=$(record_hex "$T/checkpoint.nn" | wc -l)
    last=$(record_hex "$T/checkpoint.nn" | tail -n 1)
    [ "$n" -eq 3 ]
    head -c -10 "$T/checkpoint.nn" >"$T/cut.nn"
    fails_with "nn-train: cannot resume from '$T/cut.nn': record 3: truncated record: the stream ends inside it after $((${#last} / 2 - 10)) bytes" \
        nn-train -q -l 8 --resume "$T/cut.nn" "$T/batches"
    # Cut inside the model record, the second.
    head -c 2000 "$T/checkpoint.nn" >"$T/cut.nn"
    run --separate-stderr nn-train -q -l 8 --resume "$T/cut.nn" "$T/batches"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "nn-train: cannot resume from '$T/cut.nn': record 2: truncated record: the stream ends inside it after "*" bytes" ]]
}

@test "checkpoint must be a checkpoint" {
    make_batches "$D/training" 2 100 0 "$T/batches"
    nn-train -q -l 8 --save "$T/model.nn" "$T/batches" >/dev/null
    fails_with "nn-train: cannot resume from '$T/model.nn': not a checkpoint: no checkpoint record" \
        nn-train -q -l 8 --resume "$T/model.nn" "$T/batches"
    fails_with "nn-train: cannot resume from '$T/none.nn': cannot open: No such file or directory" \
        nn-train -q -l 8 --resume "$T/none.nn" "$T/batches"
}

@test "checkpoint to a missing folder fails" {
    make_batches "$D/training" 1 100 0 "$T/batches"
    run --separate-stderr nn-train -q -l 8 --checkpoint "$T/none/checkpoint.nn" "$T/batches"
    [ "$status" -eq 2 ]
    [ "${stderr%%$'\n'*}" = "nn-train: --checkpoint '$T/none/checkpoint.nn': cannot write in folder '$T/none': No such file or directory" ]
}
