"""Preprocessing and matching never raise, whatever a camera or a file hands them."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from unlock_app.core.kinds.object import OBJECT
from unlock_app.core.matching import Gallery, match
from unlock_app.core.preprocess import INPUT_SIZE, preprocess, preprocess_object

DTYPES = st.sampled_from([np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64, np.bool_])
SHAPES = st.one_of(
    st.tuples(st.integers(0, 80), st.integers(0, 80)),
    st.tuples(st.integers(0, 80), st.integers(0, 80), st.sampled_from([1, 2, 3, 4, 5])),
    st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
)


@st.composite
def frames(draw):
    dtype = draw(DTYPES)
    shape = draw(SHAPES)
    if np.issubdtype(dtype, np.floating):
        elements = st.floats(allow_nan=True, allow_infinity=True, width=32)
    elif dtype == np.bool_:
        elements = st.booleans()
    else:
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    return draw(arrays(dtype, shape, elements=elements))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(["dark", "light", "auto"]))
def test_preprocess_never_raises(frame, ink):
    subject = preprocess(frame, ink=ink)
    if subject.found:
        assert subject.input.shape == (INPUT_SIZE, INPUT_SIZE)
        assert np.isfinite(subject.input).all() and 0 <= subject.input.min() and subject.input.max() <= 1
    else:
        assert subject.input is None and subject.quality.reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_object_preprocess_never_raises(frame):
    subject = preprocess_object(frame)
    if subject.found:
        assert subject.input.shape == OBJECT.input_shape
        assert np.isfinite(subject.input).all() and 0 <= subject.input.min() and subject.input.max() <= 1
    else:
        assert subject.input is None and subject.quality.reason


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2000), st.integers(1, 4000), st.integers(0, 4000))
def test_preprocess_large_noise_frames(seed, width, height):
    frame = np.random.default_rng(seed).integers(0, 256, (height % 720 + 1, width % 1280 + 1, 3), dtype=np.uint8)
    preprocess(frame)
    preprocess_object(frame)


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(0, 30), st.just(8)), elements=st.floats(-1e6, 1e6, width=32)),
    arrays(np.float32, (8,), elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
    st.lists(st.text(max_size=5), min_size=30, max_size=30),
)
def test_match_never_raises(embeddings, query, labels):
    gallery = Gallery.build(embeddings, list(range(len(embeddings))), labels[: len(embeddings)])
    result = match(query, gallery)
    if len(embeddings) == 0 or not np.isfinite(query).all():
        assert result is None
    else:
        assert result.reference_id in range(len(embeddings))
        assert 0.0 <= result.score <= 1.0 or np.isnan(result.score)


SAMPLES = st.one_of(
    arrays(np.uint8, st.integers(1, 3000), elements=st.integers(0, 255)),
    arrays(np.float32, st.integers(1, 3000), elements=st.floats(0, 255, width=32)),
)


@given(SAMPLES, st.sampled_from([2, 50, 90, 95, 98, 99, 99.5]) | st.floats(0, 100))
def test_the_fast_percentile_is_numpys_to_the_last_bit(values, q):
    from unlock_app.core.preprocess import _percentile

    assert _percentile(values, q) == float(np.percentile(values, q))
