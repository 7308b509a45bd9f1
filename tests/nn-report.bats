#!/usr/bin/env bats
# nn-report: the page of one run folder and the page comparing several,
# the charts it draws with --charts, the summary table, the pipeline
# text, and its errors.

load helpers

# make_run DIR ID [EXTRA_JSON]: a run folder as nn-run leaves it:
# summary.json (with EXTRA_JSON fields added), a pipeline.sh holding
# characters that HTML must escape, metrics.nn with 3 epochs, dev
# confusion matrices and a tracked parameter named "L0 W/x", and a
# dev.nn of 4 samples.
make_run() {
    mkdir -p "$1"
    cat >"$1/summary.json" <<EOF
{
  "exp_id": "$2",
  "dataset": "numbers",
  "model": "NLayers",
  "layers": "100",
  "learning_rate": 0.001,
  "parameters": 79620,
  "training_samples": 710,
  "epochs": 3,
  "training_cost": 0.26655857390233828,
  "training_accuracy": 1,
  "dev_cost": 0.6950580172233255,
  "dev_accuracy": 0.88124999999999998,
  ${3:-}
  "seconds": 0.290
}
EOF
    cat >"$1/pipeline.sh" <<'EOF'
#!/bin/sh
set -e
nn-load -q --partition=dev datasets/numbers > runs/x/dev.nn
nn-load -q datasets/numbers | nn-batch -q 100 \
  | nn-train -q --dev=runs/x/dev.nn && echo '<done>' "a&b" > runs/x/metrics.nn
EOF
    pack '[header(["a", "b"])] + [
           dict(type="metrics", scope="epoch", epoch=e, samples=4,
                parameters=9, cost=1.0 / (e + 1), accuracy=0.5 + e / 10,
                seconds=0.1 * e, dev_samples=2, dev_cost=1.2 / (e + 1),
                dev_accuracy=0.5, dev_confusion=[[1, 0], [e, 1]])
           for e in range(3)] + [
           dict(type="metrics", scope="track", epoch=e, name="L0 W/x",
                rows=[0, 1], dtype="f64", shape=[2, 4],
                data=bytes(range(64)))
           for e in range(3)]' >"$1/metrics.nn"
    pack '[header(["a", "b"])] + [
           sample("s%d" % i, i % 2, [2, 2, 1], [60 * i] * 4)
           for i in range(4)]' >"$1/dev.nn"
}

# check_images PAGE: every <img> of PAGE names a file that exists,
# relative to the page's folder; prints the number of images.
check_images() {
    local dir src n=0
    dir=$(dirname "$1")
    for src in $(grep -o '<img src="[^"]*"' "$1" | sed 's/^<img src="//; s/"$//'); do
        if [ ! -f "$dir/$src" ]; then
            echo "missing image: $dir/$src" >&2
            return 1
        fi
        n=$((n + 1))
    done
    echo "$n"
}

setup() {
    cd "$BATS_TEST_TMPDIR"
}

@test "nn-report --help, --version and unknown options" {
    check_help nn-report
    check_version nn-report
    check_unknown_option nn-report --bogus
}

@test "nn-report writes RUN_DIR/index.html" {
    make_run runs/main main
    run --separate-stderr nn-report runs/main
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [[ "$stderr" == *"nn-report info: wrote 'runs/main/index.html'" ]]
    grep -q '^<!DOCTYPE html>' runs/main/index.html
    grep -q '<title>nnpipe report: main</title>' runs/main/index.html
    grep -q '</html>' runs/main/index.html
    [ "$(ls runs/main | grep -c tmp)" -eq 0 ]
}

@test "nn-report: no external resources" {
    make_run runs/main main
    nn-report -q --charts runs/main
    ! grep -Eq '(href|src)="(https?:)?//' runs/main/index.html
    ! grep -q '<link' runs/main/index.html
    ! grep -Eq '<script[^>]+src=' runs/main/index.html
    grep -q '<style>' runs/main/index.html
}

@test "nn-report: the summary table" {
    make_run runs/main main
    nn-report -q runs/main
    local page=runs/main/index.html
    grep -q '<th>training accuracy</th>' "$page"
    grep -q '<td>79620</td>' "$page"
    grep -q '<td>710</td>' "$page"
    grep -q '<td>0.2666</td>' "$page"
    grep -q '<td>100.00%</td>' "$page"
    grep -q '<td>0.6951</td>' "$page"
    grep -q '<td>88.12%</td>' "$page"
    grep -q '<td>0.29</td>' "$page"
    # absent from summary.json, so no column
    ! grep -q 'early stop epoch' "$page"
    ! grep -q 'test accuracy' "$page"
}

