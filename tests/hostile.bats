#!/usr/bin/env bats
# Hostile inputs and failing outputs, across the programs: records of
# the wrong shape, size fields that claim gigabytes, damaged PNG and
# IDX files, files the program may not read, model files that describe
# huge networks, a full disk, a closed pipe, and writers killed part
# way.  Each case expects one error line naming the program and the
# input, exit status 1, and no file left half written under its final
# name.  Cases that the suites of each program already hold (truncated
# streams, labels outside the classes, a bad format version, mixed
# shapes in a batch, NaN in nn-train) are not repeated here.

load helpers

REGRESS="$REPO/tests/regress"

# The largest peak resident set size, in KiB, that a rejected size
# claim may cost.  A normal build needs under 5 MiB for each of these
# inputs; AddressSanitizer adds its own shadow memory and quarantine.
if [ -n "${NN_SANITIZED:-}" ]; then
    MAX_RSS_KB=262144
else
    MAX_RSS_KB=65536
fi

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
}

# fails_small LINE CMD...: CMD exits 1 with stderr LINE, and its peak
# resident set size stays under MAX_RSS_KB.
fails_small() {
    local line="$1" rss
    shift
    fails_with "$line" /usr/bin/time -q -f %M -o "$T/rss" "$@"
    rss=$(tail -n 1 "$T/rss")
    if [ "$rss" -ge "$MAX_RSS_KB" ]; then
        echo "peak RSS of $*: $rss KiB, limit $MAX_RSS_KB KiB"
        return 1
    fi
}

# each_record PROG EXPECTED: EXPECTED holds lines "RECORD|REASON";
# PROG reading header() then RECORD fails with
# "PROG: standard input: record 2: REASON".  PROG may carry options.
each_record() {
    local prog="$1" record reason
    while IFS='|' read -r record reason; do
        [ -n "$record" ] || continue
        pack "[header(), $record]" >"$T/in.nn"
        fails_with "${prog%% *}: standard input: record 2: $reason" \
            $prog <"$T/in.nn"
    done <<<"$2"
}

# kill_after SECONDS CMD...: run CMD in its own process group, kill the
# whole group with SIGKILL after SECONDS, and wait for it.
kill_after() {
    local delay="$1" pid
    shift
    setsid "$@" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# bytes HEX: write the bytes spelled in hex, for records whose bin,
# str or container header claims more than follows it.
bytes() {
    "$PY" -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$1"
}

@test "fields of the wrong type are rejected" {
    each_record nn-dump "
{'type': 'sample', 'id': 's', 'label': 'x', 'dtype': 'u8', 'shape': [1, 1, 1], 'data': b'a'}|label is not an integer
{'type': 'sample', 'id': 's', 'label': 0.0, 'dtype': 'u8', 'shape': [1, 1, 1], 'data': b'a'}|label is not an integer
{'type': 'sample', 'id': 7, 'label': 0, 'dtype': 'u8', 'shape': [1, 1, 1], 'data': b'a'}|sample: field 'id' is not a string
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 5, 'shape': [1, 1, 1], 'data': b'a'}|sample: field 'dtype' is not a string
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': '1', 'data': b'a'}|sample: not an array: field 'shape'
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': [1, '1', 1], 'data': b'a'}|sample: shape dim 1 is not a positive integer within the limit
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': [1, 1, 1], 'data': 'a'}|sample: not a bin: field 'data'
{'type': 'epoch', 'epoch': '1'}|epoch: field 'epoch' is not an integer
{'type': 'epoch', 'epoch': -1}|epoch: negative epoch
{'type': 'batch', 'labels': 5, 'dtype': 'f32', 'shape': [1, 1, 1, 1], 'data': bytes(4)}|batch: field 'labels' must be an array of 1 labels
{'type': 5}|record has no string field 'type'
[1, 2]|record is not a map"
}

