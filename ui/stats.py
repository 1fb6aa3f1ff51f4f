"""Numbers for the pages: engine.explore results behind st.cache_data, keyed by the dataset's key and plain arguments
(never the arrays); ink() of one image; percent(), the one way the app writes a probability or a share.
"""
import streamlit as st

from engine import explore
from ui.images import png
from ui.loaders import dataset


def _arrays(key, split, digit=None):
    """Images and labels of a split (only one digit's if given) from the cached dataset; key only keys the cache."""
    ds = dataset()
    img, t = ds.images(split), ds.labels(split)
    return (img, t) if digit is None else (img[t == digit], t[t == digit])


@st.cache_data(show_spinner=False, max_entries=8)
def class_counts(key, split):
    """Images per digit (10,) in a split."""
    return explore.class_counts(_arrays(key, split)[1])


@st.cache_data(show_spinner=False, max_entries=8)
def mean_images(key, split):
    """Mean image per digit, float32 (10, 28, 28)."""
    return explore.mean_images(*_arrays(key, split))


@st.cache_data(show_spinner=False, max_entries=32)
def pixel_variance(key, split, digit):
    """Per-pixel variance (28, 28) of a split, or of one digit."""
    return explore.pixel_variance(_arrays(key, split, digit)[0])


@st.cache_data(show_spinner=False, max_entries=32)
def pixel_histogram(key, split, digit, bins):
    """(edges, counts) of pixel values in a split, or in one digit."""
    return explore.pixel_histogram(_arrays(key, split, digit)[0], bins=bins)


@st.cache_data(show_spinner=False, max_entries=8)  # the page shows a translated spinner
def pca(key, split, n, seed):
    """(coords (m, 2), labels (m,), indices (m,), explained (2,)) for a random sample of n images."""
    img, t = _arrays(key, split)
    coords, idx, explained = explore.pca_2d(img, n=n, seed=seed)
    return coords, t[idx], idx, explained


@st.cache_data(show_spinner=False, max_entries=16)
def load_view(key, normalize, flatten, one_hot_label):
    """explore.describe_load for the training split under these load_mnist flags."""
    return explore.describe_load(*_arrays(key, "train"), normalize=normalize, flatten=flatten, one_hot_label=one_hot_label)


@st.cache_data(show_spinner=False, max_entries=64)
def thumbnails(key, split, indices):
    """PNG bytes of the images at indices (a tuple), dark ink on white like the heatmaps, for a thumbnail grid."""
    img = _arrays(key, split)[0]
    return [png(img[i], scale=4, invert=True) for i in indices]


def ink(x):
    """(pixels with ink (> 0), pixels brighter than half (> 127), the brightest value) of one image (28, 28) uint8."""
    return int((x > 0).sum()), int((x > 127).sum()), int(x.max())


def percent(p, digits=1):
    """p in [0, 1] as a percentage a reader can take literally: '0.4%', '< 0.1%' (tiny, not zero), '> 99.9%' (not quite 1).

    Plain rounding would print '0.0%' for 0.0004 and '100.0%' for 0.99996: a probability that is not 0 or 1 never reads so.
    """
    p = float(p)
    step = 10.0 ** -(digits + 2)  # the smallest share the format shows: 0.001 for one decimal of a percent
    if 0 < p < step / 2:
        return f"< {step:.{digits}%}"
    if 1 - step / 2 <= p < 1:
        return f"> {1 - step:.{digits}%}"
    return f"{p:.{digits}%}"
