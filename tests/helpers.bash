# Shared setup for the bats suites: load it with `load helpers`.
#
# It puts the freshly built bin/nn-* first on PATH and provides
# generators for PNG files, image datasets and hand-made record
# streams, so the tests need no fixture files.  Run `make` before
# the suites.

REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
export REPO
export PATH="$REPO/bin:$PATH"

# `run --separate-stderr` needs bats 1.5.
bats_require_minimum_version 1.5.0

# Debian's interpreter, which has python3-msgpack and python3-numpy.
PY=/usr/bin/python3

# One BLAS thread: the small test networks run faster without thread
# start-up, and results do not depend on the number of cores.
export OPENBLAS_NUM_THREADS=1

# The PNG writer and the record packer used by the functions below.
# Pixel values follow fixed formulas, so a test can compute what a
# decoder must return (see `expect_pixels`).
read -r -d '' NN_TEST_PY <<'PYEOF' || true
import json, random, struct, sys, zlib

import msgpack

# Adam7 passes: x start, y start, x step, y step.
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

# kind: PNG colour type, bit depth, samples per pixel, interlaced.
KINDS = {
    "gray": (0, 8, 1, False),
    "gray1": (0, 1, 1, False),
    "gray16": (0, 16, 1, False),
    "graya": (4, 8, 2, False),
    "rgb": (2, 8, 3, False),
    "rgb16": (2, 16, 3, False),
    "rgba": (6, 8, 4, False),
    "palette": (3, 8, 1, False),
    "palette4": (3, 4, 1, False),
    "interlaced": (2, 8, 3, True),
}

PALETTE = [((17 * i) % 256, (91 * i + 5) % 256, (203 * i + 9) % 256)
           for i in range(256)]


def stored_sample(kind, x, y, c):
    """The sample value written at pixel (x, y), channel c."""
    depth = KINDS[kind][1]
    if kind.startswith("palette"):
        return (x * 5 + y * 3) % (1 << depth)
    if depth == 16:
        return (x * 4099 + y * 7919 + c * 1237 + 255) % 65536
    if depth == 1:
        return (x + y) % 2
    return (x * 37 + y * 91 + c * 53 + 11) % 256


def decoded_pixel(kind, x, y):
    """The 8-bit gray or RGB values a decoder must return for a pixel."""
    color_type, depth, _, _ = KINDS[kind]
    if color_type == 3:
        return list(PALETTE[stored_sample(kind, x, y, 0)])
    colours = 1 if color_type in (0, 4) else 3
    values = [stored_sample(kind, x, y, c) for c in range(colours)]
    if depth == 16:
        # v * 255 / 65535 rounded to nearest.  No value is an exact half,
        # because 510 * v is even and 65535 is odd.
        return [(v * 255 * 2 + 65535) // (2 * 65535) for v in values]
    if depth < 8:
        return [v * 255 // ((1 << depth) - 1) for v in values]
    return values


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    per_byte = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        byte = 0
        for j, s in enumerate(samples[i:i + per_byte]):
            byte |= s << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def chunk(tag, data):
    body = tag + data
    return struct.pack(">I", len(data)) + body + struct.pack(
        ">I", zlib.crc32(body) & 0xffffffff)


def png_bytes(kind, width, height, pixel=None):
    """Encode a PNG; pixel(x, y) -> samples overrides the formulas."""
    color_type, depth, samples_per_pixel, interlaced = KINDS[kind]
    if pixel is None:
        def pixel(x, y):
            return [stored_sample(kind, x, y, c)
                    for c in range(samples_per_pixel)]
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        xs = range(x0, width, dx)
        if not xs:
            continue
        for y in range(y0, height, dy):
            samples = [s for x in xs for s in pixel(x, y)]
            raw += b"\0" + pack_row(samples, depth)
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth,
                                      color_type, 0, 0, int(interlaced)))
    if color_type == 3:
        out += chunk(b"PLTE", b"".join(bytes(p) for p in
                                       PALETTE[:1 << depth]))
    out += chunk(b"IDAT", zlib.compress(bytes(raw)))
    out += chunk(b"IEND", b"")
    return out


def cmd_png(path, kind, width, height):
    with open(path, "wb") as f:
        f.write(png_bytes(kind, int(width), int(height)))


def cmd_expect(kind, width, height):
    values = [v for y in range(int(height)) for x in range(int(width))
              for v in decoded_pixel(kind, x, y)]
    print(json.dumps(values, separators=(",", ":")))


