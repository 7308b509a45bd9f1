#!/usr/bin/python3
"""Repeat the gray channel of every sample three times, making RGB.

Reads a record stream on standard input and writes it to standard
output.  Gray u8 samples [height, width, 1] become [height, width, 3]
with the same value in each channel; RGB samples and every other record
pass through unchanged.  With --limit N, only the first N samples are
written (other records are all kept), which cuts a training set to the
size a benchmark needs.

Exit status: 0 ok, 1 bad input, 2 usage error.
"""

import argparse
import sys

import msgpack
import numpy as np


def main():
    parser = argparse.ArgumentParser(prog="rgb.py", description=__doc__
                                     .split("\n")[0])
    parser.add_argument("--limit", type=int, metavar="N",
                        help="write only the first N samples")
    args = parser.parse_args()
    if args.limit is not None and args.limit < 0:
        parser.error("--limit must be 0 or more")

    out = sys.stdout.buffer
    samples = 0
    unpacker = msgpack.Unpacker(sys.stdin.buffer, raw=False,
                                max_buffer_size=2 ** 31 - 1)
    for record in unpacker:
        if not isinstance(record, dict):
            sys.exit("rgb.py: record is not a map")
        if record.get("type") == "sample":
            if args.limit is not None and samples >= args.limit:
                continue
            samples += 1
            shape = record["shape"]
            if record["dtype"] == "u8" and len(shape) == 3 and shape[2] == 1:
                gray = np.frombuffer(record["data"], np.uint8)
                record["data"] = np.repeat(gray, 3).tobytes()
                record["shape"] = [shape[0], shape[1], 3]
        out.write(msgpack.packb(record, use_bin_type=True))


if __name__ == "__main__":
    main()
