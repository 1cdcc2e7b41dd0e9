"""Winograd F(4x4, 3x3) convolutions give what the direct convolution gives, to rounding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vidstyle import winograd
from vidstyle.vgg import VGG19Features


def _close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    # F(4x4, 3x3) rounds to about 1e-5 of the output's scale in fp32.
    scale = expected.abs().max().item()
    assert scale > 0.1
    torch.testing.assert_close(actual, expected, rtol=0.0, atol=5e-5 * scale)


@pytest.mark.parametrize(
    ("shape", "tiles_per_band"),
    [
        ((1, 8, 16, 24), 256),  # whole blocks, one band
        ((2, 5, 13, 22), 256),  # blocks past the bottom and right edges, a batch of two
        ((1, 6, 21, 9), 3),  # bands of one block row, the last one partial
        ((1, 4, 3, 5), 1),  # smaller than one block
    ],
)
def test_convolve_equals_the_direct_convolution(shape: tuple[int, int, int, int], tiles_per_band: int) -> None:
    generator = torch.Generator().manual_seed(sum(shape))
    image = torch.randn(shape, generator=generator)
    kernel = torch.randn(7, shape[1], 3, 3, generator=generator)
    result = winograd.convolve(image, winograd.transformed_weights(kernel), tiles_per_band=tiles_per_band)
    assert result.shape == (shape[0], 7, shape[2], shape[3])
    assert result.is_contiguous(memory_format=torch.channels_last)
    _close(result, F.conv2d(image, kernel, padding=1))


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("size", [(18, 17), (18, 11)])  # 306 pixels by Winograd, 198 directly
def test_module_output_and_input_gradient_equal_conv2ds(layout: torch.memory_format, size: tuple[int, int]) -> None:
    torch.manual_seed(1)
    conv = nn.Conv2d(6, 9, kernel_size=3, padding=1).requires_grad_(False)
    fast = winograd.WinogradConv2d(conv)
    image = torch.randn(1, 6, *size).contiguous(memory_format=layout)
    upstream = torch.randn(1, 9, *size)

    def output_and_gradient(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        leaf = image.clone().requires_grad_(True)
        output = torch.relu(module(leaf))  # in place after it, as in VGG19, is allowed too
        (output * upstream).sum().backward()
        assert leaf.grad is not None
        return output.detach(), leaf.grad

    output, gradient = output_and_gradient(fast)
    expected_output, expected_gradient = output_and_gradient(conv)
    _close(output, expected_output)
    _close(gradient, expected_gradient)


def test_small_inputs_are_convolved_directly() -> None:
    conv = nn.Conv2d(4, 5, kernel_size=3, padding=1).requires_grad_(False)
    image = torch.randn(1, 4, 15, 17)  # 255 pixels
    assert 15 * 17 < winograd.MIN_PIXELS <= 16 * 17
    # Bit for bit the direct convolution below the threshold; by F(4x4, 3x3) from it on.
    assert torch.equal(winograd.WinogradConv2d(conv)(image), conv(image))
    larger = torch.randn(1, 4, 16, 17)
    assert not torch.equal(winograd.WinogradConv2d(conv)(larger), conv(larger))


def test_only_3x3_convolutions_with_stride_1_and_padding_1() -> None:
    with pytest.raises(ValueError, match="stride 1"):
        winograd.WinogradConv2d(nn.Conv2d(4, 4, kernel_size=3, padding=1, stride=2))
    with pytest.raises(ValueError, match="3x3"):
        winograd.WinogradConv2d(nn.Conv2d(4, 4, kernel_size=5, padding=2))


def test_vgg19_in_winograd_form_from_conv3_1_on(encoder: VGG19Features) -> None:
    fast = encoder.in_compute_form(None, channels_last=True, winograd=True)
    kinds = [type(module).__name__ for module in fast.features if not isinstance(module, (nn.ReLU, nn.MaxPool2d))]
    # conv1_1 to conv2_2 direct (fewer than 256 outputs), conv3_1 to conv5_1 by Winograd.
    assert kinds == ["Conv2d"] * 4 + ["WinogradConv2d"] * 9
    # conv3_x at 32x24 by Winograd; conv4_x at 16x12 and conv5_1 under MIN_PIXELS, directly.
    image = torch.rand(1, 3, 128, 96, generator=torch.Generator().manual_seed(2))
    direct = encoder.in_compute_form(None, channels_last=True)

    def features_and_gradient(network: VGG19Features) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        leaf = image.clone().requires_grad_(True)
        features = network(leaf)
        torch.stack([value.square().mean() for value in features.values()]).sum().backward()
        assert leaf.grad is not None
        return {name: value.detach() for name, value in features.items()}, leaf.grad

    fast_features, fast_gradient = features_and_gradient(fast)
    direct_features, direct_gradient = features_and_gradient(direct)
    for name, value in direct_features.items():
        _close(fast_features[name], value)
    _close(fast_gradient, direct_gradient)
    with pytest.raises(ValueError, match="fp32"):
        encoder.in_compute_form(torch.bfloat16, winograd=True)