def cmd_dataset(root, size, *classes):
    """classes: NAME:COUNT[:R,G,B]; each image is that colour plus noise."""
    import os
    sys.path.insert(0, os.path.join(os.environ["REPO"], "scripts"))
    import pngfile
    width, height = (int(v) for v in size.split("x"))
    rng = random.Random(1)
    for spec in classes:
        parts = spec.split(":")
        name, count = parts[0], int(parts[1])
        base = ([int(v) for v in parts[2].split(",")] if len(parts) > 2
                else [rng.randrange(256) for _ in range(3)])
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(count):
            pixels = [min(255, max(0, b + rng.randint(-20, 20)))
                      for _ in range(width * height) for b in base]
            pngfile.write(os.path.join(root, name, "%03d.png" % i),
                          width, height, 3, pixels, level=1)


# Record constructors for `pack`.
def header(classes=("a", "b"), **extra):
    return dict(type="header", format="nnpipe", version=1,
                classes=list(classes), **extra)


def sample(id, label, shape, data=None, dtype="u8"):
    if data is None:
        n = 1
        for d in shape:
            n *= d
        data = bytes(n * {"u8": 1, "i32": 4, "f32": 4, "f64": 8}[dtype])
    elif isinstance(data, list):
        data = bytes(data)
    return dict(type="sample", id=id, label=label, dtype=dtype,
                shape=list(shape), data=data)


def epoch(n):
    return dict(type="epoch", epoch=n)


def cmd_records(path):
    """Print each record of a stream as one line of hex."""
    with open(path, "rb") as f:
        data = f.read()
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    start = 0
    for _ in unpacker:
        print(data[start:unpacker.tell()].hex())
        start = unpacker.tell()


def cmd_pack(expr):
    out = sys.stdout.buffer
    for rec in eval(expr):
        if isinstance(rec, (bytes, bytearray)):
            out.write(rec)
        else:
            out.write(msgpack.packb(rec, use_bin_type=True))


globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
PYEOF

# make_png PATH KIND W H: write a W x H PNG of one of these kinds:
# gray gray1 gray16 graya rgb rgb16 rgba palette palette4 interlaced.
make_png() {
    "$PY" -c "$NN_TEST_PY" png "$@"
}

# expect_pixels KIND W H: print, as a JSON array, the HWC u8 values
# that decoding a make_png image of that kind must give.
expect_pixels() {
    "$PY" -c "$NN_TEST_PY" expect "$@"
}

# make_dataset DIR WxH NAME:COUNT[:R,G,B]...: write DIR/NAME/000.png
# and so on, COUNT RGB images per class, each the class colour plus
# seeded noise of up to 20 levels (a random colour when R,G,B is absent).
make_dataset() {
    "$PY" -c "$NN_TEST_PY" dataset "$@"
}

# pack EXPR: write the records of a Python list expression as a
# stream.  header(), sample() and epoch() build records, other dicts
# are packed as maps, and bytes are written as they are.
pack() {
    "$PY" -c "$NN_TEST_PY" pack "$1"
}

# record_hex FILE: print each record of FILE as one line of hex.
record_hex() {
    "$PY" -c "$NN_TEST_PY" records "$1"
}

# The generators also work inside `bash -c '...'` and other child shells.
export PY NN_TEST_PY
export -f make_png expect_pixels make_dataset pack record_hex

# sample_stream DIR OUT: a 3-class stream of 4x3 RGB images, 4 per
# class, read by nn-load from a dataset it writes to DIR.
sample_stream() {
    make_dataset "$1" 4x3 cyan:4:0,200,200 magenta:4:200,0,200 \
        yellow:4:200,200,0
    nn-load -q "$1" >"$2"
}

# big_stream OUT: 20 samples of 100x100 RGB zeros (600 KB), more than
# a pipe buffer holds.
big_stream() {
    pack '[header()] + [sample("s%d" % i, i % 2, [100, 100, 3])
                        for i in range(20)]' >"$1"
}

# truncation_error PROG FILE NAME: the error line PROG prints when it
# reads FILE less its last 5 bytes, with the input called NAME.
truncation_error() {
    local n last
    n=$(record_hex "$2" | wc -l)
    last=$(record_hex "$2" | tail -n 1)
    echo "$1: $3: record $n: truncated record: the stream ends inside" \
        "it after $((${#last} / 2 - 5)) bytes"
}