@test "header fields of the wrong type are rejected" {
    pack '[{"type": "header", "format": "nnpipe", "version": "1",
            "classes": ["a"]}]' >in.nn
    fails_with "nn-batch: 'in.nn': record 1: header: field 'version' is not an integer" \
        nn-batch 2 in.nn
    pack '[{"type": "header", "format": "nnpipe", "version": 1,
            "classes": ["a", 3]}]' >in.nn
    fails_with "nn-batch: 'in.nn': record 1: header: class 1 is not a string" \
        nn-batch 2 in.nn
    pack '[{"type": "header", "format": 1, "version": 1,
            "classes": ["a"]}]' >in.nn
    fails_with "nn-batch: 'in.nn': record 1: header: field 'format' is not a string" \
        nn-batch 2 in.nn
}

@test "samples missing a field are rejected" {
    each_record "nn-batch 2" "
{'type': 'sample'}|sample: missing field 'id'
{'type': 'sample', 'id': 's', 'dtype': 'u8', 'shape': [1, 1, 1], 'data': b'a'}|sample: missing field 'label'
{'type': 'sample', 'id': 's', 'label': 0, 'shape': [1, 1, 1], 'data': b'a'}|sample: missing field 'dtype'
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'data': b'a'}|sample: missing field 'shape'
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': [1, 1, 1]}|sample: missing field 'data'
{'type': 'epoch'}|epoch: missing field 'epoch'"
}

@test "zero and negative dims are rejected" {
    each_record "nn-resize 2x2" "
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': [0, 1, 1], 'data': b''}|sample: shape dim 0 is not a positive integer within the limit
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': [1, -1, 1], 'data': b'a'}|sample: shape dim 1 is not a positive integer within the limit
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': [1, 1, 0], 'data': b''}|sample: shape dim 2 is not a positive integer within the limit
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': [], 'data': b''}|sample: shape has 0 dims, expected 1 to 8
{'type': 'sample', 'id': 's', 'label': 0, 'dtype': 'u8', 'shape': [1] * 9, 'data': b'a'}|sample: shape has 9 dims, expected 1 to 8"
    each_record nn-train "
{'type': 'batch', 'epoch': 0, 'index': 0, 'labels': [], 'dtype': 'f32', 'shape': [0, 1, 1, 1], 'data': b''}|batch: shape dim 0 is not a positive integer within the limit"
}

@test "bad pixel scales are rejected" {
    # A u8 batch's scale must be a positive finite number, and a scale
    # that turns a pixel into infinity is caught too (255 * 1e308).
    each_record "nn-train -q -l 2 --precision 64" "
{'type': 'batch', 'epoch': 0, 'index': 0, 'labels': [0], 'dtype': 'u8', 'shape': [1, 1, 1, 1], 'data': b'a', 'scale': float('inf')}|batch: scale inf is not a positive finite number
{'type': 'batch', 'epoch': 0, 'index': 0, 'labels': [0], 'dtype': 'u8', 'shape': [1, 1, 1, 1], 'data': b'a', 'scale': float('nan')}|batch: scale nan is not a positive finite number
{'type': 'batch', 'epoch': 0, 'index': 0, 'labels': [0], 'dtype': 'u8', 'shape': [1, 1, 1, 1], 'data': b'a', 'scale': 0.0}|batch: scale 0 is not a positive finite number
{'type': 'batch', 'epoch': 0, 'index': 0, 'labels': [0], 'dtype': 'u8', 'shape': [1, 1, 1, 1], 'data': b'a', 'scale': -1}|batch: scale -1 is not a positive finite number
{'type': 'batch', 'epoch': 0, 'index': 0, 'labels': [0], 'dtype': 'u8', 'shape': [1, 1, 1, 1], 'data': b'\\xff', 'scale': 1e308}|batch: NaN or infinity in the input data"
}

