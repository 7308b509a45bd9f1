#!/usr/bin/env bats
# nn-train's regularisation, precision, initialisation, batch
# normalisation, gradient and instability checks, early stopping,
# tracking, profiling and the test set: each option changes what it
# claims to, on the shipped colors and numbers datasets.

load helpers
load training_helpers

setup_file() {
    local dir="$BATS_FILE_TMPDIR"
    nn-load -q -p training "$DATASETS/colors" >"$dir/colors.training"
    nn-load -q -p dev "$DATASETS/colors" >"$dir/colors.dev"
    nn-load -q -p training "$DATASETS/numbers" >"$dir/numbers.training"
    nn-load -q -p dev "$DATASETS/numbers" >"$dir/numbers.dev"
    nn-load -q -p test "$DATASETS/numbers" >"$dir/numbers.test"
    # colors: 66 training samples in batches of 16, 5 per epoch.
    make_batches "$dir/colors.training" 5 16 1 "$dir/colors.5"
    # numbers: 710 training samples in batches of 100, 8 per epoch.
    make_batches "$dir/numbers.training" 2 100 1 "$dir/numbers.2"
    make_batches "$dir/numbers.training" 5 100 1 "$dir/numbers.5"
    make_batches "$dir/numbers.training" 12 100 1 "$dir/numbers.12"
}

setup() {
    D="$BATS_FILE_TMPDIR"
    T="$BATS_TEST_TMPDIR"
}

# --- dropout -------------------------------------------------------------

@test "--dropout-rate changes training metrics" {
    nn-train -q -l 16 --dev "$D/numbers.dev" "$D/numbers.5" >"$T/plain"
    nn-train -q -l 16 --dev "$D/numbers.dev" --dropout-rate 0.3 \
        "$D/numbers.5" >"$T/dropout"
    metrics_of "$T/plain" | scope minibatch | jq .cost >"$T/plain.cost"
    metrics_of "$T/dropout" | scope minibatch | jq .cost >"$T/dropout.cost"
    [ "$(wc -l <"$T/dropout.cost")" -eq 40 ]
    # Dropout acts on the very first forward pass.
    [ "$(head -n 1 "$T/plain.cost")" != "$(head -n 1 "$T/dropout.cost")" ]
    ! cmp -s "$T/plain.cost" "$T/dropout.cost"
}

@test "--dropout-rate keeps dev evaluation" {
    nn-train -q -l 16 --dev "$D/numbers.dev" "$D/numbers.5" >"$T/plain"
    nn-train -q -l 16 --dev "$D/numbers.dev" --dropout-rate 0.3 \
        "$D/numbers.5" >"$T/dropout"
    local plain dropout
    plain=$(metrics_of "$T/plain" | scope epoch)
    dropout=$(metrics_of "$T/dropout" | scope epoch)
    [ "$(jq -c keys_unsorted <<<"$dropout" | sort -u)" = "$(jq -c keys_unsorted <<<"$plain" | sort -u)" ]
    [ "$(jq -c '[.epoch, .dev_samples, ([.dev_confusion[] | add])]' <<<"$dropout")" = \
        "$(jq -c '[.epoch, .dev_samples, ([.dev_confusion[] | add])]' <<<"$plain")" ]
    [ "$(jq -c '.dev_accuracy >= 0 and .dev_accuracy <= 1' <<<"$dropout" | sort -u)" = true ]
}

@test "--dropout-rate repeats per model seed" {
    nn-train -q -l 16 --dropout-rate 0.3 --model-seed 5 "$D/colors.5" |
        nn-dump | jq -c 'select(.type == "metrics") | del(.seconds)' >"$T/one"
    nn-train -q -l 16 --dropout-rate 0.3 --model-seed 5 "$D/colors.5" |
        nn-dump | jq -c 'select(.type == "metrics") | del(.seconds)' >"$T/two"
    cmp "$T/one" "$T/two"
}

@test "--dropout-rate rejects 1" {
    check_usage_error "nn-train: invalid value '1' for --dropout-rate: expected 0 to 0.999999" \
        nn-train --dropout-rate 1
}

