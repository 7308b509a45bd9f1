#!/usr/bin/env bats
# pipelines/study: the study files it ships, a three-variant study on
# the colors dataset (table, chart, page), skipping and resuming
# variants, the JOBS setting, and its errors.

load helpers

STUDY="$REPO/pipelines/study"

HEADER='| Rate | # parameters | Params/samples ratio | Training cost | Training accuracy | Dev cost | Dev accuracy | Early stop epoch | Avoidable bias | Variance |'

# tiny_study FILE: three variants of 3 epochs on colors, about a
# second each.
tiny_study() {
    cat >"$1" <<'EOF'
# learning rates on colors
title   Tiny learning-rate study
column  Rate
flags   --dataset=colors --model=OneLayer --nbr-epochs=3 --max-minibatch-size=100
variant lr_1e3 | 1e-3 | --learning-rate=0.001
variant lr_1e2 | 1e-2 | --learning-rate=0.01
variant lr_1e1 | 1e-1 | --learning-rate=0.1
EOF
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    tiny_study tiny.study
}

# percent EXPR: the awk expression EXPR as a percentage, like table.md.
percent() {
    awk "BEGIN { printf \"%.1f%%\", 100 * ($1) }"
}

# mtime PATH: the modification time with nanoseconds.
mtime() {
    stat -c %y "$1"
}

@test "study: --help and usage errors" {
    run --separate-stderr "$STUDY" --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Usage: pipelines/study "* ]]
    [ -z "$stderr" ]

    run --separate-stderr "$STUDY" --bogus units
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "study: unknown option '--bogus'" ]

    run --separate-stderr "$STUDY"
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "study: no study given" ]

    run --separate-stderr "$STUDY" --jobs=0 units
    [ "$status" -eq 2 ]
    [[ "${stderr_lines[0]}" == "study: invalid job count '0'"* ]]

    run --separate-stderr "$STUDY" --sshloginfile=missing units
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "study: cannot read the sshlogin file 'missing'" ]

    printf '2/:\n' >hosts
    run --separate-stderr "$STUDY" --sshloginfile=hosts units
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "study: 'hosts' lists ':' (this machine): give it as an ssh login instead" ]
}

@test "study: remote runs reject dataset paths" {
    echo "1/ssh -o BatchMode=yes nowhere.invalid" >hosts
    printf 'variant a | a | --dataset=%s/datasets/colors\n' "$REPO" >path.study
    run --separate-stderr "$STUDY" --runs-dir=out --sshloginfile=hosts path.study
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"study: remote runs need datasets under datasets/, not the path '$REPO/datasets/colors'" ]]
    [ ! -e out/path/a ]
}

@test "study: unknown study name" {
    run --separate-stderr "$STUDY" no-such-study
    [ "$status" -eq 1 ]
    [[ "$stderr" == "study: unknown study 'no-such-study'"* ]]
}

@test "study: every shipped study parses" {
    run --separate-stderr "$STUDY" --list
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 28 ]

    for name in $("$STUDY" --list | cut -d' ' -f1); do
        run --separate-stderr "$STUDY" --dry-run "$name"
        [ "$status" -eq 0 ]
        if [ "$name" = experiment-d ]; then
            [[ "$stderr" == "study: experiment-d: skipped: "* ]]
            continue
        fi
        [ "${#lines[@]}" -ge 1 ]
        for line in "${lines[@]}"; do
            [[ "$line" == "nn-run --runs-dir=runs/$name --exp-id="* ]]
        done
    done
}

@test "study: dry run keeps flag order" {
    run --separate-stderr "$STUDY" --dry-run --flags=--nbr-epochs=2 layers
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 4 ]
    [ "${lines[0]}" = "nn-run --runs-dir=runs/layers --exp-id=0_layers --dataset=numbers --model=NLayers --layers=16 --optimizer=Adam --learning-rate=0.001 --gradient-checks=off --nbr-epochs=100 --max-minibatch-size=50000 --early-stopping-patience=10 --resize=16,16 --layers= --nbr-epochs=2" ]
}