@test "extra fields are ignored and kept" {
    pack '[header(note="extra"),
           dict(sample("s0", 1, [1, 1, 1], [7]), note={"any": [1, None]}),
           dict(sample("s1", 0, [1, 1, 1], [9]), tag=b"\x00")]' >in.nn
    # nn-shuffle copies sample records byte for byte, extra keys included.
    nn-shuffle -q in.nn >out.nn
    record_hex in.nn | sed -n '2,3p' | sort >want
    record_hex out.nn | sed -n '2,3p' | sort >got
    cmp want got
    # nn-batch reads the samples and nn-train the batch, extra keys and all.
    nn-batch -q 2 in.nn >batched.nn
    [ "$(nn-dump batched.nn | jq -c 'select(.type == "batch") | .labels')" = "[1,0]" ]
    pack '[header(),
           {"type": "batch", "epoch": 0, "index": 0, "labels": [0, 1],
            "dtype": "f32", "shape": [2, 1, 1, 1], "data": bytes(8),
            "note": "extra"}]' >batch.nn
    nn-train -q -l 2 batch.nn >metrics.nn
    [ "$(nn-dump metrics.nn | jq -c 'select(.scope == "minibatch") | .samples')" = 2 ]
}

@test "records split over many reads" {
    pack '[header(["a", "b", "c"]),
           sample("s0", 2, [3, 70, 1], bytes(range(210))),
           {"type": "note", "deep": [[[[1, "x" * 40]]]], "n": -2**40,
            "f": 0.25, "list": list(range(300)),
            "map": {str(i): i for i in range(20)}},
           sample("s1", 0, [1, 1, 300], bytes(300)),
           epoch(0)]' >in.nn
    nn-dump in.nn >want
    # 1 to 13 bytes at a time, each write a read of its own, so the
    # reader stops and resumes inside headers, lengths and data
    "$PY" - in.nn <<'EOF' | nn-dump >got
import random
import sys
import time

data = open(sys.argv[1], "rb").read()
rng = random.Random(3)
at = 0
while at < len(data):
    n = rng.randint(1, 13)
    sys.stdout.buffer.write(data[at:at + n])
    sys.stdout.buffer.flush()
    time.sleep(0.0002)
    at += n
EOF
    cmp want got
}

@test "records reach the value limit exactly" {
    # a note record is 1 map, 4 keys and values, and the array's entries:
    # 1 + 4 + (2^24 - 5) = 2^24 values, the limit, and one more over it
    "$PY" - <<'EOF'
import msgpack

header = msgpack.packb({"type": "header", "format": "nnpipe",
                        "version": 1, "classes": ["a"]})
for name, n in (("limit.nn", 2**24 - 5), ("over.nn", 2**24 - 4)):
    with open(name, "wb") as f:
        f.write(header + msgpack.packb({"type": "note", "v": [0] * n}))
EOF
    nn-batch -q 2 limit.nn >out.nn
    [ "$(stat -c %s out.nn)" -eq "$(stat -c %s limit.nn)" ]
    fails_with "nn-batch: 'over.nn': record 2: record larger than the limit of 2147483648 bytes or 16777216 values" \
        nn-batch -q 2 over.nn
}

@test "record size claims use little memory" {
    # bin32 and str32 lengths of 2^32 - 1, over the record limit of 2^31
    bytes '82a474797065a673616d706c65a464617461c6ffffffff00' >bin.nn
    fails_small "nn-batch: 'bin.nn': record 1: record larger than the limit of 2147483648 bytes or 16777216 values" \
        nn-batch 2 bin.nn
    bytes '81a474797065dbffffffff61' >str.nn
    fails_small "nn-shuffle: 'str.nn': record 1: record larger than the limit of 2147483648 bytes or 16777216 values" \
        nn-shuffle str.nn
    # containers of 2^32 - 1 entries, and one of 2^24 - 16 entries, under
    # the limit, whose entries never come
    bytes 'ddffffffff00' >array.nn
    fails_small "nn-resize: 'array.nn': record 1: container of 4294967295 entries is over the limit of 16777216" \
        nn-resize 2x2 array.nn
    bytes 'dfffffffff00' >map.nn
    fails_small "nn-dump: 'map.nn': record 1: container of 4294967295 entries is over the limit of 16777216" \
        nn-dump map.nn
    bytes 'dd00fffff000' >long.nn
    fails_small "nn-dump: 'long.nn': record 1: truncated record: the stream ends inside it after 6 bytes" \
        nn-dump long.nn
    # a sample and a batch of 2^40 elements with one byte of data
    pack '[header(), sample("s", 0, [2**20, 2**20, 1], b"a")]' >shape.nn
    fails_small "nn-batch: 'shape.nn': record 2: sample: shape has more than 2147483648 elements" \
        nn-batch 2 shape.nn
    pack '[header(), {"type": "batch", "epoch": 0, "index": 0,
                      "labels": [0], "dtype": "f64",
                      "shape": [1, 2**20, 2**20, 1], "data": b"a"}]' >batch.nn
    fails_small "nn-train: 'batch.nn': record 2: batch: shape has more than 2147483648 elements" \
        nn-train batch.nn
}

