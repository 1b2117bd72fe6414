"""Digit keys: a handwritten or printed digit on a card, read as MNIST reads digits."""

from unlock_app.core.kinds.base import KeyKind
from unlock_app.core.preprocess import INPUT_SIZE, preprocess

DIGIT = KeyKind(
    name="digit",
    description="a digit on a card",
    article="a digit",
    sample="sample",
    input_shape=(INPUT_SIZE, INPUT_SIZE),
    preprocess=preprocess,
    weights="siamese_mnist.safetensors",
    architecture="unlock-siamese-cnn-v2",
    capture_spacing=3,
    capture_gap_s=0.6,
    # A sharp card gives 0.3 to 0.7 (the demo camera's), one blurred by 4 frame pixels
    # about 0.03 to 0.12.
    min_sharpness=0.08,
)
