"""imkit.compat.iidfile against the reference vectors (tests/fixtures/iid, written and answered
by iidfile 0.2.0): decoded content, every recorded query, and the build recipes replayed
through the compat writer, which must give the reference's file byte for byte."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

import imkit
from imkit.compat.iidfile import IIDFile

from .conftest import FIXTURES

IID = FIXTURES / "iid"
VECTORS = sorted(p.stem for p in IID.glob("*.json"))


def _vector(name):
    return json.loads((IID / f"{name}.json").read_text())


def _hex(h):
    return None if h is None else bytes.fromhex(h)


def _mask(b64, bbox):
    h, w = bbox[2] - bbox[0], bbox[3] - bbox[1]
    bits = np.unpackbits(np.frombuffer(base64.b64decode(b64), dtype=np.uint8))
    return bits[: h * w].reshape(h, w).astype(bool)


def _keys(entries):
    return sorted(e.key for e in entries)


@pytest.mark.parametrize("name", VECTORS)
def test_content(name):
    v = _vector(name)
    f = IIDFile(IID / f"{name}.iid")
    assert f.meta.data == v["meta"]
    assert len(f.lut.entries) == len(v["entries"])
    for e, want in zip(f.fetch(everything=True), v["entries"]):
        assert e.key == want["key"]
        assert e.iid.address == bytes.fromhex(want["address_hex"])
        assert e.iid.domain == _hex(want["domain_hex"])
        assert e.seg.bbox == tuple(want["bbox"])
        assert e.seg.area == want["area"]
        np.testing.assert_array_equal(e.seg.mask(), _mask(want["mask_b64"], want["bbox"]))
        regions = e.seg.regions()
        assert [list(r.bbox) for r in regions] == [r["bbox"] for r in want["regions"]]
    assert f.groups.list() == sorted(g["name"] for g in v["groups"])
    for g in v["groups"]:
        assert f.groups.get(g["name"], keys_only=True) == g["keys"]


def _run(f, q):
    op = q["op"]
    if op == "at":
        return _keys(f.at(q["x"], q["y"], only_loaded=q.get("only_loaded", False)))
    if op == "region":
        return _keys(f.region(tuple(q["bbox"]), only_loaded=q.get("only_loaded", False)))
    if op == "filter":
        domains = [_hex(d) for d in q["domains_hex"]] if "domains_hex" in q else None
        area = tuple(q["area"]) if "area" in q else None
        return _keys(f.filter(groups=q.get("groups"), area=area, domains=domains))
    if op == "look_for":
        domains = [_hex(d) for d in q["domains_hex"]] if q.get("domains_hex") else None
        return _keys(f.look_for([bytes.fromhex(a) for a in q["addresses_hex"]], domains,
                                q.get("groups"), q.get("segs", False)))
    if op == "fetch":
        return _keys(f.fetch(keys=q.get("keys"), all_keys=q.get("all_keys", False),
                             groups=q.get("groups"), everything=q.get("everything", False)))
    raise AssertionError(op)


@pytest.mark.parametrize("name", VECTORS)
def test_queries(name):
    v = _vector(name)
    for q in v["queries"]:
        f = IIDFile(IID / f"{name}.iid")
        if "prefetch" in q:
            f.fetch(**q["prefetch"])
        if q["op"] == "overlap_graph":
            nodes, edges = f.overlap_graph(everything=q["everything"])
            assert sorted(e.key for e in nodes) == sorted(q["nodes"])
            got = sorted(tuple(sorted((a.key, b.key))) + (w,) for a, b, w in edges)
            want = sorted(tuple(sorted(e[:2])) + (e[2],) for e in q["edges"])
            assert got == want
        else:
            assert _run(f, q) == q["result"], q


@pytest.mark.parametrize("name", VECTORS)
def test_build_recipe_gives_the_reference_bytes(name, tmp_path):
    v = _vector(name)
    f = IIDFile()
    masks = {e["key"]: _mask(e["mask_b64"], e["bbox"]) for e in v["entries"]}
    for op in v["build"]:
        if op["op"] == "add":
            key = f.add(bytes.fromhex(op["address_hex"]), _hex(op["domain_hex"]),
                        tuple(op["bbox"]), masks[op["key"]], group=op["group"])
            assert key == op["key"]
        elif op["op"] == "groups_add":
            for k in op["keys"]:
                f.groups.add(op["name"], [k])
        elif op["op"] == "set_meta":
            f.meta.data = v["meta"]
    out = tmp_path / f"{name}.iid"
    f.save(out)
    assert out.read_bytes() == (IID / f"{name}.iid").read_bytes()
    # The object keeps working on the file it saved.
    assert len(f.fetch(everything=True)) == len(v["entries"])


def test_resave_of_an_opened_file_is_identical(tmp_path):
    for name in VECTORS:
        f = IIDFile(IID / f"{name}.iid")
        f.save(tmp_path / "copy.iid")
        assert (tmp_path / "copy.iid").read_bytes() == (IID / f"{name}.iid").read_bytes(), name


def test_damaged_files_raise_clear_errors():
    index = json.loads((IID / "bad" / "index.json").read_text())
    for case in index["cases"]:
        with pytest.raises(imkit.Error):
            f = IIDFile(IID / "bad" / case["file"])
            f.fetch(everything=True)
            for e in f.lut.entries:
                e.seg.mask()
            for g in f.groups.list():
                f.groups.get(g)
            f.overlap_graph()


def test_bad_box_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.iid"
    good = IIDFile()
    good.add(b"a", None, (0, 0, 1, 1), np.ones((1, 1), bool))
    good.save(path)
    before = path.read_bytes()
    bad = IIDFile()
    with pytest.raises(ValueError):
        bad.add(b"b", None, (0, 0, 70000, 1), np.ones((70000, 1), bool))
        bad.save(path)
    assert path.read_bytes() == before


def test_negative_keys_are_refused():
    f = IIDFile(IID / "overlapping.iid")
    with pytest.raises(IndexError):
        f.fetch(keys=-1)


def test_add_checks_like_the_reference_and_keeps_its_copy(tmp_path):
    f = IIDFile()
    with pytest.raises(ValueError, match="'iid' must be encoded as bytes"):
        f.add("a", None, (0, 0, 1, 1), np.ones((1, 1), bool))
    with pytest.raises(ValueError, match="'domain' must be encoded as bytes"):
        f.add(b"a", "d", (0, 0, 1, 1), np.ones((1, 1), bool))
    with pytest.raises(ValueError, match="bbox must be"):
        f.add(b"a", None, (0, 0, 1), np.ones((1, 1), bool))
    with pytest.raises(ValueError, match="within 0..65535"):
        f.add(b"a", None, (-1, 0, 1, 1), np.ones((2, 1), bool))
    with pytest.raises(ValueError, match="Mask shape must match"):
        f.add(b"a", None, (0, 0, 2, 3), np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="Mask shape must match"):
        f.add(b"a", None, (0, 0, 0, 3), np.ones((0, 3), bool))
    assert len(f.fetch(everything=True)) == 0, "a refused add adds nothing"
    ints = np.array([[0, 7, 0], [300, 0, -2]], np.int64)
    mask = ints != 0
    assert f.add(b"int", b"d", (np.int64(5), 6, 7, 9), ints) == 0
    assert f.add(b"bool", None, [5, 6, 7, 9], mask) == 1
    assert f.add(b"list", None, (5, 6, 7, 9), mask.tolist(), group="g") == 2
    mask[:] = False  # the entry is what the mask held at add()
    f.save(tmp_path / "a.iid")
    g = IIDFile(tmp_path / "a.iid")
    entries = g.fetch(everything=True)
    assert [e.iid.address for e in entries] == [b"int", b"bool", b"list"]
    for e in entries:
        assert e.seg.bbox == (5, 6, 7, 9) and e.seg.area == 3
        assert (e.seg.mask() == (ints != 0)).all()
    # Adding to an opened file continues its keys, and queries see the new entry.
    assert g.add(b"more", None, (0, 0, 1, 2), np.ones((1, 2), np.uint8)) == 3
    assert [e.key for e in g.at(1, 0)] == [3]
    assert len(g.lut.fetched_keys) == 4
