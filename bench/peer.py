#!/usr/bin/python3
"""The PyTorch peer of the benchmarks in bench/run.

Usage:
  peer.py train DATA.npz [--epochs N] [--bits 64|32] [--threads N]
                [--hidden N] [--lr X] [--test TEST.npz]
                [--loader slices|dataloader]
  peer.py load DIR [--size N] [--workers N] [--batch N]

train runs the network nn-train builds for --model n-layers --layers N:
Dense (no bias) -> BatchNorm -> leaky ReLU (slope 0.01) per hidden
layer, then Dense (no bias) -> BatchNorm -> softmax cross-entropy,
Glorot-normal weights, batch norm momentum 0.1 (nn-train's 0.9 kept),
eps 1e-5, Adam.  DATA.npz comes from bench/export.py: the batches are
replayed in their stored order and sizes, with pixels / 255 as inputs.
When the file contains fewer epochs than --epochs (a single full batch),
its batches are replayed each epoch.  --loader slices (the default)
takes each batch as a slice of one tensor; --loader dataloader feeds the
same batches through the usual DataLoader over a TensorDataset, which
gathers and stacks the samples of every batch one by one.

load decodes every PNG of DIR/<class>/ with torchvision's ImageFolder,
as gray images, resizes them to N x N and collects them in batches
through a DataLoader with --workers processes.

Each command prints one JSON object on standard output: per-epoch
wall-clock and CPU seconds (all threads of the process), costs and test
accuracy for train, seconds and images per second for load, and the
peak resident set size in KiB.
"""

import argparse
import ctypes
import json
import resource
import sys
import time

import numpy as np
import torch
from torch import nn


def set_blas_threads(n):
    """Set OpenBLAS's own thread count, which torch's does not cover.

    Returns the core type OpenBLAS picked for this CPU, such as SkylakeX,
    or "unknown" when the BLAS that torch loaded is not OpenBLAS.
    """
    try:
        blas = ctypes.CDLL("libblas.so.3")
        blas.openblas_set_num_threads(n)
        blas.openblas_get_corename.restype = ctypes.c_char_p
        return blas.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown"


def peak_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def build_network(n_inputs, hidden, n_classes):
    layers, fan_in = [], n_inputs
    for units in hidden:
        layers += [nn.Linear(fan_in, units, bias=False),
                   nn.BatchNorm1d(units, eps=1e-5, momentum=0.1),
                   nn.LeakyReLU(0.01)]
        fan_in = units
    layers += [nn.Linear(fan_in, n_classes, bias=False),
               nn.BatchNorm1d(n_classes, eps=1e-5, momentum=0.1)]
    network = nn.Sequential(*layers)
    for layer in network:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_normal_(layer.weight)
    return network


def evaluate(network, path, dtype):
    data = np.load(path)
    x = torch.from_numpy(data["x"]).reshape(len(data["y"]), -1)
    y = torch.from_numpy(data["y"])
    network.eval()
    with torch.no_grad():
        logits = network(x.to(dtype).div_(255))
        cost = nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(1) == y).double().mean().item()
    network.train()
    return cost, accuracy


def epoch_batches(loader, x_all, y_all, starts, sizes):
    """Yield the (x, y) batches of one epoch, stored back to back."""
    if loader == "slices":
        for lo, size in zip(starts, sizes):
            yield x_all[lo:lo + size], y_all[lo:lo + size]
        return
    # The batches of an epoch are consecutive and all but the last have
    # the same size, so a DataLoader without shuffling rebuilds them.
    lo, hi = starts[0], starts[-1] + sizes[-1]
    dataset = torch.utils.data.TensorDataset(x_all[lo:hi], y_all[lo:hi])
    yield from torch.utils.data.DataLoader(dataset,
                                           batch_size=int(sizes[0]))


def train(args):
    dtype = torch.float64 if args.bits == 64 else torch.float32
    torch.manual_seed(0)
    data = np.load(args.data)
    x_all = torch.from_numpy(data["x"]).reshape(len(data["y"]), -1)
    y_all = torch.from_numpy(data["y"])
    sizes, epochs = data["sizes"], data["epochs"]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    stored_epochs = int(epochs.max()) + 1
    network = build_network(x_all.shape[1], args.hidden,
                            int(data["classes"])).to(dtype)
    optimizer = torch.optim.Adam(network.parameters(), lr=args.lr,
                                 betas=(0.9, 0.999), eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    epoch_s, epoch_cpu_s, costs = [], [], []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        c0 = time.process_time()
        batches = np.nonzero(epochs == epoch % stored_epochs)[0]
        cost_sum = 0.0
        for x, y in epoch_batches(args.loader, x_all, y_all, starts[batches],
                                  sizes[batches]):
            x = x.to(dtype).div_(255)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(network(x), y)
            loss.backward()
            optimizer.step()
            cost_sum += loss.item() * len(y)
        epoch_s.append(time.perf_counter() - t0)
        epoch_cpu_s.append(time.process_time() - c0)
        costs.append(cost_sum / sizes[batches].sum())

    result = {"epoch_s": epoch_s, "epoch_cpu_s": epoch_cpu_s,
              "cost": costs, "bits": args.bits, "loader": args.loader,
              "threads": torch.get_num_threads()}
    if args.test:
        result["test_cost"], result["test_accuracy"] = evaluate(
            network, args.test, dtype)
    result["peak_rss_kib"] = peak_rss_kib()
    return result


def load(args):
    # Imported here: the train command must not pay for torchvision.
    from PIL import Image
    from torchvision import datasets, transforms

    transform = transforms.Compose([
        transforms.Resize((args.size, args.size)),
        transforms.PILToTensor(),
    ])
    t0 = time.perf_counter()
    dataset = datasets.ImageFolder(
        args.dir, transform=transform,
        loader=lambda path: Image.open(path).convert("L"))
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch,
                                         num_workers=args.workers)
    images = 0
    for x, _ in loader:
        images += x.shape[0]
    seconds = time.perf_counter() - t0
    return {"images": images, "seconds": seconds,
            "images_per_s": images / seconds, "workers": args.workers,
            "peak_rss_kib": peak_rss_kib()}


def main():
    parser = argparse.ArgumentParser(prog="peer.py")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("train", help="train on exported batches")
    p.add_argument("data", help="batches from bench/export.py")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--bits", type=int, choices=(32, 64), default=32)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads and OpenBLAS threads")
    p.add_argument("--hidden", type=int, nargs="*", default=[100],
                   help="hidden layer sizes")
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--test", help="samples from bench/export.py, "
                   "evaluated once at the end")
    p.add_argument("--loader", choices=("slices", "dataloader"),
                   default="slices", help="how batches are taken from "
                   "the data [slices]")

    p = commands.add_parser("load", help="decode and resize a PNG folder")
    p.add_argument("dir")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=100)

    args = parser.parse_args()
    if args.command == "train":
        torch.set_num_threads(args.threads)
        core = set_blas_threads(args.threads)
        result = train(args)
        result["blas_core"] = core
    else:
        result = load(args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
