#!/usr/bin/env python3
"""Check that the original reader (iidfile 0.2.0) decodes files written by imkit to the
content imkit meant to write.

Usage: iid_interop.py MANIFEST.json
The manifest lists files and, for each, the expected entries (address_hex, domain_hex,
bbox, area, mask_b64 = packed full mask), groups ({name: sorted keys}), meta_raw, and
query answers (at_compat: [[x, y, keys]], overlap edges). Exit 0 when everything matches,
1 on a mismatch, 3 when the reference cannot be imported (the caller skips).

The reference imports scikit-image at module level but only uses it to add masks; when it
is absent a stub module is registered (reading never calls it). numpy 1.24-1.26 lack the
`np.bool` alias the reference uses; it is set back to `bool` there.
"""
import base64
import json
import sys
import types
import warnings


def import_reference():
    warnings.filterwarnings("ignore")
    import numpy as np
    try:
        np.bool  # noqa: B018
    except AttributeError:
        np.bool = bool
    try:
        import skimage.measure  # noqa: F401
    except ImportError:
        def unavailable(*_a, **_k):
            raise RuntimeError("scikit-image stub: the reader never labels masks")
        sk = types.ModuleType("skimage")
        skm = types.ModuleType("skimage.measure")
        skm.label = unavailable
        skm.regionprops = unavailable
        sk.measure = skm
        sys.modules["skimage"] = sk
        sys.modules["skimage.measure"] = skm
    from iidfile import IIDFile
    return IIDFile, np


def main():
    try:
        IIDFile, np = import_reference()
    except Exception as e:  # noqa: BLE001
        print("cannot import the reference iidfile: %r" % (e,), file=sys.stderr)
        return 3
    with open(sys.argv[1]) as fh:
        manifest = json.load(fh)
    problems = []
    checked = 0
    for item in manifest["files"]:
        path = item["path"]
        f = IIDFile(fpath=path)
        entries = sorted(f.fetch(everything=True), key=lambda e: e.key)
        if len(entries) != len(item["entries"]):
            problems.append("%s: %d entries, expected %d" % (path, len(entries), len(item["entries"])))
            continue
        for e, want in zip(entries, item["entries"]):
            where = "%s key %d" % (path, e.key)
            dom = want["domain_hex"]
            got_dom = None if e.iid.domain is None else e.iid.domain.hex()
            if e.iid.address.hex() != want["address_hex"]:
                problems.append(where + ": address")
            if got_dom != (dom if dom else None):
                problems.append(where + ": domain %r" % got_dom)
            if [int(v) for v in e.seg.bbox] != want["bbox"]:
                problems.append(where + ": bbox %r" % (e.seg.bbox,))
            if int(e.seg.area) != want["area"]:
                problems.append(where + ": area %r" % e.seg.area)
            mask = np.asarray(e.seg.mask(), dtype=bool).reshape(-1)
            packed = base64.b64encode(np.packbits(mask).tobytes()).decode("ascii")
            if packed != want["mask_b64"]:
                problems.append(where + ": mask")
            checked += 1
        groups = {name: sorted(int(k) for k in f.groups.get(name, keys_only=True))
                  for name in f.groups.list()}
        if groups != item["groups"]:
            problems.append("%s: groups %r" % (path, groups))
        if f.meta.data != json.loads(item["meta_raw"]):
            problems.append("%s: meta %r" % (path, f.meta.data))
        for x, y, keys in item.get("at_compat", []):
            got = sorted(int(e.key) for e in f.at(x, y))
            if got != keys:
                problems.append("%s: at(%d, %d) = %r, imkit says %r" % (path, x, y, got, keys))
        if "edges" in item:
            _, edges = f.overlap_graph(everything=True)
            got = sorted([min(int(a.key), int(b.key)), max(int(a.key), int(b.key)), int(w)]
                         for a, b, w in edges)
            if got != item["edges"]:
                problems.append("%s: overlap graph differs" % path)
    for p in problems[:50]:
        print("MISMATCH " + p, file=sys.stderr)
    print("%d files, %d entries checked by iidfile 0.2.0, %d mismatches"
          % (len(manifest["files"]), checked, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