@test "nn-report: early stop and test accuracy columns when present" {
    make_run runs/main main '"early_stop_epoch": 12, "test_accuracy": 0.875,'
    nn-report -q runs/main
    grep -q '<th>early stop epoch</th>' runs/main/index.html
    grep -q '<td>12</td>' runs/main/index.html
    grep -q '<th>test accuracy</th>' runs/main/index.html
    grep -q '<td>87.50%</td>' runs/main/index.html
}

@test "nn-report: null values show as a dash" {
    make_run runs/main main '"test_accuracy": null,'
    nn-report -q runs/main
    grep -q '<th>test accuracy</th>' runs/main/index.html
    grep -q '<td>&ndash;</td>' runs/main/index.html
}

@test "nn-report: other summary fields go to the settings table" {
    make_run runs/main main
    nn-report -q runs/main
    grep -q '<h2>Settings</h2>' runs/main/index.html
    grep -q '<th>learning_rate</th>' runs/main/index.html
    grep -q '<td class="text">NLayers</td>' runs/main/index.html
}

@test "nn-report: the pipeline, HTML-escaped" {
    make_run runs/main main
    nn-report -q runs/main
    local page=runs/main/index.html
    grep -qF 'nn-load -q --partition=dev datasets/numbers &gt; runs/x/dev.nn' "$page"
    grep -qF "&amp;&amp; echo &#39;&lt;done&gt;&#39; &quot;a&amp;b&quot;" "$page"
    ! grep -qF "'<done>'" "$page"
}

@test "nn-report: text from summary.json is escaped" {
    make_run runs/main '<b>x&y</b>'
    nn-report -q runs/main
    grep -qF '<title>nnpipe report: &lt;b&gt;x&amp;y&lt;/b&gt;</title>' runs/main/index.html
    ! grep -qF '<b>x' runs/main/index.html
}

@test "nn-report --charts draws and shows every chart" {
    make_run runs/main main
    run --separate-stderr nn-report -q --charts runs/main
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ -f runs/main/curves.png ]
    [ -f runs/main/confusion.png ]
    [ -f runs/main/track-L0_W_x.png ]
    [ -f runs/main/samples.png ]
    run check_images runs/main/index.html
    [ "$status" -eq 0 ]
    [ "$output" -eq 4 ]
    grep -q '<img src="curves.png"' runs/main/index.html
    grep -q '<img src="track-L0_W_x.png"' runs/main/index.html
}

@test "nn-report without --charts shows the charts that exist" {
    make_run runs/main main
    nn-report -q runs/main
    run check_images runs/main/index.html
    [ "$output" -eq 0 ]
    nn-plot -q -k confusion runs/main/metrics.nn -o runs/main/confusion.svg
    nn-report -q runs/main
    run check_images runs/main/index.html
    [ "$output" -eq 1 ]
    grep -q '<img src="confusion.svg"' runs/main/index.html
}

@test "nn-report --charts without dev results draws curves only" {
    make_run runs/main main
    pack '[header(["a", "b"])] + [
           dict(type="metrics", scope="epoch", epoch=e, samples=4,
                parameters=9, cost=1.0, accuracy=0.5, seconds=0.1)
           for e in range(2)]' >runs/main/metrics.nn
    rm runs/main/dev.nn
    nn-report -q --charts runs/main
    [ -f runs/main/curves.png ]
    [ ! -e runs/main/confusion.png ]
    [ ! -e runs/main/samples.png ]
    run check_images runs/main/index.html
    [ "$output" -eq 1 ]
}

@test "nn-report --charts removes charts of an earlier run" {
    make_run runs/main main
    nn-report -q --charts runs/main
    [ -f runs/main/confusion.png ]
    [ -f runs/main/track-L0_W_x.png ]
    echo keep >runs/main/notes.png
    pack '[header(["a", "b"])] + [
           dict(type="metrics", scope="epoch", epoch=e, samples=4,
                parameters=9, cost=1.0, accuracy=0.5, seconds=0.1)
           for e in range(2)]' >runs/main/metrics.nn
    nn-report -q --charts runs/main
    [ ! -e runs/main/confusion.png ]
    [ ! -e runs/main/track-L0_W_x.png ]
    [ -f runs/main/curves.png ]
    [ -f runs/main/samples.png ]
    [ "$(cat runs/main/notes.png)" = keep ]
    ! grep -q confusion runs/main/index.html
}

