#!/usr/bin/env python3
"""Reference side of benches/iid.sh: times iidfile 0.2.0 on the same data imkit gets.

  iid_reference.py gen MASKS.bin POINTS.bin N SEED   make N masks (~50x50) and query points
  iid_reference.py write MASKS.bin OUT.iid           add every mask, save
  iid_reference.py open_fetch FILE                   open + fetch(everything=True)
  iid_reference.py at FILE POINTS.bin Q              Q at(x, y, only_loaded=True) after a full fetch
  iid_reference.py overlap FILE                      overlap_graph(everything=True)
Each timing command prints one JSON line {"op":..., "seconds":..., ...}.
"""
import json
import struct
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402

CANVAS = 4096


def gen(masks_path, points_path, n, seed):
    rng = np.random.default_rng(seed)
    with open(masks_path, "wb") as fh:
        fh.write(struct.pack("<I", n))
        boxes = []
        for _ in range(n):
            h, w = (int(v) for v in rng.integers(40, 61, 2))
            r0 = int(rng.integers(0, CANVAS - h))
            c0 = int(rng.integers(0, CANVAS - w))
            yy, xx = np.mgrid[0:h, 0:w]
            cy, cx = h / 2 + rng.normal(0, 2), w / 2 + rng.normal(0, 2)
            ry, rx = h * rng.uniform(0.3, 0.5), w * rng.uniform(0.3, 0.5)
            m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
            m ^= rng.random((h, w)) < 0.02  # a little noise: specks and holes
            fh.write(struct.pack("<4H", r0, c0, h, w))
            fh.write(m.astype(np.uint8).tobytes())
            boxes.append((r0, c0, h, w))
    with open(points_path, "wb") as fh:
        q = 1000
        fh.write(struct.pack("<I", q))
        for i in rng.integers(0, n, q):
            r0, c0, h, w = boxes[int(i)]
            fh.write(struct.pack("<2i", c0 + int(rng.integers(0, w)), r0 + int(rng.integers(0, h))))


def read_masks(path):
    with open(path, "rb") as fh:
        data = fh.read()
    (n,) = struct.unpack_from("<I", data, 0)
    pos = 4
    for _ in range(n):
        r0, c0, h, w = struct.unpack_from("<4H", data, pos)
        pos += 8
        m = np.frombuffer(data, np.uint8, h * w, pos).reshape(h, w).astype(bool)
        pos += h * w
        yield (r0, c0, r0 + h, c0 + w), m


def ref():
    from iidfile import IIDFile
    return IIDFile


def main():
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    IIDFile = ref()
    if cmd == "write":
        masks = list(read_masks(sys.argv[2]))
        t = time.perf_counter()
        f = IIDFile()
        for i, (bbox, m) in enumerate(masks):
            f.add(b"mask%d" % i, b"bench", bbox, m, group="all" if i % 2 == 0 else None)
        f.save(sys.argv[3])
        out = {"op": "write", "entries": len(masks), "seconds": time.perf_counter() - t}
    elif cmd == "open_fetch":
        t = time.perf_counter()
        f = IIDFile(fpath=sys.argv[2])
        entries = f.fetch(everything=True)
        out = {"op": "open_fetch", "entries": len(entries), "seconds": time.perf_counter() - t}
    elif cmd == "at":
        f = IIDFile(fpath=sys.argv[2])
        f.fetch(everything=True)
        with open(sys.argv[3], "rb") as fh:
            data = fh.read()
        (q,) = struct.unpack_from("<I", data, 0)
        q = min(q, int(sys.argv[4]))
        pts = [struct.unpack_from("<2i", data, 4 + 8 * i) for i in range(q)]
        hits = 0
        t = time.perf_counter()
        for x, y in pts:
            hits += len(f.at(x, y, only_loaded=True))
        out = {"op": "at", "queries": q, "hits": hits,
               "seconds_per_query": (time.perf_counter() - t) / q}
    elif cmd == "overlap":
        f = IIDFile(fpath=sys.argv[2])
        t = time.perf_counter()
        nodes, edges = f.overlap_graph(everything=True)
        out = {"op": "overlap", "nodes": len(nodes), "edges": len(edges),
               "weight": int(sum(int(w) for _, _, w in edges)),
               "seconds": time.perf_counter() - t}
    else:
        raise SystemExit("unknown command " + cmd)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
