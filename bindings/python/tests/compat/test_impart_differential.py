"""imkit.compat.impart against the real impart 0.0.5 (with pyvips) on the same files: grid,
subregions and ``.numpy()`` pixels over random configurations, PNG and tiled TIFF. Keys are
drawn from the forms where impart answers correctly; its documented bugs are covered by
test_impart_vectors.py."""

from __future__ import annotations

import numpy as np
import pytest

import imkit
from imkit.compat.impart import ImagePartition

from .conftest import pattern_u8, reference


@pytest.fixture(scope="module")
def impart():
    return reference("impart")


@pytest.fixture(scope="module")
def images(tmp_path_factory, impart):
    import pyvips

    d = tmp_path_factory.mktemp("impart")
    rgb = pattern_u8(301, 517, 3)
    png = d / "rgb.png"
    imkit.save(png, rgb)
    tif = d / "rgb.tif"
    pyvips.Image.new_from_array(rgb).copy(interpretation="srgb").tiffsave(
        str(tif), tile=True, tile_width=64, tile_height=64, compression="deflate")
    grey16 = (pattern_u8(97, 203, 1)[:, :, 0].astype(np.uint16) * 257)
    png16 = d / "grey16.png"
    imkit.save(png16, grey16)
    return {"png": (png, 3), "tif": (tif, 3), "png16": (png16, 1)}


def _random_key(rng, n):
    kind = rng.integers(4)
    if kind == 0:
        return int(rng.integers(-n, n))
    if kind == 1:
        a = int(rng.integers(0, n))
        return slice(a, int(rng.integers(a + 1, n + 3)))
    if kind == 2:
        return slice(None, int(rng.integers(1, n + 1)))
    return None


@pytest.mark.parametrize("name", ["png", "tif", "png16"])
def test_random_configurations(impart, images, rng, name):
    path, bands = images[name]
    channels_options = [[0, 1, 2], [2, 1, 0], [1], [0, 0, 2], [-1, 0]] if bands == 3 else [[0]]
    for trial in range(25):
        cell = (int(rng.integers(8, 160)), int(rng.integers(8, 160)))
        stride = (float(rng.choice([0.25, 0.5, 0.75, 1.0, 0.3, 0.07 * 10])),
                  float(rng.choice([0.5, 1.0, 0.29 * 2, 0.9])))
        channels = channels_options[trial % len(channels_options)]
        ref = impart.ImagePartition(str(path), cell, stride, channels)
        ours = ImagePartition(path, cell, stride, channels)
        for axis in (0, 1):
            # imkit drops the trailing cells impart places at or past the edge (span <= 0).
            for k in range(ours.shape[axis], ref.shape[axis]):
                _, _, w, h = ref.compute_image_subregion(*((k, 0) if axis == 0 else (0, k)))
                assert (h if axis == 0 else w) <= 0
        if ours.shape != tuple(ref.shape):
            continue  # negative keys count differently; covered by the vectors
        assert ours.step_size == tuple(ref.step_size)
        assert ours.image_shape == tuple(ref.image_shape)
        rows, cols = ours.shape
        for _ in range(6):
            y, x = _random_key(rng, rows), _random_key(rng, cols)
            assert ours.compute_image_subregion(y, x) == tuple(ref.compute_image_subregion(y, x))
            expected = ref[y, x].numpy()
            got = ours[y, x].numpy()
            if expected.ndim == 0:
                expected = expected.reshape(1, 1)
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
        assert len(list(ours)) == len(list(ref))