@test "nn-train rejects infinity in batch" {
    pack '[header(), {"type": "batch", "epoch": 0, "index": 0,
                      "labels": [0, 1], "dtype": "f32", "shape": [2, 1, 1, 2],
                      "data": struct.pack("<4f", 0.5, float("inf"), 0, 1)}]' >inf.nn
    fails_with "nn-train: 'inf.nn': record 2: batch: NaN or infinity in the input data" \
        nn-train -q inf.nn
    pack '[header(), {"type": "batch", "epoch": 0, "index": 0,
                      "labels": [0, 1], "dtype": "f64", "shape": [2, 1, 1, 2],
                      "data": struct.pack("<4d", 0.5, -float("inf"), 0, 1)}]' >ninf.nn
    fails_with "nn-train: 'ninf.nn': record 2: batch: NaN or infinity in the input data" \
        nn-train -q ninf.nn
}

@test "nn-train rejects batch shape mismatch" {
    pack '[header(), {"type": "batch", "epoch": 0, "index": 0,
                      "labels": [0, 1], "dtype": "f32", "shape": [2, 1, 1, 2],
                      "data": bytes(12)}]' >short.nn
    fails_with "nn-train: 'short.nn': record 2: batch: shape needs 16 bytes of f32, data has 12" \
        nn-train -q short.nn
    [ ! -e model.nn ]
}

@test "every reader rejects empty input" {
    local model prog
    make_dataset data 2x2 a:2 b:2
    nn-load -q --partition all data | nn-batch -q 4 >batches.nn
    nn-train -q -l 2 --save model.nn batches.nn >/dev/null
    : >empty.nn
    for prog in "nn-batch 2" nn-shuffle "nn-resize 2x2" nn-augment nn-train \
        "nn-predict --model model.nn" "nn-save out" nn-dump; do
        fails_with "${prog%% *}: standard input: empty stream: no header record" \
            $prog <empty.nn
    done
    [ ! -e out ]
}

@test "nn-load rejects a PNG with a bad CRC" {
    make_dataset data 3x2 a:1 b:1
    "$PY" - data/a/000.png <<'EOF'
import struct
import sys

data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b"IDAT")
length = struct.unpack(">I", data[at - 4:at])[0]
data[at + 4 + length] ^= 1
open(sys.argv[1], "wb").write(data)
EOF
    fails_with "nn-load: 'data/a/000.png': bad CRC in chunk IDAT" nn-load -q data
}

@test "huge PNG headers use little memory" {
    mkdir -p big/a
    "$PY" - big/a/x.png <<'EOF'
import struct
import sys
import zlib


def chunk(tag, data):
    return (struct.pack(">I", len(data)) + tag + data
            + struct.pack(">I", zlib.crc32(tag + data)))


ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                              + chunk(b"IDAT", b"") + chunk(b"IEND", b""))
EOF
    fails_small "nn-load: 'big/a/x.png': image too large: 100000x100000 pixels" \
        nn-load -q big
    # 2^26 pixels in one row of 16-bit RGBA: libpng's row buffers alone
    # would take 1 GiB
    fails_small "nn-load: '$REGRESS/png/width-67108864-rgba16.png': image too large: 67108864x1 pixels" \
        nn-load -q "$REGRESS/png/width-67108864-rgba16.png"
    # 2^26 rows of one pixel, with 50 rows of data
    fails_small "nn-load: '$REGRESS/png/height-67108864-gray.png': not enough image data" \
        nn-load -q "$REGRESS/png/height-67108864-gray.png"
    # a tEXt chunk whose length field claims 1.7 GiB
    fails_small "nn-load: '$REGRESS/png/text-chunk-claims-1819044972-bytes.png': truncated PNG data" \
        nn-load -q "$REGRESS/png/text-chunk-claims-1819044972-bytes.png"
}