# --- weight decay --------------------------------------------------------

@test "--weight-decay adds L2 to cost" {
    # The first minibatch sees the initial weights in every run, so the
    # cost differs from the plain one by (L / 2m) * ||theta||^2: twice
    # as much for L = 2 as for L = 1.
    local plain one two
    nn-train -q -l 16 "$D/numbers.2" >"$T/plain"
    nn-train -q -l 16 --weight-decay 1 "$D/numbers.2" >"$T/one"
    nn-train -q -l 16 --weight-decay 2 "$D/numbers.2" >"$T/two"
    plain=$(first_cost "$T/plain")
    one=$(first_cost "$T/one")
    two=$(first_cost "$T/two")
    [ "$(jq -n "$one > $plain")" = true ]
    close_to "$(jq -n "$two - $plain")" "$(jq -n "2 * ($one - $plain)")" 1e-9
}

@test "--weight-decay huge raises cost" {
    nn-train -q -l 16 "$D/numbers.2" >"$T/plain"
    nn-train -q -l 16 --weight-decay 1000 "$D/numbers.2" >"$T/huge"
    local plain huge
    plain=$(metrics_of "$T/plain" | scope epoch | tail -n 1 | jq .cost)
    huge=$(metrics_of "$T/huge" | scope epoch | tail -n 1 | jq .cost)
    echo "epoch cost: $plain without decay, $huge with 1000"
    [ "$(jq -n "$huge > 10 * $plain")" = true ]
}

@test "--weight-decay in dev cost" {
    # dev_cost = cross-entropy on dev + (L / 2m) ||theta||^2 with m the
    # batch size, 100: nn-predict gives the cross-entropy of the saved
    # weights, which are the last epoch's.
    nn-train -q -l 16 --weight-decay 5 --dev "$D/numbers.dev" \
        --save "$T/model.nn" "$D/numbers.2" >"$T/out"
    local dev_cost cross_entropy l2
    dev_cost=$(metrics_of "$T/out" | scope epoch | tail -n 1 | jq .dev_cost)
    cross_entropy=$(nn-predict -q --model "$T/model.nn" "$D/numbers.dev" |
        nn-dump | jq 'select(.scope == "prediction") | .cost')
    l2=$(sum_of_squares "$T/model.nn")
    close_to "$dev_cost" "$(jq -n "$cross_entropy + 5 / 200 * $l2")" 1e-9
}

@test "--weight-decay passes gradient checks" {
    nn-train -q -l 8 --weight-decay 0.5 --gradient-checks exception \
        --gradient-checks-every 1 "$D/colors.5" >"$T/out"
    local checks
    checks=$(metrics_of "$T/out" | scope gradient_check)
    [ "$(wc -l <<<"$checks")" -eq 25 ]
    [ "$(jq -c --argjson d "$(gradient_limit)" '.distance <= $d' <<<"$checks" | sort -u)" = true ]
}

# --- precision -----------------------------------------------------------

@test "--precision 32 writes f32 tensors" {
    nn-train -q -l 8 --precision 32 --save "$T/model.nn" "$D/colors.5" >/dev/null
    run bash -c 'nn-dump "$1" | jq -c "select(.type == \"model\") | [.dtype, ([.params[], .buffers[] | .dtype] | unique)]"' \
        _ "$T/model.nn"
    [ "$status" -eq 0 ]
    [ "$output" = '["f32",["f32"]]' ]
}

@test "--precision 64 writes f64 tensors" {
    nn-train -q -l 8 --precision 64 --save "$T/model.nn" "$D/colors.5" >/dev/null
    run bash -c 'nn-dump "$1" | jq -c "select(.type == \"model\") | [.dtype, ([.params[], .buffers[] | .dtype] | unique)]"' \
        _ "$T/model.nn"
    [ "$status" -eq 0 ]
    [ "$output" = '["f64",["f64"]]' ]
}

