#!/usr/bin/env python3
"""Mutation run over every format through the CLI: truncation, bit flips, inserted and
deleted bytes, and header words set to 0 / 2^31 / 2^32-1, each mutant run through info,
convert, grid, extract-tile (images), stitch (manifests) and iid info/dump/at/region (iid).

Each run has an address-space limit (RLIMIT_AS) of 2 GiB plus 256 MiB for what the process
maps before it allocates anything (code, thread stacks and malloc arenas: 150-220 MB), so any
single allocation of more than about 2 GB fails. A finding is a panic (exit 101), an abort or
any other signal (an allocation past the limit made infallibly aborts: "memory allocation of
N bytes failed"), or a hang (timeout). An allocation past the limit made fallibly is a clean
out-of-memory error (exit 1, "out of memory"): counted apart, as an allocation over 2 GB that
was attempted. Other clean failures (exit 1) are expected. Prints one line per finding and a
summary; exits 1 when there are crashes or hangs.

Usage: fuzz/mutate.py [--imkit target/debug/imkit] [--seed N] [--per-file N] [--jobs N]
       [--only image|manifest|iid]
"""
import argparse
import concurrent.futures
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
ADDRESS_SPACE = (2 << 30) + (256 << 20)
TIMEOUT = 30


def inputs():
    """(kind, name, bytes) of every seed the run mutates."""
    out = []
    for name in sorted(os.listdir(os.path.join(SEEDS, "region_read"))):
        out.append(("image", name, open(os.path.join(SEEDS, "region_read", name), "rb").read()))
    for name in ("rgb.npy", "float32_3x4_F.npy", "int16_2x2x2x3.npy"):
        out.append(("image", name, open(os.path.join(SEEDS, "npy", name), "rb").read()))
    for name in ("clip.json", "pad.json"):
        out.append(("manifest", name, open(os.path.join(SEEDS, "manifest_stitch", name), "rb").read()))
    iid = os.path.join(ROOT, "tests", "fixtures", "iid")
    for name in ("components_holes.iid", "edge_coords.iid", "addresses.iid"):
        out.append(("iid", name, open(os.path.join(iid, name), "rb").read()))
    return out


def mutants(data, rng, per_file):
    """(label, bytes) mutants of `data`."""
    n = len(data)
    out = []
    for cut in sorted({0, 1, 8, 16, 33, n // 4, n // 2, n - 1} - {n}):
        if 0 <= cut < n:
            out.append((f"truncate@{cut}", data[:cut]))
    for _ in range(per_file):
        b = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 8))):
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        out.append(("flip", bytes(b)))
        i = rng.randrange(n + 1)
        out.append((f"insert@{i}", data[:i] + bytes(rng.randrange(256) for _ in range(rng.choice((1, 4, 64)))) + data[i:]))
        i = rng.randrange(n)
        out.append((f"delete@{i}", data[:i] + data[i + rng.choice((1, 4, 64)):]))
    # Header fields: every 4-byte word of the first 128 bytes set to 0, 2^31 and 2^32-1,
    # in both byte orders (PNG and EXR sizes, TIFF IFD values, iid header counts).
    for off in range(0, min(n - 3, 128), 2):
        for value in (0, 1 << 31, (1 << 32) - 1):
            for order in ("<", ">"):
                b = bytearray(data)
                b[off:off + 4] = struct.pack(order + "I", value)
                out.append((f"word@{off}={value}{order}", bytes(b)))
    # Text headers (NPY shape, manifest sizes): each number replaced by the same values.
    text = data.decode("latin-1")
    digits = [i for i in range(len(text)) if text[i].isdigit() and (i == 0 or not text[i - 1].isdigit())]
    for start in digits[:40]:
        end = start
        while end < len(text) and text[end].isdigit():
            end += 1
        for value in (0, 1 << 31, (1 << 32) - 1):
            out.append((f"number@{start}={value}", (text[:start] + str(value) + text[end:]).encode("latin-1")))
    return out


