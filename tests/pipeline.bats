#!/usr/bin/env bats
# Whole experiments on the shipped datasets: the accuracy the original
# tool's README reports is reached, the split is stratified and
# repeatable, and the hand-written pipeline of README.md runs.

load helpers
load training_helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
    # nn-run looks for datasets/NAME in the working folder first.
    ln -s "$DATASETS" datasets
}

# epoch_field ID FIELD: FIELD of every epoch record of runs/ID.
epoch_field() {
    metrics_of "runs/$1/metrics.nn" | scope epoch | jq -c ".$2"
}

# class_counts FILE: the number of samples of each label, "label:count".
class_counts() {
    nn-dump "$1" | jq -r 'select(.type == "sample") | .label' | sort -n | uniq -c |
        awk '{ printf "%s:%s ", $2, $1 }'
}

@test "colors OneLayer Constant reaches 1" {
    nn-run --dataset=colors --model=OneLayer --optimizer=Constant \
        --nbr-epochs=20 2>/dev/null >/dev/null
    [ "$(jq .epochs runs/main/summary.json)" -eq 20 ]
    [ "$(jq .dev_accuracy runs/main/summary.json)" = 1 ]
    [ "$(jq .training_accuracy runs/main/summary.json)" = 1 ]
}

@test "colors right within 10 epochs" {
    # The original's README: 100% on training and dev after 7 epochs.
    nn-run --dataset=colors --model=OneLayer --optimizer=Constant 2>/dev/null >/dev/null
    local first
    first=$(epoch_field main dev_accuracy | grep -n -m 1 '^1$' | cut -d: -f1)
    echo "dev accuracy 1 first at epoch $((first - 1))"
    [ -n "$first" ]
    [ "$first" -le 10 ]
    [ "$(epoch_field main dev_accuracy | wc -l)" -eq 100 ]
    [ "$(jq .dev_accuracy runs/main/summary.json)" = 1 ]
}

@test "numbers NLayers Adam reaches 0.78" {
    nn-run --dataset=numbers --model=NLayers --layers=100 --optimizer=Adam \
        --nbr-epochs=30 --max-minibatch-size=100 2>/dev/null >/dev/null
    local dev
    dev=$(jq .dev_accuracy runs/main/summary.json)
    echo "dev accuracy $dev"
    [ "$(jq '.dev_accuracy >= 0.78' runs/main/summary.json)" = true ]
    [ "$(jq -c '[.parameters, .training_samples, .epochs]' runs/main/summary.json)" = '[79620,710,30]' ]
}

@test "nn-run defaults finish" {
    # colors, OneLayer, Adam at 0.001, 100 epochs, gradient checks in
    # epochs 0, 25, 50 and 75 that stop the run when they fail.
    run --separate-stderr nn-run
    grep -o 'gradient check failed.*' <<<"$stderr" || true
    [ "$status" -eq 0 ]
    [ "$(jq .epochs runs/main/summary.json)" -eq 100 ]
    [ "$(metrics_of runs/main/metrics.nn | scope gradient_check | jq -c .epoch | sort -nu | tr '\n' ' ')" = "0 25 50 75 " ]
}

@test "split is stratified" {
    # 30 images per colour: 22 for training, 5 for dev, 3 for test.
    nn-load -q -p training "$DATASETS/colors" >"$T/training"
    nn-load -q -p dev "$DATASETS/colors" >"$T/dev"
    nn-load -q -p test "$DATASETS/colors" >"$T/test"
    [ "$(class_counts "$T/training")" = "0:22 1:22 2:22 " ]
    [ "$(class_counts "$T/dev")" = "0:5 1:5 2:5 " ]
    [ "$(class_counts "$T/test")" = "0:3 1:3 2:3 " ]
    # 100 digits per class: 71, 16 and 13.
    nn-load -q -p dev "$DATASETS/numbers" >"$T/numbers.dev"
    [ "$(class_counts "$T/numbers.dev")" = "$(printf '%s:16 ' 0 1 2 3 4 5 6 7 8 9)" ]
    # The partitions do not overlap and together hold every file.
    local ids
    ids=$(nn-dump "$T/training" "$T/dev" "$T/test" | jq -r 'select(.type == "sample") | .id' | sort)
    [ "$(wc -l <<<"$ids")" -eq 90 ]
    [ "$(uniq <<<"$ids" | wc -l)" -eq 90 ]
}

@test "split repeats through nn-run" {
    nn-run --nbr-epochs=1 --exp-id=one -e --nbr-epochs=1 --exp-id=two \
        -e --nbr-epochs=1 --exp-id=other --dataset-seed=1 2>/dev/null >/dev/null
    cmp runs/one/dev.nn runs/two/dev.nn
    # nn-run's dev set is nn-load's.
    nn-load -q -p dev "$DATASETS/colors" | nn-dump | jq -c 'select(.type == "sample") | [.id, .label]' >"$T/direct"
    [ "$(nn-dump runs/one/dev.nn | jq -c 'select(.type == "sample") | [.id, .label]')" = "$(cat "$T/direct")" ]
    # Another dataset seed draws another dev set of the same sizes.
    ! cmp -s runs/one/dev.nn runs/other/dev.nn
    [ "$(class_counts runs/other/dev.nn)" = "0:5 1:5 2:5 " ]
}

@test "README pipeline runs" {
    # The block of README.md that starts with nn-load --partition dev.
    awk '/^```sh$/ { block = ""; inside = 1; next }
         /^```$/ { if (inside && block ~ /nn-load --partition dev/) printf "%s", block; inside = 0; next }
         inside { block = block $0 "\n" }' "$REPO/README.md" >"$T/readme.sh"
    [ -s "$T/readme.sh" ]
    run --separate-stderr bash -e "$T/readme.sh"
    [ "$status" -eq 0 ]
    [ -s model.nn ]
    # One line per epoch; the last reaches the same accuracy as nn-run.
    [ "${#lines[@]}" -eq 30 ]
    [ "$(jq -c '.scope' <<<"$output" | sort -u)" = '"epoch"' ]
    echo "last epoch: ${lines[29]}"
    [ "$(jq '.dev_accuracy >= 0.78' <<<"${lines[29]}")" = true ]
}
