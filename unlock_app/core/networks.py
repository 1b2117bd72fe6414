"""What every network of the app shares: its building blocks, folding for inference, and
weights loaded only after they are checked against their card.

Weights are safetensors (no pickle, so loading runs no code) beside a JSON model card
that records the architecture and the SHA-256 of the weights; loading checks both.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from unlock_app.core import paths
from unlock_app.core.model_card import ModelCard, ModelError, card_path, sha256


def conv_block(inputs: int, outputs: int, kernel: int = 3, stride: int = 1) -> list[nn.Module]:
    """Convolution (no bias: batch norm follows), batch norm, ReLU."""
    return [
        nn.Conv2d(inputs, outputs, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    ]


def opponent_colours(batch: torch.Tensor) -> torch.Tensor:
    """BGR in [0, 1] to standardised lightness and two brightness-free opponent colours:
    lightness standardised per image (so exposure and contrast do not matter), red against
    green and blue against yellow divided by the image's mean lightness (so a hue counts,
    the brightness of the room does not)."""
    blue, green, red = batch[:, 0:1], batch[:, 1:2], batch[:, 2:3]
    lightness = 0.114 * blue + 0.587 * green + 0.299 * red
    mean = lightness.mean((2, 3), keepdim=True)
    spread = lightness.std((2, 3), keepdim=True)
    level = mean.clamp_min(0.05)
    return torch.cat(
        [(lightness - mean) / (spread + 0.02), (red - green) / level, (blue - 0.5 * (red + green)) / level], 1
    )


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """The model for inference, each batch norm in its ``nn.Sequential`` parts folded into
    the convolution before it (``fuse_conv_bn_eval``): the same function in fewer steps,
    about a tenth faster for one frame on a CPU.  The model must be in eval mode; it is
    changed in place."""
    for name, part in list(model.named_children()):
        fold_batch_norms(part)
        if isinstance(part, nn.Sequential):
            layers: list[nn.Module] = []
            for layer in part:
                if isinstance(layer, nn.BatchNorm2d) and layers and isinstance(layers[-1], nn.Conv2d):
                    layers[-1] = fuse_conv_bn_eval(layers[-1], layer)
                else:
                    layers.append(layer)
            setattr(model, name, nn.Sequential(*layers))
    return model


def _computes_bfloat16() -> bool:
    """Whether this CPU has bfloat16 arithmetic (AVX-512 BF16 or AMX) for oneDNN to use."""
    supported = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)  # private: may go
    return bool(supported and supported())


BFLOAT16_CONVOLUTIONS = _computes_bfloat16()
"""Whether :func:`for_inference` runs convolutions in bfloat16 on the CPU: where the CPU
computes it, a frame's networks take about a fifth less time (their weights take half the
cache) and a batch of embeddings half; an embedding moves by about a thousandth of the
distance between keys (``benchmarks/bfloat16.py``)."""


class InBFloat16(nn.Module):
    """A stack of convolutions run in bfloat16: its float32 input cast down, its output
    cast back (the colour conversion before it and the heads after it stay float32)."""

    def __init__(self, part: nn.Module) -> None:
        super().__init__()
        self.part = part.to(torch.bfloat16)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.part(batch.to(torch.bfloat16)).float()


def memory_format(device: torch.device) -> torch.memory_format:
    """The layout a network made ready by :func:`for_inference` runs in, and its inputs
    should come in: channels-last on the CPU (its convolutions run about a quarter faster on
    one frame); elsewhere as they come."""
    return torch.channels_last if device.type == "cpu" else torch.preserve_format


def for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    """A loaded network made ready to run: in eval mode, batch norms folded
    (:func:`fold_batch_norms`) and, on the CPU, in :func:`memory_format` with each stack of
    convolutions in bfloat16 where the CPU computes it (``BFLOAT16_CONVOLUTIONS``).
    Changed in place."""
    model = fold_batch_norms(model.eval())
    if device.type != "cpu":
        return model
    if BFLOAT16_CONVOLUTIONS:
        _convolutions_in_bfloat16(model)
    return model.to(memory_format=memory_format(device))


def _convolutions_in_bfloat16(model: nn.Module) -> None:
    for name, part in list(model.named_children()):
        if isinstance(part, nn.Sequential) and any(isinstance(layer, nn.Conv2d) for layer in part):
            setattr(model, name, InBFloat16(part))
        elif not isinstance(part, nn.Sequential):
            _convolutions_in_bfloat16(part)


def save_model(model: nn.Module, card: ModelCard, weights: Path) -> None:
    """Write the weights and their card; the card records the file's SHA-256."""
    weights.parent.mkdir(parents=True, exist_ok=True)
    temporary = weights.with_name(weights.name + ".tmp")
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(temporary), metadata={"architecture": card.architecture})
    paths.replace_atomic(temporary, weights)
    card.sha256 = sha256(weights)
    card.write(card_path(weights))


def load_checked(weights: Path) -> tuple[ModelCard, dict[str, torch.Tensor]]:
    """A weights file's card and tensors, once the file's hash matches its card.

    Raises
    ------
    ModelError
        If a file is missing or unreadable, or the hash does not match the card.
    """
    weights = Path(weights)
    if not weights.is_file():
        raise ModelError(f"{weights}: weights file not found")
    card = ModelCard.read(card_path(weights))
    actual = sha256(weights)
    if actual != card.sha256:
        raise ModelError(
            f"{weights}: SHA-256 {actual[:12]}... does not match its model card "
            f"({card.sha256[:12]}...); the file was changed or belongs to another card"
        )
    try:
        return card, load_file(str(weights))
    except Exception as error:  # safetensors raises its own error types for bad headers
        raise ModelError(f"{weights}: not a readable safetensors file ({error})") from None


def fit(model: nn.Module, state: dict[str, torch.Tensor], weights: Path, card: ModelCard) -> None:
    """Load ``state`` into ``model``, or say which file does not fit which architecture."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise ModelError(
            f"{weights}: tensors do not fit {card.architecture} as the card describes it ({first})"
        ) from None