@test "nn-load rejects files it may not read" {
    local dir user=()
    # root reads every file, so run as nobody, in a folder of its own
    # because the bats temporary folder is closed to other users
    if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null || skip "setpriv is not installed"
        user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    fi
    dir=$(mktemp -d /tmp/nn-hostile.XXXXXX)
    chmod 755 "$dir"
    make_dataset "$dir/data" 2x2 a:2 b:2
    chmod 000 "$dir/data/a/001.png"
    fails_with "nn-load: '$dir/data/a/001.png': cannot open: Permission denied" \
        "${user[@]}" nn-load -q "$dir/data"
    chmod 000 "$dir/data/b"
    fails_with "nn-load: cannot read folder '$dir/data/b': Permission denied" \
        "${user[@]}" nn-load -q "$dir/data"
    rm -rf "$dir"
}

@test "IDX size claims use little memory" {
    "$PY" - <<'EOF'
import struct

# 2^28 labels and 2^28 images of 8192 x 8192, with no data after the
# header; then images of 16384 x 8192, over the 2^26-byte item limit
open("labels.idx", "wb").write(bytes([0, 0, 8, 1]) + struct.pack(">I", 1 << 28))
open("images.idx", "wb").write(
    bytes([0, 0, 8, 3]) + struct.pack(">3I", 1 << 28, 8192, 8192))
open("two.idx", "wb").write(bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + b"\0\1")
open("wide.idx", "wb").write(
    bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 16384, 8192))
open("cut.idx", "wb").write(
    bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 8192, 8192) + bytes(100))
EOF
    fails_small "nn-load: 'labels.idx': truncated IDX data: item 1 of 268435456 is incomplete" \
        nn-load -q images.idx --idx-labels labels.idx
    fails_small "nn-load: 'wide.idx': IDX dim 2 of 8192 is zero or over the limit" \
        nn-load -q wide.idx --idx-labels two.idx
    fails_small "nn-load: 'cut.idx': truncated IDX data: item 1 of 2 is incomplete" \
        nn-load -q cut.idx --idx-labels two.idx
}

