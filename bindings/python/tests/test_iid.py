"""IidFile queries against the reference vectors, IidWriter byte compatibility."""

from __future__ import annotations

import json

import numpy as np
import pytest

import imkit


@pytest.fixture
def overlapping(fixtures):
    path = fixtures / "iid" / "overlapping.iid"
    return imkit.IidFile(path), json.loads((fixtures / "iid" / "overlapping.json").read_text())


def masks_on_canvas(f):
    canvas = {}
    for e in f.fetch():
        full = np.zeros((64, 64), bool)
        minr, minc, maxr, maxc = e.bbox
        full[minr:maxr, minc:maxc] = e.mask
        canvas[e.key] = full
    return canvas


def test_entries_masks_groups_meta(overlapping):
    f, ref = overlapping
    assert len(f) == len(ref["entries"]) == 16
    for e, r in zip(f.fetch(), ref["entries"]):
        assert e.key == r["key"] and e.bbox == tuple(r["bbox"]) and e.area == r["area"]
        assert e.address == bytes.fromhex(r["address_hex"]) and e.domain == bytes.fromhex(r["domain_hex"])
        expect = np.array([[c == "1" for c in row] for row in r["mask_rows"]])
        assert e.mask.dtype == bool
        np.testing.assert_array_equal(e.mask, expect)
        assert f.groups_of(e.key) == r["groups"]
    assert {k: v.tolist() for k, v in f.groups.items()} == {g["name"]: g["keys"] for g in ref["groups"]}
    assert f.meta == ref["meta"]
    assert [e.key for e in f.fetch(groups="even")] == list(range(0, 16, 2))
    assert f[3].address == f.fetch([3])[0].address


def test_queries_answer_numpy_keys(overlapping):
    f, ref = overlapping
    canvas = masks_on_canvas(f)
    for row, col in [(32, 36), (22, 39), (40, 44), (0, 0), (63, 63)]:
        keys = f.at(row, col)
        assert keys.dtype == np.uint32
        assert keys.tolist() == sorted(k for k, m in canvas.items() if m[row, col])
    box = (10, 20, 30, 40)
    assert f.region(*box).tolist() == sorted(k for k, m in canvas.items() if m[10:30, 20:40].any())
    address = bytes.fromhex(ref["entries"][5]["address_hex"])
    assert f.look_for(address).tolist() == [5]
    assert f.look_for([address.decode()], groups=["even"]).tolist() == []
    areas = {e.key: e.area for e in f.fetch()}
    assert f.filter(min_area=30, max_area=60).tolist() == sorted(k for k, a in areas.items() if 30 <= a <= 60)
    assert f.filter(domains=b"cat", groups="first_half").tolist() == sorted(
        e.key for e in f.fetch(groups="first_half") if e.domain == b"cat"
    )
    graph = f.overlap_graph()
    assert isinstance(graph, imkit.OverlapGraph) and graph.edges.shape[1] == 2
    expect = [(a, b, int((canvas[a] & canvas[b]).sum())) for a in canvas for b in canvas if a < b]
    expect = [e for e in expect if e[2] > 0]
    assert [(int(a), int(b), int(w)) for (a, b), w in zip(graph.edges, graph.weights)] == expect


def test_writer_is_byte_compatible_and_adds(tmp_path, fixtures):
    original = (fixtures / "iid" / "overlapping.iid").read_bytes()
    f = imkit.IidFile(fixtures / "iid" / "overlapping.iid")
    assert imkit.IidWriter.from_file(f).to_bytes() == original
    w = imkit.IidWriter()
    mask = np.zeros((4, 5), bool)
    mask[1:3, 1:4] = True
    assert w.add("a", mask, (10, 20, 14, 25), domain="dom") == 0
    assert w.add(b"b", mask.astype(np.uint8)) == 1
    assert w.add_many([("c", mask), ("d", mask, (0, 0, 4, 5), b"x")]).tolist() == [2, 3]
    w.add_to_group("g", 1)
    w.meta = {"source": "test", "n": [1, 2]}
    path = w.save(tmp_path / "new.iid")
    g = imkit.IidFile(path)
    assert len(g) == 4 and g.meta == {"source": "test", "n": [1, 2]} and g.groups["g"].tolist() == [1]
    assert g[0].bbox == (10, 20, 14, 25) and g[0].domain == b"dom" and g[0].area == 6
    np.testing.assert_array_equal(g.mask(1), mask)
    assert g.at(11, 21).tolist() == [0]
    with pytest.raises(imkit.MismatchError):
        w.add("bad", mask, (0, 0, 3, 3))
    with pytest.raises(imkit.OutOfBoundsError):
        w.add_to_group("g", 99)


def test_damaged_files_are_refused(fixtures):
    bad = sorted((fixtures / "iid" / "bad").glob("*.iid"))
    assert bad
    for path in bad:
        with pytest.raises(imkit.Error):
            f = imkit.IidFile(path)
            f.validate()
            for e in f.fetch():
                e.mask