@test "study: table, chart and page" {
    run --separate-stderr env JOBS=2 "$STUDY" --runs-dir=out tiny.study
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"study: tiny: 3 variants, 0 done, running 3, 2 at a time"* ]]

    for id in lr_1e3 lr_1e2 lr_1e1; do
        [ -f "out/tiny/$id/summary.json" ]
        [ -f "out/tiny/$id/metrics.nn" ]
    done

    # table.md: the header, the alignment row, one row per variant in
    # the order of the study file; stdout repeats it
    mapfile -t rows <out/tiny/table.md
    [ "${#rows[@]}" -eq 5 ]
    [ "${rows[0]}" = "$HEADER" ]
    [ "${rows[1]}" = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" ]
    [[ "${rows[2]}" == "| 1e-3 | "* ]]
    [[ "${rows[3]}" == "| 1e-2 | "* ]]
    [[ "${rows[4]}" == "| 1e-1 | "* ]]
    [ "$output" = "$(cat out/tiny/table.md)" ]

    # the row of lr_1e2 against its summary.json: 3 classes of 32x32
    # RGB give 3 * 3072 + 3 parameters, and 66 training samples
    summary=out/tiny/lr_1e2/summary.json
    IFS='|' read -r -a cells <<<"${rows[3]}"
    [ "${#cells[@]}" -eq 11 ]
    [ "${cells[2]}" = " 9219 " ]
    [ "${cells[3]}" = " 139.68 " ]
    [ "${cells[4]}" = " $(jq .training_cost "$summary" | xargs printf '%.2f') " ]
    [ "${cells[6]}" = " $(jq .dev_cost "$summary" | xargs printf '%.2f') " ]
    [ "${cells[8]}" = " - " ]
    acc=$(jq .training_accuracy "$summary")
    dev=$(jq .dev_accuracy "$summary")
    [ "${cells[5]}" = " $(percent "$acc") " ]
    [ "${cells[7]}" = " $(percent "$dev") " ]
    [ "${cells[9]}" = " $(percent "1 - $acc") " ]
    [ "${cells[10]}" = " $(percent "$acc - $dev") " ]

    # the chart is a PNG
    [ "$(head -c 8 out/tiny/curves.png | od -An -tx1 | tr -d ' \n')" = \
      "89504e470d0a1a0a" ]
    grep -q 'src="curves.png"' out/tiny/index.html
    grep -q 'lr_1e1' out/tiny/index.html
}

@test "study: rerun skips completed variants" {
    "$STUDY" --runs-dir=out tiny.study >/dev/null 2>&1
    before=()
    for f in out/tiny/*/summary.json out/tiny/table.md out/tiny/curves.png; do
        before+=("$(mtime "$f")")
    done

    run --separate-stderr "$STUDY" --runs-dir=out tiny.study
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"3 variants, 3 done, running 0"* ]]
    i=0
    for f in out/tiny/*/summary.json out/tiny/table.md out/tiny/curves.png; do
        [ "$(mtime "$f")" = "${before[$i]}" ]
        i=$((i + 1))
    done
}

@test "study: --docs-chart draws a smaller copy" {
    "$STUDY" --runs-dir=out tiny.study >/dev/null 2>&1
    kept=$(mtime out/tiny/lr_1e3/summary.json)

    run --separate-stderr "$STUDY" --runs-dir=out --docs-chart=img tiny.study
    [ "$status" -eq 0 ]
    [ "$(head -c 8 img/study-tiny.png | od -An -tx1 | tr -d ' \n')" = \
      "89504e470d0a1a0a" ]
    [ "$(mtime out/tiny/lr_1e3/summary.json)" = "$kept" ]
}

@test "study: resume runs only the missing variant" {
    "$STUDY" --runs-dir=out tiny.study >/dev/null 2>&1
    kept=$(mtime out/tiny/lr_1e3/summary.json)
    table=$(cat out/tiny/table.md)
    rm -r out/tiny/lr_1e2

    run --separate-stderr "$STUDY" --runs-dir=out tiny.study
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"3 variants, 2 done, running 1"* ]]
    [ -f out/tiny/lr_1e2/summary.json ]
    [ "$(mtime out/tiny/lr_1e3/summary.json)" = "$kept" ]
    [ "$(wc -l <out/tiny/jobs.log)" -eq 2 ]
    grep -q -- '--exp-id=lr_1e2' out/tiny/jobs.log
    # the same seeds give the same table
    [ "$(cat out/tiny/table.md)" = "$table" ]
}

