#!/usr/bin/env bats
# The nn-report page in headless Chromium: it renders, and every image
# on it loads.  The page carries an inline script that records, once
# the page has loaded, how many of its images decoded (naturalWidth >
# 0) in <body data-images-loaded data-images-total>; --dump-dom prints
# the DOM after that.  Chromium opens file:// URLs only, with its
# background network features turned off.

load helpers

setup() {
    if ! command -v chromium >/dev/null; then
        if [ "${CI:-}" = true ]; then
            echo "chromium is not installed; CI must run this suite" \
                "(scripts/install-deps installs it)" >&2
            return 1
        fi
        skip "chromium is not installed (run scripts/install-deps)"
    fi
    cd "$BATS_TEST_TMPDIR"
}

# browse ARGS...: headless Chromium with a fresh profile, limited to
# 120 seconds; its own log lines on stderr are dropped.
browse() {
    local profile
    profile=$(mktemp -d "$BATS_TEST_TMPDIR/profile.XXXXXX")
    timeout 120 chromium --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --disable-dev-shm-usage \
        --user-data-dir="$profile" "$@" 2>/dev/null
}

# make_run DIR ID: a run folder with summary.json, pipeline.sh, a
# metrics stream with dev results and a tracked parameter, and dev.nn.
make_run() {
    mkdir -p "$1"
    printf '{"exp_id": "%s", "parameters": 9, "epochs": 3, "seconds": 1}\n' \
        "$2" >"$1/summary.json"
    printf 'nn-train --dev=dev.nn < batches.nn > metrics.nn\n' \
        >"$1/pipeline.sh"
    pack '[header(["a", "b"])] + [
           dict(type="metrics", scope="minibatch", epoch=e, step=2 * e + i,
                index=i, samples=2, cost=1.0 / (e + 1), accuracy=0.5)
           for e in range(3) for i in range(2)] + [
           dict(type="metrics", scope="epoch", epoch=e, samples=4,
                parameters=9, cost=1.0 / (e + 1), accuracy=0.5 + e / 10,
                seconds=0.1 * e, dev_samples=2, dev_cost=1.2 / (e + 1),
                dev_accuracy=0.5, dev_confusion=[[1, 0], [e, 1]])
           for e in range(3)] + [
           dict(type="metrics", scope="track", epoch=e, name="W",
                rows=[0], dtype="f64", shape=[1, 4], data=bytes(range(32)))
           for e in range(3)]' >"$1/metrics.nn"
    pack '[header(["a", "b"])] + [
           sample("s%d" % i, i % 2, [3, 3, 3], [40 * i] * 27)
           for i in range(5)]' >"$1/dev.nn"
}

# loaded_images PAGE: "LOADED/TOTAL" as the page's script counted them.
loaded_images() {
    browse --dump-dom "file://$PWD/$1" >dom.html
    local body
    body=$(grep -o '<body[^>]*>' dom.html)
    local loaded total
    loaded=$(sed -n 's/.*data-images-loaded="\([0-9]*\)".*/\1/p' <<<"$body")
    total=$(sed -n 's/.*data-images-total="\([0-9]*\)".*/\1/p' <<<"$body")
    echo "$loaded/$total"
}

@test "browser: a screenshot of the one-run page" {
    make_run runs/main main
    nn-report -q --charts runs/main
    browse --screenshot="$PWD/shot.png" --window-size=1200,1600 \
        "file://$PWD/runs/main/index.html"
    [ -s shot.png ]
    run "$PY" -c 'import struct, sys
data = open(sys.argv[1], "rb").read(24)
assert data[:8] == b"\x89PNG\r\n\x1a\n"
print("%dx%d" % struct.unpack(">II", data[16:24]))' shot.png
    [ "$status" -eq 0 ]
    [ "$output" = 1200x1600 ]
}

@test "browser: every image of the one-run page loads" {
    make_run runs/main main
    nn-report -q --charts runs/main
    local n
    n=$(grep -c '<img ' runs/main/index.html)
    [ "$n" -eq 4 ]
    [ "$(loaded_images runs/main/index.html)" = "$n/$n" ]
}

@test "browser: every image of the comparison page loads" {
    make_run runs/a a
    make_run runs/b b
    nn-report -q --charts --out cmp runs/a runs/b
    local n
    n=$(grep -c '<img ' cmp/index.html)
    [ "$n" -eq 9 ]
    [ "$(loaded_images cmp/index.html)" = "$n/$n" ]
}

@test "browser: a missing image is counted as not loaded" {
    make_run runs/main main
    nn-report -q --charts runs/main
    rm runs/main/confusion.png
    [ "$(loaded_images runs/main/index.html)" = "3/4" ]
}

@test "browser: a file that is not an image is counted as not loaded" {
    make_run runs/main main
    nn-report -q --charts runs/main
    echo 'not a PNG file' >runs/main/curves.png
    [ "$(loaded_images runs/main/index.html)" = "3/4" ]
}