@test "--precision defaults to NN_PRECISION" {
    nn-train -q -l 8 --save "$T/model.nn" "$D/colors.5" >/dev/null
    [ "$(nn-dump "$T/model.nn" | jq -r 'select(.type == "model") | .dtype')" = "$(model_dtype)" ]
}

@test "--precision 32 and 64 learn alike" {
    nn-train -q -l 16 --precision 64 --dev "$D/numbers.dev" "$D/numbers.5" >"$T/64"
    nn-train -q -l 16 --precision 32 --dev "$D/numbers.dev" "$D/numbers.5" >"$T/32"
    local a b
    a=$(metrics_of "$T/64" | scope epoch | tail -n 1 | jq .dev_cost)
    b=$(metrics_of "$T/32" | scope epoch | tail -n 1 | jq .dev_cost)
    [ "$a" != "$b" ]
    close_to "$b" "$a" 1e-3
}

@test "--precision rejects 16" {
    check_usage_error "nn-train: invalid value '16' for --precision: expected 64 or 32" \
        nn-train --precision 16
}

# --- initialisers --------------------------------------------------------

@test "--init values give different initial costs" {
    # One layer: no batch normalisation hides the initial scale.
    local init
    for init in glorot-normal glorot-uniform kaiming; do
        nn-train -q -m one-layer --init "$init" "$D/numbers.2" >"$T/$init"
        first_cost "$T/$init" >"$T/$init.cost"
    done
    [ "$(cat "$T"/*.cost | sort -u | wc -l)" -eq 3 ]
    # The default is glorot-normal.
    nn-train -q -m one-layer "$D/numbers.2" >"$T/default"
    [ "$(first_cost "$T/default")" = "$(cat "$T/glorot-normal.cost")" ]
}

@test "--init takes the original spellings" {
    nn-train -q -m one-layer --init GlorotUniform "$D/numbers.2" >"$T/one"
    nn-train -q -m one-layer --init glorot-uniform "$D/numbers.2" >"$T/two"
    [ "$(first_cost "$T/one")" = "$(first_cost "$T/two")" ]
}

@test "--init rejects an unknown initialiser" {
    check_usage_error "nn-train: invalid initialiser 'xavier': expected glorot-normal, glorot-uniform or kaiming" \
        nn-train --init xavier "$D/numbers.2"
}

# --- batch normalisation at inference ------------------------------------

@test "--bn-inference modes differ on dev" {
    nn-train -q -l 16 --bn-inference running --dev "$D/numbers.dev" \
        --save "$T/running.nn" "$D/numbers.5" >"$T/running"
    nn-train -q -l 16 --bn-inference batch --dev "$D/numbers.dev" \
        --save "$T/batch.nn" "$D/numbers.5" >"$T/batch"
    # Training itself does not depend on the mode.
    [ "$(metrics_of "$T/running" | scope minibatch | jq -c .cost)" = \
        "$(metrics_of "$T/batch" | scope minibatch | jq -c .cost)" ]
    local running batch
    running=$(metrics_of "$T/running" | scope epoch | jq -c '[.dev_cost, .dev_accuracy]')
    batch=$(metrics_of "$T/batch" | scope epoch | jq -c '[.dev_cost, .dev_accuracy]')
    [ "$(wc -l <<<"$running")" -eq 5 ]
    [ "$(paste -d ' ' <(echo "$running") <(echo "$batch") | awk '$1 != $2' | wc -l)" -eq 5 ]
}

@test "--bn-inference is saved in the model" {
    local mode
    for mode in running batch; do
        nn-train -q -l 8 --bn-inference "$mode" --save "$T/$mode.nn" \
            "$D/colors.5" >/dev/null
        [ "$(nn-dump "$T/$mode.nn" | jq -r 'select(.type == "model") | .bn_mode')" = "$mode" ]
    done
}

@test "--bn-inference defaults to running" {
    nn-train -q -l 8 --save "$T/model.nn" "$D/colors.5" >/dev/null
    [ "$(nn-dump "$T/model.nn" | jq -r 'select(.type == "model") | .bn_mode')" = running ]
}

