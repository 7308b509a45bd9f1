#!/usr/bin/python3
"""Save the samples of a record stream as a NumPy .npz file for the peer.

Usage: export.py STREAM OUT.npz

STREAM contains batch records (from nn-batch --dtype u8) or sample records
(from nn-load or nn-resize), u8 pixels either way.  OUT.npz receives
  x        (n, height, width, channels) uint8, every sample in stream order
  y        (n,) int64 labels
  sizes    (batches,) int64 samples per batch (1 per sample record)
  epochs   (batches,) int64 the epoch field of each batch (0 for samples)
  classes  () int64 the number of classes in the stream header
so that PyTorch trains on the same samples, in the same batches and the
same order, as nn-train.

Exit status: 0 ok, 1 bad input, 2 usage error.
"""

import sys

import msgpack
import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("Usage: export.py STREAM OUT.npz\n")
        sys.exit(2)
    images, labels, sizes, epochs = [], [], [], []
    n_classes = 0
    with open(sys.argv[1], "rb") as f:
        for record in msgpack.Unpacker(f, raw=False,
                                       max_buffer_size=2 ** 31 - 1):
            kind = record.get("type")
            if kind == "header" and not n_classes:
                n_classes = len(record["classes"])
            if kind not in ("batch", "sample"):
                continue
            if record["dtype"] != "u8":
                sys.exit("export.py: %s: expected u8 pixels, got %s"
                         % (sys.argv[1], record["dtype"]))
            shape = record["shape"]
            data = np.frombuffer(record["data"], np.uint8)
            if kind == "sample":
                shape = [1] + shape
                batch_labels = [record["label"]]
            else:
                batch_labels = record["labels"]
            images.append(data.reshape(shape))
            labels.extend(batch_labels)
            sizes.append(shape[0])
            epochs.append(record.get("epoch", 0))
    if not images:
        sys.exit("export.py: %s: no batch or sample records" % sys.argv[1])
    np.savez(sys.argv[2], x=np.concatenate(images),
             y=np.array(labels, np.int64), sizes=np.array(sizes, np.int64),
             epochs=np.array(epochs, np.int64),
             classes=np.int64(n_classes))


if __name__ == "__main__":
    main()