def commands(kind, path):
    if kind == "image":
        return [
            ["info", path],
            ["convert", path, "out.npy"],
            ["grid", path, "--cell", "16"],
            ["extract-tile", path, "t.png", "--x", "-3", "--y", "2", "--tile", "16", "--edge", "pad"],
        ]
    if kind == "manifest":
        return [["stitch", path, "s.png"], ["stitch", path, "s.npy", "--blend", "linear"], ["verify", path]]
    return [["iid", "info", path], ["iid", "dump", path], ["iid", "at", path, "3", "4"],
            ["iid", "region", path, "0", "0", "100", "100"], ["iid", "overlap", path],
            ["iid", "render", path, "r.png", "--image", "base.png"]]


def limit():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_one(imkit, kind, label, data, work, tiles):
    findings = []
    with tempfile.TemporaryDirectory(dir=work) as d:
        name = {"image": "in.bin", "manifest": "manifest.json", "iid": "in.iid"}[kind]
        if kind == "manifest":
            for t in os.listdir(tiles):
                os.symlink(os.path.join(tiles, t), os.path.join(d, t))
        if kind == "iid":
            # A small base image, so render does not paint a 65535^2 canvas for edge_coords.
            os.symlink(os.path.join(SEEDS, "region_read", "rgb.png"), os.path.join(d, "base.png"))
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        for args in commands(kind, name):
            try:
                r = subprocess.run([imkit] + args, cwd=d, capture_output=True, timeout=TIMEOUT,
                                   preexec_fn=limit)
            except subprocess.TimeoutExpired:
                findings.append(f"HANG {label} {' '.join(args)}")
                continue
            if r.returncode not in (0, 1):
                err = r.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
                kind = "PANIC" if r.returncode == 101 else "ABORT" if b"memory allocation of" in r.stderr else "SIGNAL"
                findings.append(f"{kind} exit {r.returncode} {label} {' '.join(args)}: {err[0][:200]}")
            elif b"out of memory" in r.stderr:
                findings.append(f"NO_MEMORY (clean) {label} {' '.join(args)}")
    return findings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imkit", default=os.path.join(ROOT, "target", "debug", "imkit"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--per-file", type=int, default=25)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", choices=["image", "manifest", "iid"], help="mutate only these seeds")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    scratch = os.path.join(ROOT, "target", "tmp")
    os.makedirs(scratch, exist_ok=True)
    work = tempfile.mkdtemp(prefix="imkit-mutate-", dir=scratch)
    # A copy of the binary, so a rebuild during the run cannot change or remove it.
    shutil.copy2(args.imkit, os.path.join(work, "imkit"))
    args.imkit = os.path.join(work, "imkit")
    # Tiles the manifest seeds name: the 20x14 seed image fragmented as the seeds were made.
    tiles = {}
    for seed, opts in (("clip.json", ["--cell", "8", "--step", "6"]),
                       ("pad.json", ["--cell", "8", "--stride", "0.5", "--edge", "pad", "--fill", "3"])):
        tiles[seed] = os.path.join(work, seed + ".tiles")
        subprocess.run([args.imkit, "fragment", os.path.join(SEEDS, "region_read", "rgb.png"), *opts,
                        "--out", tiles[seed]], check=True, capture_output=True)
        os.remove(os.path.join(tiles[seed], "manifest.json"))
    jobs, total, runs = [], 0, 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for kind, name, data in inputs():
            if args.only and kind != args.only:
                continue
            for label, m in mutants(data, rng, args.per_file):
                total += 1
                runs += len(commands(kind, "x"))
                jobs.append(pool.submit(run_one, args.imkit, kind, f"{name}:{label}", m, work, tiles.get(name)))
        findings = [f for j in jobs for f in j.result()]
    shutil.rmtree(work, ignore_errors=True)
    crashes = [f for f in findings if not f.startswith("NO_MEMORY")]
    for f in findings:
        print(f)
    count = lambda prefix: sum(f.startswith(prefix) for f in findings)
    print(f"{total} mutants, {runs} runs: {count('PANIC')} panics, {count('ABORT')} aborts on an "
          f"allocation over 2 GB, {count('SIGNAL')} other crashes, {count('HANG')} hangs; "
          f"{count('NO_MEMORY')} allocations over 2 GB refused cleanly (out-of-memory errors)")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