# --- gradient checks -----------------------------------------------------

@test "--gradient-checks-every picks epochs 0, N, 2N" {
    # numbers.5 has 8 batches in each of epochs 0 to 4.
    nn-train -q -l 8 --gradient-checks exception --gradient-checks-every 2 \
        "$D/numbers.5" >"$T/out"
    local checks
    checks=$(metrics_of "$T/out" | scope gradient_check)
    [ "$(jq -c .epoch <<<"$checks" | uniq -c | awk '{ print $2 ":" $1 }' | tr '\n' ' ')" = "0:8 2:8 4:8 " ]
    [ "$(jq -c .step <<<"$checks" | tr '\n' ' ')" = "$(seq -s ' ' 0 7) $(seq -s ' ' 16 23) $(seq -s ' ' 32 39) " ]
}

@test "--gradient-checks-every defaults to 25" {
    nn-train -q -l 8 --gradient-checks exception "$D/numbers.5" >"$T/out"
    [ "$(metrics_of "$T/out" | scope gradient_check | jq -c .epoch | sort -u)" = 0 ]
}

@test "--gradient-checks off writes no checks" {
    nn-train -q -l 8 --gradient-checks off --gradient-checks-every 1 \
        "$D/numbers.2" >"$T/off"
    nn-train -q -l 8 --gradient-checks-every 1 "$D/numbers.2" >"$T/default"
    [ "$(metrics_of "$T/off" | scope gradient_check | wc -l)" -eq 0 ]
    [ "$(metrics_of "$T/default" | scope gradient_check | wc -l)" -eq 0 ]
}

@test "--gradient-checks-samples sets the entries" {
    # -l 8 has 6 tensors: L0 W, L2 gamma and beta, L4 W, L6 gamma and
    # beta.  Repeated draws are checked once.
    nn-train -q -l 8 --gradient-checks exception --gradient-checks-samples 1 \
        "$D/numbers.2" >"$T/one"
    nn-train -q -l 8 --gradient-checks exception --gradient-checks-samples 5 \
        "$D/numbers.2" >"$T/five"
    [ "$(metrics_of "$T/one" | scope gradient_check | jq -c .entries | sort -u)" = 6 ]
    [ "$(metrics_of "$T/five" | scope gradient_check | jq -c '.entries > 6 and .entries <= 30' | sort -u)" = true ]
    [ "$(metrics_of "$T/five" | scope gradient_check | jq -c '.worst | test("^L[0-9]+_")' | sort -u)" = true ]
}

@test "--gradient-checks pass every model, optimizer" {
    local limit optimizer model args failed=0
    limit=$(gradient_limit)
    for optimizer in adam constant exponential-decay; do
        for model in "-m one-layer" "-l 8,6" "-l 8,6 -a relu" \
            "-l 8,6 -a tanh" "-l 8,6 -a sigmoid" "--layers="; do
            read -ra args <<<"$model"
            nn-train -q "${args[@]}" -o "$optimizer" --gradient-checks warning \
                --gradient-checks-every 1 "$D/numbers.2" 2>/dev/null >"$T/out"
            local worst count
            read -r count worst < <(metrics_of "$T/out" | scope gradient_check |
                jq -rs '"\(length) \(map(.distance) | max)"')
            echo "$optimizer $model: $count checks, largest distance $worst (limit $limit)"
            [ "$count" -eq 16 ]
            if [ "$(jq -n "$worst <= $limit")" != true ]; then
                failed=1
            fi
        done
    done
    [ "$failed" -eq 0 ]
}

@test "--gradient-checks pass with dropout" {
    # The numerical side reuses the training pass's dropout masks.
    nn-train -q -l 8 --dropout-rate 0.3 --gradient-checks exception \
        --gradient-checks-every 1 "$D/colors.5" >"$T/out"
    local checks
    checks=$(metrics_of "$T/out" | scope gradient_check)
    [ "$(wc -l <<<"$checks")" -eq 25 ]
    [ "$(jq -c --argjson d "$(gradient_limit)" '.distance <= $d' <<<"$checks" | sort -u)" = true ]
}