# expect_failure STATUS STDERR CMD...: CMD exits with STATUS and its
# stderr is exactly STDERR.  On a mismatch, print both for the report.
expect_failure() {
    local expected_status="$1" expected_stderr="$2"
    shift 2
    run --separate-stderr "$@"
    if [ "$status" -ne "$expected_status" ] ||
        [ "$stderr" != "$expected_stderr" ]; then
        echo "command:  $*"
        echo "status:   $status (expected $expected_status)"
        echo "stderr:   $stderr"
        echo "expected: $expected_stderr"
        return 1
    fi
}

# fails_with LINE CMD...: CMD exits 1 and its stderr is exactly LINE.
# Records written before the error may be on stdout.
fails_with() {
    expect_failure 1 "$@"
}

# check_help PROG: --help prints the usage and the exit codes on
# stdout, nothing on stderr, and exits 0.
check_help() {
    run --separate-stderr "$1" --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Usage: $1 "* ]]
    [[ "$output" == *"Exit status: 0 ok, 1 bad input or I/O error, 2 usage error."* ]]
    [ -z "$stderr" ]
}

# check_version PROG: --version prints "PROG X.Y.Z" and exits 0.
check_version() {
    run --separate-stderr "$1" --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^$1\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

# check_unknown_option PROG OPTION: the option is rejected with an
# error line and a pointer to --help on stderr, and exit status 2.
check_unknown_option() {
    expect_failure 2 "$1: unknown option '$2'"$'\n'"Try '$1 --help'." "$1" "$2"
    [ -z "$output" ]
}

# check_usage_error LINE CMD...: CMD exits 2, and stderr is LINE and a
# pointer to --help.
check_usage_error() {
    local expected="$1"
    shift
    expect_failure 2 "$expected"$'\n'"Try '$1 --help'." "$@"
}

# check_closed_pipe CMD...: when the reader of CMD's output exits after
# 100 bytes, CMD ends by SIGPIPE (status 141) and prints nothing on
# stderr.  CMD must write well over a pipe buffer (64 KiB).
check_closed_pipe() {
    local err="$BATS_TEST_TMPDIR/pipe.err"
    run bash -c '"${@:2}" 2>"$1" | head -c 100 >/dev/null
                 echo "${PIPESTATUS[0]}"' _ "$err" "$@"
    [ "$status" -eq 0 ]
    [ "$output" = 141 ]
    [ ! -s "$err" ]
}

# check_disk_full PROG ARG...: writing to /dev/full fails with exit 1
# and one error line naming the cause.
check_disk_full() {
    run --separate-stderr bash -c '"$@" >/dev/full' _ "$@"
    [ "$status" -eq 1 ]
    [ "$stderr" = "$1: write error: No space left on device" ]
}

# check_pass_through CMD...: records of a type CMD does not know pass
# through it unchanged, byte for byte and in their order.
check_pass_through() {
    local dir="$BATS_TEST_TMPDIR"
    pack '[header(),
           {"type": "note", "text": "first", "values": [1, 2.5, None]},
           sample("s1", 1, [1, 1, 1], [9]),
           {"type": "note", "text": "second", "blob": b"\x00\xff"}]' \
        >"$dir/pass.in"
    record_hex "$dir/pass.in" | sed -n '2p;4p' >"$dir/pass.notes"
    "$@" <"$dir/pass.in" >"$dir/pass.out"
    record_hex "$dir/pass.out" | grep -Fx -f "$dir/pass.notes" >"$dir/pass.got"
    cmp "$dir/pass.notes" "$dir/pass.got"
}

# samples_of DIR: the sample records of a PNG dataset, pixels included.
samples_of() {
    nn-load -q "$1" | nn-dump --data | jq -c 'select(.type == "sample")'
}

# matches_golden_image NAME CMD...: CMD turns the golden input images into
# exactly the pixels stored under tests/data/golden/NAME.
matches_golden_image() {
    local name="$1" out="$BATS_TEST_TMPDIR/$1"
    shift
    nn-load -q "$REPO/tests/data/golden/input" | "$@" | nn-save -q "$out"
    diff <(samples_of "$REPO/tests/data/golden/$name") <(samples_of "$out")
}

# peak_kb CMD...: run CMD with its output discarded and print its peak
# resident set size in KiB.
peak_kb() {
    /usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss" "$@" >/dev/null
    tail -n 1 "$BATS_TEST_TMPDIR/rss"
}