@test "damaged gzip IDX files name the zlib error" {
    "$PY" - <<'EOF'
import gzip
import random
import struct

pixels = bytes(random.Random(1).randrange(256) for _ in range(2 * 784))
raw = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 28, 28) + pixels
packed = gzip.compress(raw, mtime=0)
corrupt = bytearray(packed)
corrupt[len(corrupt) // 2] ^= 0xff
open("corrupt.gz", "wb").write(corrupt)
open("cut.gz", "wb").write(packed[:len(packed) // 2])
open("labels.idx", "wb").write(bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + b"\0\1")
open("float.idx", "wb").write(bytes([0, 0, 0x0d, 1]) + struct.pack(">I", 2) + bytes(8))
EOF
    fails_with "nn-load: 'corrupt.gz': gzip data error: invalid distance too far back" \
        nn-load -q corrupt.gz --idx-labels labels.idx
    fails_with "nn-load: 'cut.gz': gzip data error: unexpected end of file" \
        nn-load -q cut.gz --idx-labels labels.idx
    fails_with "nn-load: 'float.idx': IDX data type 0x0d is not supported (only unsigned bytes, 0x08)" \
        nn-load -q cut.gz --idx-labels float.idx
}

@test "huge model claims use little memory" {
    local model
    # 165 bytes describing 256x256 inputs and 4096 hidden units: 2 GiB
    model="$REGRESS/model/hidden-4096-no-tensors.nn"
    fails_small "nn-predict: '$model': model record holds 0 bytes of tensors, but its network needs 2147549184 bytes of weights" \
        nn-predict --model "$model"
    model="$REGRESS/model/hidden-1048576-no-tensors.nn"
    fails_small "nn-predict: '$model': model record holds 0 bytes of tensors, but its network needs 8796109799424 bytes of weights" \
        nn-predict --model "$model"
}

@test "nn-train --resume rejects a bad input shape" {
    make_dataset data 2x2 a:2 b:2
    nn-load -q --partition all data | nn-batch -q 4 >batches.nn
    nn-train -q -l 2 --checkpoint ckpt.nn batches.nn >/dev/null
    # the same checkpoint with input_shape [2, 'x', 3]
    "$PY" - ckpt.nn <<'EOF'
import sys

import msgpack

with open(sys.argv[1], "rb") as f:
    records = list(msgpack.Unpacker(f, raw=False))
for r in records:
    if r["type"] == "model":
        r["input_shape"] = [2, "x", 3]
with open(sys.argv[1], "wb") as f:
    for r in records:
        f.write(msgpack.packb(r, use_bin_type=True))
EOF
    fails_with "nn-train: cannot resume from 'ckpt.nn': model record has no valid input_shape" \
        nn-train -q -l 2 --resume ckpt.nn batches.nn
}

@test "nn-predict reports a full disk" {
    make_dataset data 2x2 a:2 b:2
    nn-load -q --partition all data >samples.nn
    nn-batch -q 4 samples.nn | nn-train -q -l 2 --save model.nn >/dev/null
    check_disk_full nn-predict -q --model model.nn samples.nn
}

@test "device and FIFO outputs written in place" {
    make_dataset data 2x2 a:2 b:2
    nn-load -q --partition all data >samples.nn
    nn-batch -q 4 samples.nn >batches.nn
    # renaming a temporary over /dev/null would replace the device node;
    # a link to it shows the same without touching /dev
    ln -s /dev/null model.nn
    nn-train -q -l 2 --save model.nn batches.nn >/dev/null
    [ "$(readlink model.nn)" = /dev/null ]
    ln -s /dev/null grid.png
    nn-save -q --grid 4 grid.png samples.nn
    [ "$(readlink grid.png)" = /dev/null ]
    # a FIFO passes the whole model to its reader and stays a FIFO
    mkfifo model.fifo
    cat model.fifo >got.nn &
    nn-train -q -l 2 --save model.fifo batches.nn >/dev/null
    wait
    [ -p model.fifo ]
    [ "$(nn-dump got.nn | jq -r .type | tr '\n' ' ')" = "header model " ]
}

@test "closed pipe leaves no zombie" {
    make_dataset data 30x30 a:40 b:40
    # nn-load's pid and status go to files; once the pipeline is over,
    # /proc must hold no process of that pid, running or zombie, and
    # the shell no zombie child (fields 3 and 4 of /proc/PID/stat are
    # the state and the parent pid)
    run bash -c '{ nn-load data 2>err & echo $! >pid; wait $!; echo $? >rc; } |
                     head -c 100 >/dev/null
                 cat rc
                 [ ! -e "/proc/$(cat pid)" ] || cat "/proc/$(cat pid)/stat"
                 for f in /proc/[0-9]*/stat; do
                     read -r pid comm state ppid rest <"$f" 2>/dev/null ||
                         continue
                     [ "$ppid" = $$ ] && [ "$state" = Z ] && echo "$pid $comm"
                 done
                 echo end'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 141 ]
    [ "${lines[1]}" = end ]
    # only the info line: no error
    [ "$(grep -vc ' nn-load info: ' err)" -eq 0 ]
}

@test "killed nn-train leaves no partial model" {
    local delay
    # 7500 inputs and 1000 units: a model file of 60 MB in f64, so
    # some kills come while it is written
    make_dataset data 50x50 a:2 b:2
    nn-load -q --partition all data | nn-batch -q 4 >batches.nn
    for delay in 0.05 0.1 0.2 0.3 0.4 0.5 0.6 0.8 1.0 1.5; do
        rm -f model.nn
        kill_after "$delay" nn-train -q -l 1000 --save model.nn batches.nn
        if [ -e model.nn ]; then
            nn-dump model.nn | jq -e 'select(.type == "model") |
                .params[0].data.bytes == 60000000' >/dev/null
        fi
    done
    # the run finishes when left alone
    nn-train -q -l 1000 --save model.nn batches.nn >/dev/null
    [ -s model.nn ]
}

@test "killed nn-run leaves no partial run" {
    local delay
    for delay in 0.05 0.1 0.2 0.3 0.4 0.5 0.6 0.8; do
        rm -rf runs
        kill_after "$delay" nn-run --dataset=colors --nbr-epochs=3 \
            --runs-dir=runs
        if [ -e runs/main ]; then
            jq -e .exp_id runs/main/summary.json >/dev/null
            nn-dump runs/main/metrics.nn >/dev/null
            nn-dump runs/main/model.nn >/dev/null
            [ -s runs/main/pipeline.sh ]
        fi
    done
}

@test "killed nn-save leaves no partial PNG" {
    local delay png
    make_dataset data 200x200 a:20 b:20
    nn-load -q --partition all data >samples.nn
    for delay in 0.02 0.05 0.1 0.2 0.4; do
        rm -rf out
        kill_after "$delay" nn-save out samples.nn
        for png in out/*/*.png; do
            [ -e "$png" ] || continue
            nn-load -q "$png" >/dev/null
        done
    done
}

@test "killed nn-plot leaves no partial chart" {
    local delay
    make_dataset data 2x2 a:4 b:4
    nn-load -q --partition all data | nn-shuffle -q -e 20 |
        nn-batch -q 4 | nn-train -q -l 2 >metrics.nn
    for delay in 0.02 0.05 0.1 0.2 0.3 0.5; do
        rm -f curves.png
        kill_after "$delay" nn-plot -q -o curves.png metrics.nn
        if [ -e curves.png ]; then
            nn-load -q curves.png >/dev/null
        fi
    done
}

@test "nn-dump counts ext value bytes" {
    pack '[header(), {"type": "note", "x": msgpack.ExtType(5, b"abcdefgh")}]' |
        nn-dump >out
    [ "$(tail -n 1 out)" = '{"type":"note","x":{"bytes":8}}' ]
}

@test "regression inputs fail cleanly" {
    local f
    # every input that once crashed a decoder or took gigabytes; each
    # needs one error line and exit status 1
    for f in "$REGRESS"/record/*; do
        [ -e "$f" ] || continue
        run --separate-stderr nn-dump "$f"
        [ "$status" -eq 1 ]
        [[ "$stderr" == "nn-dump: '$f': "* ]]
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    done
    for f in "$REGRESS"/png/*; do
        run --separate-stderr nn-load -q "$f"
        [ "$status" -eq 1 ]
        [[ "$stderr" == "nn-load: '$f': "* ]]
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    done
    for f in "$REGRESS"/model/*; do
        run --separate-stderr nn-predict --model "$f"
        [ "$status" -eq 1 ]
        [[ "$stderr" == "nn-predict: '$f': "* ]]
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    done
    for f in "$REGRESS"/idx/*; do
        [ -e "$f" ] || continue
        run --separate-stderr nn-load -q "$f" --idx-labels "$f"
        [ "$status" -eq 1 ]
        [[ "$stderr" == "nn-load: '$f': "* ]]
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    done
}

@test "bin length claim allocates nothing" {
    # The record claims a 1.97 GB bin and ends after 50 bytes: the
    # reader must grow its buffer by what arrives, not by what is claimed.
    run --separate-stderr /usr/bin/time -f %M nn-dump "$REGRESS/record/bin-claim-2gib"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"truncated record"* ]]
    [ "$(printf '%s\n' "$stderr" | tail -n 1)" -lt 65536 ]
}