@test "--gradient-checks exception stops the run" {
    run --separate-stderr bash -c 'nn-train -q -l 8 --gradient-checks exception \
        --gradient-checks-threshold 1e-30 "$1" >"$2"' _ "$D/colors.5" "$T/out"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" =~ ^"nn-train: gradient check failed at epoch 0, step 0: relative distance "[0-9.e+-]+" is above 1e-30 (worst tensor L"[0-9]+_[A-Za-z_]+": "[0-9.e+-]+")"$ ]]
    # The check's record comes out before the run stops.
    [ "$(metrics_of "$T/out" | scope gradient_check | wc -l)" -eq 1 ]
    [ "$(metrics_of "$T/out" | scope epoch | wc -l)" -eq 0 ]
}

@test "--gradient-checks warning goes on" {
    run --separate-stderr bash -c 'nn-train -q -l 8 --gradient-checks warning \
        --gradient-checks-every 2 --gradient-checks-threshold 1e-30 "$1" >"$2"' \
        _ "$D/colors.5" "$T/out"
    [ "$status" -eq 0 ]
    # One warning per check: 5 batches in each of epochs 0, 2 and 4.
    [ "$(grep -c ' nn-train warn: gradient check failed at epoch [024], step ' <<<"$stderr")" -eq 15 ]
    [ "$(metrics_of "$T/out" | scope epoch | wc -l)" -eq 5 ]
}

@test "--gradient-checks rejects an unknown mode" {
    check_usage_error "nn-train: invalid value 'byebug' for --gradient-checks: expected exception, warning or off" \
        nn-train --gradient-checks byebug
}

# --- instability checks --------------------------------------------------

# A constant step of 10^6 with a weight decay of 10^6 multiplies the
# weights by about -10^10 per step: they reach infinity within epochs.
diverge() {
    nn-train -q -l 4 --optimizer constant --learning-rate 1e6 \
        --weight-decay 1e6 "$@" "$D/colors.5"
}

@test "--instability-checks exception stops at NaN" {
    run --separate-stderr bash -c "$(declare -f diverge); D=\$1; diverge --instability-checks exception >\"\$2\"" \
        _ "$D" "$T/out"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" =~ ^"nn-train: numerical instability at epoch "[0-4]" after an update: L"[0-9]+"_"[A-Za-z]+(_[A-Za-z]+)?" "(value|gradient|output)" is NaN or infinite"$ ]]
    [ "$(metrics_of "$T/out" | scope epoch | wc -l)" -lt 5 ]
}

@test "--instability-checks warning goes on" {
    run --separate-stderr bash -c "$(declare -f diverge); D=\$1; diverge --instability-checks warning >\"\$2\"" \
        _ "$D" "$T/out"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *" nn-train warn: numerical instability at epoch "* ]]
    [ "$(metrics_of "$T/out" | scope epoch | wc -l)" -eq 5 ]
}

@test "--instability-checks off goes on silently" {
    run --separate-stderr bash -c "$(declare -f diverge); D=\$1; diverge --instability-checks off >\"\$2\"" \
        _ "$D" "$T/out"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$(metrics_of "$T/out" | scope epoch | wc -l)" -eq 5 ]
    # The weights did become NaN: the last epoch's cost shows it.
    [ "$(metrics_of "$T/out" | scope epoch | tail -n 1 | jq -c .cost)" = '"NaN"' ]
}

@test "--instability-checks passes a sound run" {
    nn-train -q -l 8 --instability-checks exception --dev "$D/colors.dev" \
        "$D/colors.5" >"$T/out"
    [ "$(metrics_of "$T/out" | scope epoch | wc -l)" -eq 5 ]
}

# --- early stopping ------------------------------------------------------

