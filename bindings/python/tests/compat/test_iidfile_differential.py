"""imkit.compat.iidfile against the real iidfile 0.2.0 on random files: the reference reads the
files the compat writer wrote (and the shared vectors), and both answer the same queries.

The reference imports scikit-image only to *write*; when it is absent a stub is registered
(reading never calls it), and numpy >= 2 gets back the ``np.bool`` alias it uses."""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np
import pytest

from imkit.compat.iidfile import IIDFile

from .conftest import FIXTURES, reference


@pytest.fixture(scope="module")
def ref():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if not hasattr(np, "bool"):
        np.bool = bool  # type: ignore[attr-defined]
    try:
        import skimage.measure  # noqa: F401
    except ImportError:
        sk = types.ModuleType("skimage")
        skm = types.ModuleType("skimage.measure")
        skm.label = skm.regionprops = None
        sk.measure = skm
        sys.modules.setdefault("skimage", sk)
        sys.modules.setdefault("skimage.measure", skm)
    return reference("iidfile").IIDFile


def _random_file(rng, path, n):
    f = IIDFile()
    for k in range(n):
        h, w = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        r, c = int(rng.integers(0, 200)), int(rng.integers(0, 200))
        mask = rng.random((h, w)) < rng.uniform(0.05, 0.9)
        domain = [None, b"dom", b"other"][k % 3]
        group = [None, "even", "odd", ""][k % 4] if k % 5 else "fives"
        f.add(b"label-%d" % (k % 17), domain, (r, c, r + h, c + w), mask, group=group)
    f.groups.add("picked", [int(k) for k in rng.choice(n, size=min(n, 9), replace=False)])
    f.meta.data = {"seed": 1, "name": "rånd", "values": [1.5, None, True]}
    f.save(path)
    return f


def _keys(entries):
    return sorted(e.key for e in entries)


def _compare(ref_cls, path, rng):
    queries = []
    for _ in range(40):
        x, y = int(rng.integers(-2, 235)), int(rng.integers(-2, 235))
        queries.append(("at", (x, y)))
        r, c = int(rng.integers(-5, 230)), int(rng.integers(-5, 230))
        queries.append(("region", ((r, c, r + int(rng.integers(0, 40)),
                                    c + int(rng.integers(0, 40))),)))
    for op, args in queries:
        ours, theirs = IIDFile(path), ref_cls(str(path))
        assert _keys(getattr(ours, op)(*args)) == _keys(getattr(theirs, op)(*args)), (op, args)
    ours, theirs = IIDFile(path), ref_cls(str(path))
    assert ours.meta.data == theirs.meta.data
    assert ours.groups.list() == theirs.groups.list()
    for e, t in zip(ours.fetch(everything=True), sorted(theirs.fetch(everything=True),
                                                        key=lambda e: e.key)):
        assert (e.key, e.iid.address, e.iid.domain, e.seg.bbox, e.seg.area) == \
            (t.key, t.iid.address, t.iid.domain, tuple(t.seg.bbox), t.seg.area)
        np.testing.assert_array_equal(e.seg.mask(), t.seg.mask())
    names = ours.groups.list()
    g1, g2 = (names + names)[:2] if names else (None, None)
    for kwargs in ({"area": (10, None)}, {"area": (None, 50)}, {"domains": [None]},
                   {"domains": b"dom"}, {"groups": [g1, g2]} if names else {},
                   {"groups": g2, "area": (3, 200)} if names else {"area": ()}):
        assert _keys(ours.filter(**kwargs)) == _keys(theirs.filter(**kwargs)), kwargs
    addresses = [e.iid.address for e in ours.fetch(keys=[0, len(ours.lut.entries) - 1])]
    for args in ((addresses,), ([b"label-1"], [b"dom"]), (addresses[:1], None, g1)):
        assert _keys(ours.look_for(*args)) == _keys(theirs.look_for(*args)), args
    for kwargs in ({"keys": [3, 1, 3]}, {"groups": g1}, {"all_keys": True},
                   {"groups": names}):
        assert _keys(ours.fetch(**kwargs)) == _keys(theirs.fetch(**kwargs)), kwargs
    nodes, edges = ours.overlap_graph()
    tnodes, tedges = theirs.overlap_graph()
    assert _keys(nodes) == _keys(tnodes)
    norm = lambda es: sorted((min(a.key, b.key), max(a.key, b.key), w) for a, b, w in es)
    assert norm(edges) == norm(tedges)
    # only_loaded sees the loaded set in both.
    ours, theirs = IIDFile(path), ref_cls(str(path))
    ours.fetch(groups=g1, keys=[1, 2])
    theirs.fetch(groups=g1, keys=[1, 2])
    for x in range(0, 230, 23):
        assert _keys(ours.at(x, x, only_loaded=True)) == _keys(theirs.at(x, x, only_loaded=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_files(ref, tmp_path, seed):
    rng = np.random.default_rng(seed)
    path = tmp_path / f"r{seed}.iid"
    _random_file(rng, path, int(rng.integers(20, 120)))
    _compare(ref, path, rng)


@pytest.mark.parametrize("name", ["overlapping", "groups", "components_holes", "addresses"])
def test_vectors_answer_the_same(ref, name):
    _compare(ref, FIXTURES / "iid" / f"{name}.iid", np.random.default_rng(7))
