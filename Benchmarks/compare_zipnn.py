#!/usr/bin/env python3
"""Measure ZipNN and plain zstd on the same adapters the Swift benchmark reads.

    python3 Benchmarks/compare_zipnn.py ADAPTER... [--levels 1,3,9] [--repeats 5] [--json-file PATH]

ADAPTER is a PEFT adapter directory or a .safetensors file. For each one it
reports, on one thread unless the row says otherwise:

* python-zstandard over the whole safetensors file at each level (the
  baseline a user would otherwise run): ratio, compress MB/s, decompress MB/s;
* ZipNN (https://github.com/zipnn/zipnn, `pip install zipnn`) over
  - each tensor separately, as the .lora container stores them, and
  - all tensor bytes as one buffer, as ZipNN compresses a checkpoint,
  with threads=1 and with ZipNN's default thread count.

MB/s are 10^6 bytes of uncompressed data per second, fastest of --repeats
runs (time.perf_counter). Every ZipNN and zstd result is decompressed and
compared with the original bytes before it is reported.

If zipnn is not installed the ZipNN rows are skipped and the report says so;
docs/BENCHMARKS.md then compares against ZipNN's published ratios.

Note on zipnn 0.5.4: ZipNN.compress() with input_format="byte" rewrites the
caller's buffer in place (it applies its sign-bit reordering to the input, even
to an immutable `bytes`), so every call here gets a fresh copy and round trips
are checked against a pristine copy.
"""

import argparse
import json
import os
import platform
import struct
import sys
import time

import zstandard

try:
    import zipnn
except ImportError:  # reported, not fatal
    zipnn = None

ZIPNN_DTYPES = {"BF16": "bfloat16", "F32": "float32", "F16": "float16"}


def load(path):
    """(label, file bytes, [(name, dtype, tensor bytes)] in file order)."""
    if os.path.isdir(path):
        label = os.path.basename(os.path.normpath(path))
        path = os.path.join(path, "adapter_model.safetensors")
    else:
        label = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    start = 8 + n
    tensors = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        tensors.append((info["data_offsets"][0], name, info["dtype"], data[start + s : start + e]))
    tensors.sort()
    return label, data, [(name, dtype, b) for _, name, dtype, b in tensors]


def fastest(repeats, fn):
    """Best wall time of `repeats` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def zstd_file(data, level, repeats):
    cctx = zstandard.ZstdCompressor(level=level, threads=0, write_content_size=True)
    dctx = zstandard.ZstdDecompressor()
    tc, comp = fastest(repeats, lambda: cctx.compress(data))
    td, out = fastest(repeats, lambda: dctx.decompress(comp))
    assert out == data, "zstandard round trip failed"
    return {"level": level, "compressed_bytes": len(comp), "ratio": len(data) / len(comp),
            "compress_mb_s": len(data) / tc / 1e6, "decompress_mb_s": len(data) / td / 1e6}


def zipnn_run(buffers, dtype, threads, repeats):
    """ZipNN over each buffer in `buffers` (one call each); totals over all."""
    z = zipnn.ZipNN(input_format="byte", bytearray_dtype=dtype, threads=threads)
    total = sum(len(b) for b in buffers)

    def compress_all():
        # Fresh copies: compress() mutates its input (see the module docstring).
        return [bytes(z.compress(bytearray(b))) for b in buffers]

    # Copies are made outside the timed region for decompression only; for
    # compression the copy is part of each call, so time it separately and subtract.
    tcopy, _ = fastest(repeats, lambda: [bytearray(b) for b in buffers])
    tc, comps = fastest(repeats, compress_all)
    td, outs = fastest(repeats, lambda: [z.decompress(c) for c in comps])
    for b, o in zip(buffers, outs):
        assert bytes(o) == b, "ZipNN round trip failed"
    stored = sum(len(c) for c in comps)
    return {"calls": len(buffers), "threads": threads, "compressed_bytes": stored, "ratio": total / stored,
            "compress_mb_s": total / max(tc - tcopy, 1e-9) / 1e6, "decompress_mb_s": total / td / 1e6}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("adapters", nargs="+")
    ap.add_argument("--levels", default="1,3,9")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json-file")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    doc = {"python": platform.python_version(), "zstandard": zstandard.__version__,
           "libzstd": ".".join(map(str, zstandard.ZSTD_VERSION)),
           "zipnn": None, "inputs": []}
    if zipnn is not None:
        from importlib.metadata import version
        doc["zipnn"] = version("zipnn")
    print(f"python {doc['python']}, zstandard {doc['zstandard']} (libzstd {doc['libzstd']}), "
          f"zipnn {doc['zipnn'] or 'NOT INSTALLED: ZipNN rows skipped'}")

    for path in args.adapters:
        label, data, tensors = load(path)
        raw = sum(len(b) for _, _, b in tensors)
        dtypes = sorted({d for _, d, _ in tensors})
        entry = {"label": label, "file_bytes": len(data), "raw_bytes": raw, "dtypes": dtypes,
                 "zstd_file": [], "zipnn": []}
        print(f"\n== {label}: {len(tensors)} tensors ({', '.join(dtypes)}), {raw / 1e6:.2f} MB of tensor data, "
              f"safetensors file {len(data) / 1e6:.2f} MB")

        print("\n  python-zstandard, whole safetensors file, one thread")
        print(f"  {'level':>5}  {'ratio':>6}  {'compress MB/s':>13}  {'decompress MB/s':>15}")
        for level in levels:
            r = zstd_file(data, level, args.repeats)
            entry["zstd_file"].append(r)
            print(f"  {level:>5}  {r['ratio']:6.3f}  {r['compress_mb_s']:13.0f}  {r['decompress_mb_s']:15.0f}")

        if zipnn is not None and len(dtypes) == 1 and dtypes[0] in ZIPNN_DTYPES:
            dtype = ZIPNN_DTYPES[dtypes[0]]
            whole = b"".join(b for _, _, b in tensors)
            per_tensor = [b for _, _, b in tensors]
            print(f"\n  ZipNN {doc['zipnn']} (bytearray_dtype={dtype}, default method), ratio over tensor bytes")
            print(f"  {'input':<22}  {'threads':>7}  {'ratio':>6}  {'compress MB/s':>13}  {'decompress MB/s':>15}")
            for what, buffers in (("each tensor", per_tensor), ("all tensors, 1 buffer", [whole])):
                for threads in (1, 0):
                    r = zipnn_run(buffers, dtype, threads, args.repeats)
                    r["input"] = what
                    r["threads"] = threads or f"default ({min(os.cpu_count() or 1, 16)})"
                    entry["zipnn"].append(r)
                    print(f"  {what:<22}  {str(r['threads']):>7}  {r['ratio']:6.3f}  {r['compress_mb_s']:13.0f}  "
                          f"{r['decompress_mb_s']:15.0f}")
        elif zipnn is not None:
            print("\n  ZipNN skipped: mixed or unsupported dtypes")
        doc["inputs"].append(entry)

    if args.json_file:
        with open(args.json_file, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
