"""Loss terms against hand-computed values."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from vidstyle import losses


def test_gram_of_known_tensor() -> None:
    # Two channels over 2x2 positions: a = [1, 2, 3, 4], b = [0, 1, 0, 1].
    features = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])
    expected = torch.tensor([[[30.0, 6.0], [6.0, 2.0]]]) / 4  # a.a, a.b, b.b over 4 positions
    torch.testing.assert_close(losses.gram(features), expected)


def test_gram_does_not_depend_on_image_size() -> None:
    tile = torch.rand(1, 8, 5, 7)
    tiled = tile.repeat(1, 1, 3, 2)
    torch.testing.assert_close(losses.gram(tiled), losses.gram(tile))


def test_gram_is_fp32_for_bf16_features() -> None:
    features = torch.rand(1, 4, 10, 10).to(torch.bfloat16)
    assert losses.gram(features).dtype == torch.float32


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_gram_gradient_equals_autograds_of_the_plain_formula(layout: torch.memory_format) -> None:
    generator = torch.Generator().manual_seed(3)
    features = torch.rand(2, 5, 6, 7, generator=generator).contiguous(memory_format=layout)
    target = torch.rand(2, 5, 5, generator=generator)
    weights = torch.rand(2, 5, 5, generator=generator)  # an asymmetric dG: the general case

    def gradient(gram: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        leaf = features.clone().requires_grad_(True)
        ((gram(leaf) - target).pow(2) * weights).sum().backward()
        assert leaf.grad is not None
        return leaf.grad

    def plain(x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(2, 5, 42)
        return torch.bmm(flat, flat.transpose(1, 2)) / 42

    expected = gradient(plain)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(gradient(losses.gram), expected)


def test_content_loss_is_relative_to_target_energy() -> None:
    target = torch.full((1, 2, 3, 3), 2.0)
    features = torch.full((1, 2, 3, 3), 3.0)
    assert losses.content_loss(features, target).item() == pytest.approx(1.0 / 4.0)
    assert losses.content_loss(target, target).item() == 0.0
    # Scaling both by 100 (as another VGG19's weights might) leaves it unchanged.
    assert losses.content_loss(features * 100, target * 100).item() == pytest.approx(0.25)


def test_style_layer_loss_zero_for_matching_and_scale_free() -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.rand(1, 6, 8, 8, generator=generator)
    target = losses.gram(features)
    assert losses.style_layer_loss(features, target).item() == pytest.approx(0.0, abs=1e-10)
    other = torch.rand(1, 6, 8, 8, generator=generator) ** 3
    plain = losses.style_layer_loss(other, target).item()
    scaled = losses.style_layer_loss(other * 10, losses.gram(features * 10)).item()
    assert plain > 0.01
    assert scaled == pytest.approx(plain, rel=1e-4)


def test_style_loss_weights_layers() -> None:
    a, b = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    grams = {"x": losses.gram(b), "y": losses.gram(b)}
    features = {"x": a, "y": b}
    total = losses.style_loss(features, grams, {"x": 0.25, "y": 0.75})
    assert total.item() == pytest.approx(0.25 * losses.style_layer_loss(a, grams["x"]).item(), rel=1e-6)


def test_tv_loss_of_known_image() -> None:
    image = torch.zeros(1, 1, 2, 3)
    image[..., 1] = 1.0  # a vertical line: every horizontal step is +-1, every vertical step 0
    assert losses.tv_loss(image).item() == pytest.approx(1.0)
    assert losses.tv_loss(torch.full((1, 3, 5, 5), 0.3)).item() == 0.0


def test_temporal_loss_is_masked_mean_over_3hw() -> None:
    image = torch.zeros(1, 3, 2, 2)
    warped = torch.ones(1, 3, 2, 2)
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    # One reliable pixel of four, three channels, each squared error 1: 3 / (3*2*2).
    assert losses.temporal_loss(image, warped, mask).item() == pytest.approx(0.25)
    assert losses.temporal_loss(image, warped, torch.zeros(2, 2)).item() == 0.0