@test "--early-stopping-patience 0 marks epoch 0" {
    nn-train -q -l 16 --dev "$D/numbers.dev" --early-stopping-patience 0 \
        "$D/numbers.5" >"$T/out"
    local stop first
    stop=$(metrics_of "$T/out" | scope early_stop)
    first=$(metrics_of "$T/out" | scope epoch | head -n 1)
    [ "$(wc -l <<<"$stop")" -eq 1 ]
    [ "$(jq -c keys_unsorted <<<"$stop")" = '["type","scope","epoch","best_dev_cost"]' ]
    [ "$(jq .epoch <<<"$stop")" -eq 0 ]
    [ "$(jq .best_dev_cost <<<"$stop")" = "$(jq .dev_cost <<<"$first")" ]
    # Without --stop-early, training goes on to the end.
    [ "$(metrics_of "$T/out" | scope epoch | wc -l)" -eq 5 ]
}

@test "--early-stopping-patience follows the dev cost" {
    # Replay the rule on the epoch records: an epoch improves when its
    # dev cost is below every earlier one; after `patience` epochs in a
    # row without improvement, that epoch is marked.
    local patience expected
    for patience in 1 2 3; do
        nn-train -q -l 32 -r 0.01 --dev "$D/numbers.dev" \
            --early-stopping-patience "$patience" "$D/numbers.12" >"$T/out"
        expected=$(metrics_of "$T/out" | scope epoch | jq -s --argjson p "$patience" '
            reduce .[] as $e ({best: infinite, bad: 0, stop: null};
                if .stop != null then .
                else (if $e.dev_cost < .best then .best = $e.dev_cost | .bad = 0
                      else .bad += 1 end)
                     | if .bad >= $p then .stop = [$e.epoch, .best] else . end
                end) | .stop')
        echo "patience $patience: expected $expected"
        if [ "$expected" = null ]; then
            [ "$(metrics_of "$T/out" | scope early_stop | wc -l)" -eq 0 ]
        else
            [ "$(metrics_of "$T/out" | scope early_stop | jq -c '[.epoch, .best_dev_cost]')" = "$(jq -c . <<<"$expected")" ]
        fi
        # Patience 1 is sure to trigger within 12 epochs of this run.
        [ "$patience" -ne 1 ] || [ "$expected" != null ]
    done
}

@test "--early-stopping-patience large writes no mark" {
    nn-train -q -l 16 --dev "$D/numbers.dev" --early-stopping-patience 100 \
        "$D/numbers.5" >"$T/out"
    [ "$(metrics_of "$T/out" | scope early_stop | wc -l)" -eq 0 ]
}

@test "--early-stopping-patience needs --dev" {
    nn-train -q -l 16 --early-stopping-patience 0 "$D/numbers.5" >"$T/out"
    [ "$(metrics_of "$T/out" | scope early_stop | wc -l)" -eq 0 ]
}

@test "--stop-early ends after the mark" {
    nn-train -q -l 32 -r 0.01 --dev "$D/numbers.dev" --early-stopping-patience 1 \
        --stop-early --save "$T/model.nn" "$D/numbers.12" >"$T/out"
    local stop
    stop=$(metrics_of "$T/out" | scope early_stop | jq .epoch)
    echo "stopped at epoch $stop"
    [ "$stop" -lt 11 ]
    [ "$(metrics_of "$T/out" | scope epoch | wc -l)" -eq $((stop + 1)) ]
    # The mark, then the record of the epoch whose weights were kept.
    [ "$(metrics_of "$T/out" | tail -n 2 | jq -r .scope | paste -sd,)" = early_stop,restored ]
    [ "$(metrics_of "$T/out" | scope restored | jq .epoch)" -lt "$stop" ]
    [ "$(metrics_of "$T/out" | scope minibatch | jq -s 'map(.epoch) | max')" -eq "$stop" ]
}

@test "--stop-early keeps the best weights" {
    nn-train -q -l 32 -r 0.01 --dev "$D/numbers.dev" --early-stopping-patience 1 \
        --stop-early --save "$T/model.nn" "$D/numbers.12" >"$T/out"
    local best best_epoch
    best=$(metrics_of "$T/out" | scope early_stop | jq .best_dev_cost)
    best_epoch=$(metrics_of "$T/out" | scope epoch |
        jq --argjson b "$best" 'select(.dev_cost == $b) | .epoch')
    # The saved model gives the best dev cost again.
    [ "$(nn-predict -q --model "$T/model.nn" "$D/numbers.dev" |
        nn-dump | jq 'select(.scope == "prediction") | .cost')" = "$best" ]
    # And it is the model of a run that ends after the best epoch.
    make_batches "$D/numbers.training" $((best_epoch + 1)) 100 1 "$T/short"
    nn-train -q -l 32 -r 0.01 --dev "$D/numbers.dev" --early-stopping-patience 1 \
        --save "$T/short.nn" "$T/short" >/dev/null
    cmp "$T/model.nn" "$T/short.nn"
}

@test "--stop-early needs --dev" {
    check_usage_error "nn-train: --stop-early needs --dev: early stopping watches the dev cost" \
        nn-train --stop-early "$D/numbers.5"
}

# --- tracking, profile, test set, id ---------------------------------------

@test "--track-layer records rows every epoch" {
    nn-train -q -l 6 --track-layer L0_Dense_W,4 --track-layer L4_Dense_W,2 \
        --track-layer L2_BatchNormalization_Gamma,10 --save "$T/model.nn" \
        "$D/colors.5" >"$T/out"
    local tracks
    tracks=$(metrics_of "$T/out" | scope track)
    [ "$(wc -l <<<"$tracks")" -eq 15 ]
    [ "$(jq -c .epoch <<<"$tracks" | uniq -c | awk '{ print $1 }' | sort -u)" = 3 ]
    # Rows floor(i * rows / units): 4 of 6 rows are 0, 1, 3, 4; asking
    # for more units than rows gives every row once.
    [ "$(head -n 3 <<<"$tracks" | jq -c '[.name, .rows, .dtype, .shape, .data.bytes]')" = \
        "$(printf '%s\n' \
            "[\"L0_Dense_W\",[0,1,3,4],\"$(model_dtype)\",[4,3072],$((4 * 3072 * $(precision_bits) / 8))]" \
            "[\"L4_Dense_W\",[0,1],\"$(model_dtype)\",[2,6],$((2 * 6 * $(precision_bits) / 8))]" \
            "[\"L2_BatchNormalization_Gamma\",[0,1,2,3,4,5],\"$(model_dtype)\",[6,1],$((6 * $(precision_bits) / 8))]")" ]
}

@test "--track-layer data matches the saved weights" {
    nn-train -q -l 6 --track-layer L4_Dense_W,3 --save "$T/model.nn" \
        "$D/colors.5" >"$T/out"
    # L4_Dense_W is (3 classes, 6 units), rows 0, 1 and 2: all of it.
    [ "$(nn-dump --data "$T/out" | jq -c 'select(.scope == "track")' | tail -n 1 | jq -c .data)" = \
        "$(nn-dump --data "$T/model.nn" | jq -c 'select(.type == "model") | .params[] | select(.name == "L4_Dense_W") | .data')" ]
}

@test "--track-layer rejects an unknown name" {
    check_usage_error "nn-train: unknown parameter 'P' for --track-layer; known names: L0_Dense_W, L0_Dense_B" \
        nn-train -q -m one-layer --track-layer P,3 "$D/colors.5"
    check_usage_error "nn-train: unknown parameter 'L9_Dense_W' for --track-layer; known names: L0_Dense_W, L2_BatchNormalization_Gamma, L2_BatchNormalization_Beta, L4_Dense_W, L6_BatchNormalization_Gamma, L6_BatchNormalization_Beta" \
        nn-train -q -l 4 --track-layer L9_Dense_W,1 "$D/colors.5"
}

@test "--track-layer rejects a value without units" {
    check_usage_error "nn-train: invalid value 'L0_Dense_W' for --track-layer: expected NAME,UNITS" \
        nn-train --track-layer L0_Dense_W
}

@test "--profile writes a block per epoch" {
    nn-train -q -l 6,5 --profile "$T/profile.txt" "$D/colors.5" >/dev/null
    [ "$(grep -c '^epoch [0-9]*: [0-9.]* s, optimizer updates [0-9.]* ms$' "$T/profile.txt")" -eq 5 ]
    [ "$(grep '^epoch ' "$T/profile.txt" | cut -d: -f1 | tr '\n' ' ')" = "epoch 0 epoch 1 epoch 2 epoch 3 epoch 4 " ]
    # 12 layers: 3 blocks of Dense, Dropout, BatchNormalization and an
    # activation (LeakyReLU twice, Softmax last).
    local layers
    layers=$(sed -n '3,14p' "$T/profile.txt" | awk '{ print $1 }' | tr '\n' ' ')
    [ "$layers" = "L0_Dense L1_Dropout L2_BatchNormalization L3_LeakyReLU L4_Dense L5_Dropout L6_BatchNormalization L7_LeakyReLU L8_Dense L9_Dropout L10_BatchNormalization L11_Softmax " ]
    [ "$(grep -c '^  L[0-9]*_[A-Za-z]* *[0-9.]* *[0-9.]*$' "$T/profile.txt")" -eq 60 ]
    [ "$(ls -A "$T")" = profile.txt ]
}

@test "--profile lists one-layer layers" {
    nn-train -q -m one-layer --profile "$T/profile.txt" "$D/colors.5" >/dev/null
    [ "$(sed -n '3,4p' "$T/profile.txt" | awk '{ print $1 }' | tr '\n' ' ')" = "L0_Dense L1_Softmax " ]
    [ "$(wc -l <"$T/profile.txt")" -eq 20 ]
}

@test "--test writes a test metrics record" {
    nn-train -q -l 16 --dev "$D/numbers.dev" --test "$D/numbers.test" \
        --save "$T/model.nn" "$D/numbers.5" >"$T/out"
    local test
    test=$(metrics_of "$T/out" | scope test)
    [ "$(wc -l <<<"$test")" -eq 1 ]
    [ "$(jq -c keys_unsorted <<<"$test")" = '["type","scope","samples","cost","accuracy","confusion"]' ]
    [ "$(jq .samples <<<"$test")" -eq 130 ]
    [ "$(jq '[.confusion[][]] | add' <<<"$test")" -eq 130 ]
    # It comes last, and nn-predict on the saved model agrees with it.
    [ "$(metrics_of "$T/out" | tail -n 1 | jq -r .scope)" = test ]
    [ "$(nn-predict -q --model "$T/model.nn" "$D/numbers.test" | nn-dump |
        jq -c 'select(.scope == "prediction") | [.accuracy, .confusion]')" = \
        "$(jq -c '[.accuracy, .confusion]' <<<"$test")" ]
}

@test "--test is absent without the option" {
    nn-train -q -l 16 --dev "$D/numbers.dev" "$D/numbers.2" >"$T/out"
    [ "$(metrics_of "$T/out" | scope test | wc -l)" -eq 0 ]
}

@test "--id names header experiment" {
    nn-train -q -m one-layer --id colors_run "$D/colors.5" >"$T/out"
    [ "$(nn-dump "$T/out" | head -n 1 | jq -c '[.type, .source, .experiment]')" = '["header","nn-train","colors_run"]' ]
    nn-train -q -m one-layer "$D/colors.5" >"$T/plain"
    [ "$(nn-dump "$T/plain" | head -n 1 | jq -c 'has("experiment")')" = false ]
}

# --- input checks --------------------------------------------------------

@test "nn-train rejects NaN in a batch" {
    nan_batch "$T/nan"
    fails_with "nn-train: '$T/nan': record 2: batch: NaN or infinity in the input data" \
        nn-train -q -l 4 "$T/nan"
    run --separate-stderr bash -c 'nn-train -q -l 4 <"$1" >/dev/null' _ "$T/nan"
    [ "$status" -eq 1 ]
    [ "$stderr" = "nn-train: standard input: record 2: batch: NaN or infinity in the input data" ]
}