@test "study: interrupted study resumes" {
    cat >int.study <<'EOF'
column  Run
flags   --dataset=colors --model=OneLayer --nbr-epochs=3
variant quick | quick | --learning-rate=0.001
variant slow  | slow  | --dataset=numbers --model=NLayers --layers=100 --nbr-epochs=1000
variant last  | last  | --learning-rate=0.01
EOF
    # its own process group, so that one signal reaches every stage
    setsid "$STUDY" --jobs=1 --runs-dir=out int.study >log 2>&1 3>&- &
    pid=$!
    for _ in $(seq 200); do
        [ -e out/int/quick/summary.json ] && break
        sleep 0.1
    done
    [ -e out/int/quick/summary.json ]
    kept=$(mtime out/int/quick/summary.json)
    sleep 0.5
    kill -TERM -- "-$pid"
    wait "$pid" || true

    # the slow run was cut short and left no run folder
    [ ! -e out/int/slow ]
    [ ! -e out/int/last ]
    [ ! -e out/int/table.md ]

    sed -i 's/--nbr-epochs=1000/--nbr-epochs=2/' int.study
    run --separate-stderr "$STUDY" --jobs=1 --runs-dir=out int.study
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"3 variants, 1 done, running 2"* ]]
    [ "$(mtime out/int/quick/summary.json)" = "$kept" ]
    [ "$(wc -l <out/int/table.md)" -eq 5 ]
}

@test "study: JOBS=1 runs one variant at a time" {
    run --separate-stderr env JOBS=1 "$STUDY" --runs-dir=out tiny.study
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"running 3, 1 at a time"* ]]
    # one job leaves nn-train its default BLAS threads
    ! grep -q -- '--threads=' out/tiny/lr_1e3/pipeline.sh

    # jobs.log: each job starts after the one before it has ended
    run awk -F'\t' 'NR > 1 {
        if (NR > 2 && $3 < end - 0.01) bad = 1
        end = $3 + $4 }
        END { exit bad }' out/tiny/jobs.log
    [ "$status" -eq 0 ]
}

@test "study: --jobs=2 gives nn-run one thread" {
    run --separate-stderr env JOBS=1 "$STUDY" --jobs=2 --runs-dir=out tiny.study
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"running 3, 2 at a time"* ]]
    grep -q -- '--threads=1' out/tiny/lr_1e3/pipeline.sh
}

@test "study: make passes JOBS and SSHLOGINFILE" {
    run make -s -n -C "$REPO" study-units JOBS=3 SSHLOGINFILE=hosts
    [ "$status" -eq 0 ]
    [[ "$output" == *"pipelines/study --jobs=3 --sshloginfile=hosts units"* ]]
}

@test "study: failed variant leaves no table" {
    cat >bad.study <<'EOF'
column  Layers
flags   --dataset=colors --nbr-epochs=2
variant good | ok  | --layers=4
variant bad  | bad | --learning-rate=-1
EOF
    run --separate-stderr "$STUDY" --runs-dir=out bad.study
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"study: bad: variants without results: bad"* ]]
    [ -f out/bad/good/summary.json ]
    [ ! -e out/bad/table.md ]
}

@test "study: study file errors name the line" {
    printf 'column x\nvariant a | a | --layers=4\nbogus 1\n' >kw.study
    run --separate-stderr "$STUDY" --dry-run kw.study
    [ "$status" -eq 1 ]
    [ "$stderr" = "study: kw.study:3: unknown keyword 'bogus'" ]

    printf 'variant a | a | --layers=4;rm\n' >flag.study
    run --separate-stderr "$STUDY" --dry-run flag.study
    [ "$status" -eq 1 ]
    [ "$stderr" = "study: flag.study:1: invalid flag '--layers=4;rm': expected --name or --name=value" ]

    printf 'variant a | a | --exp-id=x\n' >id.study
    run --separate-stderr "$STUDY" --dry-run id.study
    [ "$status" -eq 1 ]
    [ "$stderr" = "study: id.study:1: '--exp-id' is set by the study runner" ]

    printf 'variant a | a | --layers=4\nvariant a | b | --layers=5\n' >twice.study
    run --separate-stderr "$STUDY" --dry-run twice.study
    [ "$status" -eq 1 ]
    [ "$stderr" = "study: twice.study:2: variant 'a' given twice" ]

    printf 'title only a title\n' >empty.study
    run --separate-stderr "$STUDY" --dry-run empty.study
    [ "$status" -eq 1 ]
    [ "$stderr" = "study: empty.study: no variant" ]
}