@test "nn-report --out compares several runs" {
    make_run runs/a a
    make_run runs/b b
    run --separate-stderr nn-report -q --charts --out cmp runs/a runs/b
    [ "$status" -eq 0 ]
    [ -f cmp/index.html ]
    [ -f cmp/curves.png ]
    grep -q '<img src="curves.png"' cmp/index.html
    grep -q '<img src="../runs/a/curves.png"' cmp/index.html
    grep -q '<img src="../runs/b/confusion.png"' cmp/index.html
    grep -q '<h2>Run a</h2>' cmp/index.html
    grep -q '<h2>Run b</h2>' cmp/index.html
    grep -q '<title>nnpipe report: a, b</title>' cmp/index.html
    run check_images cmp/index.html
    [ "$status" -eq 0 ]
    [ "$output" -eq 9 ]
    [ "$(grep -c '<tr><td class="text">' cmp/index.html)" -eq 4 ]
}

@test "nn-report --out inside a run folder and --title" {
    make_run runs/a a
    make_run runs/b b
    nn-report -q --charts --out runs/a/cmp -t 'Two & more' runs/a runs/b
    grep -q '<img src="../curves.png"' runs/a/cmp/index.html
    grep -q '<img src="../../b/curves.png"' runs/a/cmp/index.html
    grep -q '<title>Two &amp; more</title>' runs/a/cmp/index.html
    run check_images runs/a/cmp/index.html
    [ "$status" -eq 0 ]
}

@test "nn-report: paths with spaces are percent-encoded" {
    make_run "my runs/a" a
    nn-report -q --charts --out cmp "my runs/a"
    grep -q '<img src="../my%20runs/a/curves.png"' cmp/index.html
}

@test "nn-report: usage errors" {
    check_usage_error "nn-report: missing RUN_DIR: name a folder made by nn-run" \
        nn-report
    check_usage_error "nn-report: 2 RUN_DIRs need --out DIR for the page that compares them" \
        nn-report a b
}

@test "nn-report: a folder without summary.json" {
    mkdir -p empty
    fails_with "nn-report: 'empty' is not a run folder: it has no summary.json" \
        nn-report empty
    [ ! -e empty/index.html ]
}

@test "nn-report: invalid summary.json" {
    make_run runs/main main
    printf '{"exp_id": "main", "epochs" 3}' >runs/main/summary.json
    fails_with "nn-report: 'runs/main/summary.json': invalid JSON at byte 28: expected ':'" \
        nn-report runs/main
    [ ! -e runs/main/index.html ]
}

@test "nn-report: a missing pipeline.sh is noted" {
    make_run runs/main main
    rm runs/main/pipeline.sh
    nn-report -q runs/main
    grep -q 'No pipeline.sh in this folder.' runs/main/index.html
}

@test "nn-report: a failed chart leaves no page" {
    make_run runs/main main
    mkdir -p emptybin
    run --separate-stderr env PATH="$PWD/emptybin" "$REPO/bin/nn-report" \
        --charts runs/main
    [ "$status" -eq 1 ]
    [ "${stderr_lines[0]}" = "nn-plot: cannot run gnuplot: it is not on PATH; install the gnuplot-nox package" ]
    [ "${stderr_lines[1]}" = "nn-report: nn-plot failed to draw 'runs/main/curves.png'; see the message above" ]
    [ ! -e runs/main/index.html ]
}

@test "nn-report after a real nn-run" {
    make_dataset ds 4x4 red:12:200,0,0 blue:12:0,0,200
    run --separate-stderr nn-run --dataset="$PWD/ds" --model=NLayers \
        --layers=4 --nbr-epochs=3 --max-minibatch-size=8 --exp-id=tiny \
        --runs-dir="$PWD/runs"
    [ "$status" -eq 0 ]
    run --separate-stderr nn-report -q --charts runs/tiny
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    run check_images runs/tiny/index.html
    [ "$status" -eq 0 ]
    [ "$output" -eq 3 ]
    grep -qF 'nn-train -q' runs/tiny/index.html
    grep -q '<td class="text">tiny</td>' runs/tiny/index.html
}

@test "nn-report: JSON escapes and nested values" {
    make_run runs/main main
    cat >runs/main/summary.json <<'EOF2'
{"exp_id": "main", "dataset": "caf\u00e9 \ud83d\ude00 \"q\"",
 "layers": [100, {"a": "]"}], "epochs": 3}
EOF2
    nn-report -q runs/main
    grep -qF '<td class="text">café 😀 &quot;q&quot;</td>' runs/main/index.html
    grep -qF '<td class="text">[100, {&quot;a&quot;: &quot;]&quot;}]</td>' runs/main/index.html
}

@test "nn-report: an unpaired surrogate is invalid JSON" {
    make_run runs/main main
    printf '{"exp_id": "\\ud83d"}' >runs/main/summary.json
    fails_with "nn-report: 'runs/main/summary.json': invalid JSON at byte 18: unpaired UTF-16 surrogate" \
        nn-report runs/main
}
