"""Object keys: a tag, badge, coin or sticker, matched by its outline, texture and colours."""

import numpy as np

from unlock_app.core.kinds.base import KeyKind
from unlock_app.core.preprocess import OBJECT_INPUT_SIZE, Ink, Subject, preprocess_object


def _preprocess(frame: np.ndarray, ink: Ink = "dark") -> Subject:
    return preprocess_object(frame)  # an object has colours, not ink on paper


OBJECT = KeyKind(
    name="object",
    description="an object (a tag, badge, coin, sticker)",
    article="an object",
    sample="view",
    input_shape=(OBJECT_INPUT_SIZE, OBJECT_INPUT_SIZE, 3),
    preprocess=_preprocess,
    weights="siamese_objects.safetensors",
    architecture="unlock-object-cnn-v2",
    # A third of a second at 30 fps between views: time to turn the object a little, so
    # that the views differ.
    capture_spacing=10,
    capture_gap_s=1.2,
    # None at all: a smooth object (a plain coin, a grey tag) has little fine detail however sharp
    # it is, so it would never be taken.
    min_sharpness=0.0,
)
