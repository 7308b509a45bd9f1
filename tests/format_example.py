import sys

import msgpack
import numpy as np

# Wire dtype names as numpy types: every tensor is little-endian.
DTYPES = {"u8": "u1", "i32": "<i4", "f32": "<f4", "f64": "<f8"}


def read_records(f):
    """Yield the records of an nnpipe stream after checking its header."""
    records = msgpack.Unpacker(f, raw=False, max_buffer_size=2**31)
    header = next(records, None)
    if (not isinstance(header, dict) or header.get("type") != "header"
            or header.get("format") != "nnpipe"
            or header.get("version") != 1):
        sys.exit("not an nnpipe version 1 stream")
    yield header
    yield from records


def to_array(record):
    """Return the tensor of a record as a numpy array of its shape."""
    values = np.frombuffer(record["data"], dtype=DTYPES[record["dtype"]])
    return values.reshape(record["shape"])


with open(sys.argv[1], "rb") as f:
    for record in read_records(f):
        if record["type"] == "header":
            classes = record["classes"]
        elif record["type"] == "sample":
            image = to_array(record)    # (height, width, channels)
            print(record["id"], classes[record["label"]],
                  "x".join(map(str, image.shape)), int(image.sum()))
