#!/usr/bin/env bats
# nn-run: the original tool's flags, one runs/<id>/ folder per run with
# its summary, the comparison table, repeats and experiments, and the
# errors on bad flags and failing pipelines.

load helpers
load training_helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
    # nn-run looks for datasets/NAME in the working folder first.
    ln -s "$DATASETS" datasets
}

# quick ARG...: nn-run on colors for 2 epochs, quiet on stderr.
quick() {
    nn-run --nbr-epochs=2 "$@" 2>>"$T/nn-run.err"
}

# summary ID FILTER: apply a jq filter to runs/ID/summary.json.
summary() {
    jq -c "$2" "runs/$1/summary.json"
}

# run_folders: the folders in runs/, hidden ones included, on one line.
run_folders() {
    find runs -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | tr '\n' ' '
}

# has_files DIR FILE...: DIR holds every FILE.
has_files() {
    local dir="$1" file
    shift
    for file in "$@"; do
        [ -f "$dir/$file" ] || { echo "no $dir/$file"; return 1; }
    done
}

@test "nn-run --help lists every flag" {
    check_help nn-run
    run nn-run --help
    local flag missing=()
    # Every flag nn-run accepts, the original tool's included.
    for flag in experiment exp-id training-times dataset dataset-seed resize \
        grayscale max-minibatch-size eval-dev eval-test model layers \
        activation init dropout-rate weight-decay bn-inference precision \
        optimizer learning-rate decay nbr-epochs early-stopping-patience \
        stop-early gradient-checks gradient-checks-every \
        gradient-checks-samples track-layer profiling model-seed \
        instability-checks runs-dir threads debug help minmax-normalize trim \
        adaptive-invert nbr-clones rot-angle noise-intensity display-samples \
        dump-minibatches data-loader loss accuracy; do
        if [[ "$output" != *"--$flag"[=\ []* ]]; then
            missing+=("--$flag")
        fi
    done
    echo "missing from --help: ${missing[*]}"
    [ "${#missing[@]}" -eq 0 ]
}

@test "nn-run --version" {
    run --separate-stderr nn-run --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^nn-run\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "nn-run prints the comparison table" {
    run --separate-stderr quick --exp-id=first --experiment --nbr-epochs=1 --exp-id=second
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 4 ]
    [ "${lines[0]}" = "| experiment | # parameters | params/samples | training cost | training accuracy | dev cost | dev accuracy | early stop epoch | avoidable bias | variance |" ]
    [ "${lines[1]}" = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" ]
    [[ "${lines[2]}" =~ ^"| first | 9219 | 139.68 | "[0-9.]+" | "[0-9.]+"% | "[0-9.]+" | "[0-9.]+"% | - | "[0-9.-]+"% | "[0-9.-]+"% |"$ ]]
    [[ "${lines[3]}" == "| second | 9219 | 139.68 | "* ]]
}

@test "nn-run table matches the summaries" {
    run --separate-stderr quick --exp-id=one
    [ "$status" -eq 0 ]
    local cells
    IFS='|' read -ra cells <<<"${lines[2]}"
    [ "$(echo ${cells[4]})" = "$(summary one .training_cost | awk '{ printf "%.4f", $1 }')" ]
    [ "$(echo ${cells[7]})" = "$(summary one '.dev_accuracy * 100' | awk '{ printf "%.1f%%", $1 }')" ]
    [ "$(echo ${cells[9]})" = "$(summary one '(1 - .training_accuracy) * 100' | awk '{ printf "%.1f%%", $1 }')" ]
}

@test "nn-run --experiment gives separate runs" {
    quick --exp-id=alpha --experiment --exp-id=beta --model=NLayers --layers=4 >/dev/null
    [ "$(run_folders)" = "alpha beta " ]
    [ "$(summary alpha '[.exp_id, .model, .parameters]')" = '["alpha","OneLayer",9219]' ]
    [ "$(summary beta '[.exp_id, .model, .layers]')" = '["beta","NLayers","4"]' ]
}

@test "nn-run --experiment starts from the defaults" {
    # The second experiment does not inherit --nbr-epochs=2 or the model.
    nn-run --nbr-epochs=2 --model=NLayers --layers=4 --exp-id=a \
        --experiment --exp-id=b --nbr-epochs=1 2>/dev/null >/dev/null
    [ "$(summary a '[.model, .epochs]')" = '["NLayers",2]' ]
    [ "$(summary b '[.model, .epochs, .max_minibatch_size]')" = '["OneLayer",1,5000]' ]
}

@test "nn-run repeated ids get a suffix" {
    run --separate-stderr quick --experiment --nbr-epochs=1 --experiment --nbr-epochs=1 --exp-id=main
    [ "$status" -eq 0 ]
    [ "$(run_folders)" = "main main_0 main_1 " ]
    [ "$(printf '%s\n' "${lines[@]:2}" | cut -d' ' -f2 | tr '\n' ' ')" = "main main_0 main_1 " ]
    [ "$(summary main_1 .exp_id)" = '"main_1"' ]
    [ "$(nn-dump runs/main_0/metrics.nn | head -n 1 | jq -r .experiment)" = main_0 ]
}

@test "nn-run --training-times repeats with new weights" {
    quick --training-times 3 >/dev/null
    [ "$(run_folders)" = "main main_0 main_1 " ]
    local id
    for id in main main_0 main_1; do
        first_cost "runs/$id/metrics.nn"
    done >"$T/costs"
    [ "$(sort -u "$T/costs" | wc -l)" -eq 3 ]
    [ "$(jq -s -c 'map(.model_seed)' runs/*/summary.json)" = "[0,1,2]" ]
    # The same split and the same epoch order for every repeat.
    cmp runs/main/dev.nn runs/main_0/dev.nn
    cmp runs/main/dev.nn runs/main_1/dev.nn
    [ "$(grep -o 'nn-shuffle [^|]*' runs/main_0/pipeline.sh)" = "$(grep -o 'nn-shuffle [^|]*' runs/main/pipeline.sh)" ]
}

@test "nn-run booleans take every form" {
    # One experiment per form; each starts from --eval-dev=true.
    quick --exp-id=off1 --eval-dev=false \
        -e --nbr-epochs=1 --exp-id=off2 --eval-dev false \
        -e --nbr-epochs=1 --exp-id=on1 --eval-dev=false --eval-dev \
        -e --nbr-epochs=1 --exp-id=on2 --eval-dev=false --eval-dev=true \
        -e --nbr-epochs=1 --exp-id=on3 --eval-dev=false --eval-dev true \
        >/dev/null
    local id
    for id in off1 off2; do
        [ "$(summary "$id" .dev_accuracy)" = null ]
        [ ! -e "runs/$id/dev.nn" ]
    done
    for id in on1 on2 on3; do
        [ "$(summary "$id" '.dev_accuracy != null')" = true ]
        [ -e "runs/$id/dev.nn" ]
    done
}

@test "nn-run bare boolean before another flag" {
    quick --eval-test --exp-id=bare >/dev/null
    [ -e runs/bare/test.nn ]
    [ "$(summary bare .exp_id)" = '"bare"' ]
}

@test "nn-run rejects a bad boolean" {
    check_usage_error "nn-run: invalid value 'yes' for --eval-dev: expected true or false" \
        nn-run --eval-dev=yes
}

@test "nn-run rejects flags not supported yet" {
    run nn-run --help
    local help="$output" flag checked=0
    for flag in nbr-clones rot-angle noise-intensity minmax-normalize \
        display-samples dump-minibatches trim adaptive-invert; do
        # A flag that --help lists is implemented.
        if [[ "$help" == *"--$flag"* ]]; then
            continue
        fi
        check_usage_error "nn-run: option '--$flag' is not supported yet" \
            nn-run "--$flag=1"
        [ ! -e runs ]
        checked=$((checked + 1))
    done
    echo "$checked flags checked"
}

@test "nn-run rejects unknown flags" {
    check_usage_error "nn-run: unknown option '--bogus'" nn-run --bogus
    check_usage_error "nn-run: unknown option '--bogus=1'" nn-run --bogus=1
    check_usage_error "nn-run: unexpected argument 'colors'" nn-run colors
    check_usage_error "nn-run: option '--nbr-epochs' requires a value" nn-run --nbr-epochs
    check_usage_error "nn-run: invalid value 'many' for --nbr-epochs: expected an integer" \
        nn-run --nbr-epochs=many
    check_usage_error "nn-run: invalid value 'Sgd' for --optimizer" nn-run --optimizer=Sgd
    [ ! -e runs ]
}

@test "nn-run summary.json has its fields" {
    quick --exp-id=sum >/dev/null
    local s=runs/sum/summary.json
    "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$s"
    [ "$(jq -c '[has("exp_id", "dataset", "parameters", "training_samples",
        "epochs", "training_cost", "training_accuracy", "dev_cost",
        "dev_accuracy", "early_stop_epoch", "seconds")] | all' "$s")" = true ]
    [ "$(jq -c '[.exp_id, .dataset, .parameters, .training_samples, .epochs, .early_stop_epoch]' "$s")" = '["sum","colors",9219,66,2,null]' ]
    [ "$(jq -c '[.training_accuracy, .dev_accuracy] | all(. >= 0 and . <= 1)' "$s")" = true ]
    [ "$(jq -c '[.training_cost, .dev_cost, .seconds] | all(. >= 0)' "$s")" = true ]
    # The figures are those of the last epoch record.
    [ "$(jq -c '[.training_cost, .training_accuracy, .dev_cost, .dev_accuracy]' "$s")" = \
        "$(metrics_of runs/sum/metrics.nn | scope epoch | tail -n 1 | jq -c '[.cost, .accuracy, .dev_cost, .dev_accuracy]')" ]
}

@test "nn-run summary.json is strict JSON" {
    # Numbers are accepted as strtod reads them; JSON is stricter.
    quick --learning-rate=.01 --exp-id=lr >/dev/null
    run "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["learning_rate"])' \
        runs/lr/summary.json
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = 0.01 ]
}

