"""Drop-in replacements for the four Python tools imkit unifies.

Change one import line and keep the rest of the program:

====================================  ==================================================
original                              imkit
====================================  ==================================================
``from impart import ImagePartition``  ``from imkit.compat.impart import ImagePartition``
``import immetaio``                    ``import imkit.compat.immetaio as immetaio``
``from iidfile import IIDFile``        ``from imkit.compat.iidfile import IIDFile``
``from imkerutils.tiling_utils import   ``from imkit.compat.imkerutils.tiling_utils import
extract_tile, paste_tile``             extract_tile, paste_tile``
====================================  ==================================================

Each module's docstring lists where it deliberately differs from the original (a clear error
where the original gave a silent wrong answer); ``docs/python-compat.md`` collects them all.
"""