@test "nn-run summary.json records early stopping" {
    quick --nbr-epochs=3 --early-stopping-patience=0 --exp-id=stop >/dev/null
    [ "$(summary stop .early_stop_epoch)" = 0 ]
    [ "$(summary stop .epochs)" = 3 ]
}

@test "nn-run --stop-early summary matches model" {
    # With --stop-early the saved weights are those of the best epoch, so
    # dev_cost and dev_accuracy must be that epoch's, which nn-predict
    # gets again from model.nn.
    nn-run --dataset=numbers --model=NLayers --layers=32 --learning-rate=0.01 \
        --nbr-epochs=40 --max-minibatch-size=100 --early-stopping-patience=1 \
        --stop-early --exp-id=best 2>/dev/null >/dev/null
    local metrics
    metrics=$(nn-predict -q --model runs/best/model.nn runs/best/dev.nn | nn-dump |
        jq -c 'select(.type == "metrics")')
    echo "nn-predict on model.nn: $(jq -c '[.cost, .accuracy]' <<<"$metrics")"
    echo "summary.json: $(summary best '[.dev_cost, .dev_accuracy, .early_stop_epoch]')"
    [ "$(summary best .early_stop_epoch)" != null ]
    [ "$(jq --argjson s "$(summary best .dev_cost)" '.cost == $s' <<<"$metrics")" = true ]
    [ "$(jq --argjson s "$(summary best .dev_accuracy)" '.accuracy == $s' <<<"$metrics")" = true ]
}

@test "nn-run failing run leaves nothing" {
    mkdir -p data/a data/b
    cp "$DATASETS"/colors/red/red-0[0-4].png data/a/
    cp "$DATASETS"/colors/blue/blue-0[0-4].png data/b/
    echo 'not a png' >data/b/zz.png
    run --separate-stderr nn-run --dataset=./data --exp-id=broken --nbr-epochs=2
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"nn-load: './data/b/zz.png': not a PNG file"* ]]
    [ "${stderr##*$'\n'}" = "nn-run: the pipeline failed; see the messages above" ]
    [ ! -e runs/broken ]
    echo "left in runs/: $(ls -A runs)"
    [ -z "$(run_folders)" ]
}

@test "nn-run failure keeps earlier run" {
    quick --exp-id=kept >/dev/null
    cp runs/kept/summary.json "$T/before.json"
    run nn-run --dataset=./none --exp-id=kept
    [ "$status" -eq 1 ]
    cmp runs/kept/summary.json "$T/before.json"
}

@test "nn-run replaces run of same id" {
    quick --exp-id=again --profiling >/dev/null
    [ -e runs/again/profile.txt ]
    quick --exp-id=again --nbr-epochs=1 >/dev/null
    [ ! -e runs/again/profile.txt ]
    [ "$(summary again .epochs)" = 1 ]
}

@test "nn-run --eval-dev=false gives null dev fields" {
    run --separate-stderr quick --eval-dev=false --exp-id=nodev
    [ "$status" -eq 0 ]
    [ "$(summary nodev '[.dev_cost, .dev_accuracy, .early_stop_epoch]')" = '[null,null,null]' ]
    has_files runs/nodev metrics.nn model.nn pipeline.sh summary.json
    [ ! -e runs/nodev/dev.nn ]
    [[ "${lines[2]}" == "| nodev | 9219 | 139.68 | "*" | - | - | - | "*" | - |" ]]
    ! grep -q -- '--dev=' runs/nodev/pipeline.sh
}

@test "nn-run --profiling writes profile.txt" {
    quick --profiling --exp-id=prof -e --nbr-epochs=1 --exp-id=noprof >/dev/null
    [ "$(grep -c '^epoch ' runs/prof/profile.txt)" -eq 2 ]
    [ "$(sed -n '3,4p' runs/prof/profile.txt | awk '{ print $1 }' | tr '\n' ' ')" = "L0_Dense L1_Softmax " ]
    [ ! -e runs/noprof/profile.txt ]
}

@test "nn-run --eval-test adds test figures" {
    quick --eval-test --exp-id=withtest -e --nbr-epochs=1 --exp-id=notest >/dev/null
    [ -e runs/withtest/test.nn ]
    [ ! -e runs/notest/test.nn ]
    [ "$(summary withtest '[has("test_cost"), has("test_accuracy")]')" = '[true,true]' ]
    [ "$(summary withtest '.test_accuracy >= 0 and .test_accuracy <= 1 and .test_cost >= 0')" = true ]
    [ "$(summary withtest '.test_cost')" = "$(metrics_of runs/withtest/metrics.nn | scope test | jq .cost)" ]
    [ "$(summary notest '[has("test_cost"), has("test_accuracy")]')" = '[false,false]' ]
}

@test "nn-run passes training flags to nn-train" {
    quick --model=NLayers --layers=4,3 --activation=Tanh --init=Kaiming \
        --dropout-rate=0.1 --weight-decay=0.01 --bn-inference=batch \
        --precision=32 --optimizer=ExponentialDecay --learning-rate=0.01 \
        --decay=0.5 --early-stopping-patience=3 --gradient-checks=warning \
        --gradient-checks-every=1 --gradient-checks-samples=3 \
        --track-layer=L0_Dense_W,2 --model-seed=7 --exp-id=flags >/dev/null
    local train flag
    train=$(grep -o 'nn-train .*' runs/flags/pipeline.sh)
    for flag in --model=NLayers --layers=4,3 --activation=Tanh --init=Kaiming \
        --dropout-rate=0.1 --weight-decay=0.01 --bn-inference=batch \
        --precision=32 --optimizer=ExponentialDecay --learning-rate=0.01 \
        --decay=0.5 --early-stopping-patience=3 --gradient-checks=warning \
        --gradient-checks-every=1 --gradient-checks-samples=3 \
        --track-layer=L0_Dense_W,2 --model-seed=7; do
        [[ " $train " == *" $flag "* ]] || { echo "missing $flag"; false; }
    done
    [ "$(nn-dump runs/flags/model.nn | jq -c 'select(.type == "model") | [.hidden, .activation, .dtype, .bn_mode]')" = '[[4,3],"tanh","f32","batch"]' ]
    [ "$(metrics_of runs/flags/metrics.nn | scope gradient_check | jq -c .epoch | sort -u | tr '\n' ' ')" = "0 1 " ]
    [ "$(metrics_of runs/flags/metrics.nn | scope track | wc -l)" -eq 2 ]
}

@test "nn-run defaults of checks and precision" {
    quick --exp-id=defaults >/dev/null
    local train
    train=$(grep -o 'nn-train .*' runs/defaults/pipeline.sh)
    [[ "$train" == *" --gradient-checks=exception --gradient-checks-every=25 --gradient-checks-samples=2 "* ]]
    [[ "$train" == *" --instability-checks=exception "* ]]
    [[ "$train" == *" --precision=$(precision_bits) "* ]]
    [ "$(metrics_of runs/defaults/metrics.nn | scope gradient_check | jq -c .epoch | sort -u)" = 0 ]
}

@test "nn-run --instability-checks is global" {
    quick --instability-checks=warning --exp-id=a --experiment --nbr-epochs=1 --exp-id=b >/dev/null
    grep -q -- '--instability-checks=warning' runs/a/pipeline.sh
    grep -q -- '--instability-checks=warning' runs/b/pipeline.sh
}

@test "nn-run pipeline.sh repeats the run" {
    quick --model=NLayers --layers=4 --exp-id=again >/dev/null
    cp runs/again/model.nn "$T/model.nn"
    metrics_of runs/again/metrics.nn | jq -c 'del(.seconds)' >"$T/metrics"
    sh runs/again/pipeline.sh
    cmp runs/again/model.nn "$T/model.nn"
    [ "$(metrics_of runs/again/metrics.nn | jq -c 'del(.seconds)')" = "$(cat "$T/metrics")" ]
}

@test "nn-run --runs-dir puts runs elsewhere" {
    quick --runs-dir=elsewhere --exp-id=there >/dev/null
    has_files elsewhere/there dev.nn metrics.nn model.nn pipeline.sh summary.json
    [ ! -e runs ]
}

@test "nn-run rejects a missing dataset" {
    run --separate-stderr nn-run --dataset=nothing
    [ "$status" -eq 1 ]
    [ "$stderr" = "nn-run: dataset 'nothing' not found: no folder datasets/nothing" ]
}
