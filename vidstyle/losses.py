"""Loss terms of Gatys et al. (2015) and Ruder et al. (2016), as pure functions.

All losses are means, not sums, so that default weights keep their balance when the
resolution changes. Content and style terms are further divided by the energy of their
target, which makes them relative errors (about 1 for a random image): every style layer
then counts equally, and the same weights suit the Caffe and the torchvision VGG19, whose
features differ in scale by orders of magnitude. Every loss is computed in float32,
whatever precision the features came in: bf16 Gram sums over thousands of positions lose
too many digits.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix of features (N, C, H, W) -> (N, C, C), divided by H*W.

    Dividing by the number of positions makes it an average outer product, independent of the
    image size, so a style image and a content image of different sizes compare directly.
    """
    n, c, h, w = features.shape
    if features.is_contiguous(memory_format=torch.channels_last) and not features.is_contiguous():
        # Channels-last features: (N, H*W, C) is a view, (N, C, H*W) would be a copy.
        positions = features.permute(0, 2, 3, 1).reshape(n, h * w, c)
    else:
        positions = features.reshape(n, c, h * w).transpose(1, 2)
    return _Gram.apply(positions.float())


class _Gram(torch.autograd.Function):
    """G = X^T X / n for positions X (N, n, C), with a backward of one matrix product.

    Autograd's backward of ``bmm(X^T, X)`` takes two products, one per operand, and adds them:
    dX = X (dG + dG^T) / n is the same sum in one product, and no feature-sized addition. On a
    2-core CPU the Gram products were a tenth of a later frame's time, two thirds of it backward.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, positions: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(positions)
        return torch.bmm(positions.transpose(1, 2), positions) / positions.shape[1]

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        (positions,) = ctx.saved_tensors  # type: ignore[attr-defined]
        # 1/n scales the (C, C) matrix, not the (n, C) result: a feature-sized division less.
        return torch.bmm(positions, (grad + grad.transpose(1, 2)) / positions.shape[1])


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error of feature maps (Gatys et al. eq. 1) relative to the target's energy."""
    target = target.float()
    return (features.float() - target).pow(2).mean() / target.pow(2).mean().clamp_min(1e-12)


def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Squared error of one layer's Gram matrix (Gatys et al. eq. 4) relative to the target's.

    Gatys et al. weight layers equally on the raw error, which lets relu4_1 outweigh relu1_1 by
    about 1e5 with the Caffe weights; relative errors give each layer the share it is given.
    """
    return (gram(features) - target_gram).pow(2).mean() / target_gram.pow(2).mean().clamp_min(1e-12)


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float],
) -> torch.Tensor:
    """Weighted sum over style layers of ``style_layer_loss``."""
    total = torch.zeros((), device=next(iter(features.values())).device)
    for layer, weight in layer_weights.items():
        total = total + weight * style_layer_loss(features[layer], target_grams[layer])
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbouring pixels, (N, C, H, W) in [0, 1]."""
    image = image.float()
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def temporal_loss(image: torch.Tensor, warped: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Ruder et al. eq. 6: (1/D) * sum_k c_k (x_k - w_k)^2 with D = 3*H*W.

    image, warped: (1, 3, H, W) in [0, 1]; mask: (1, 1, H, W) or (H, W) in [0, 1].
    """
    if mask.dim() == 2:
        mask = mask[None, None]
    return (mask * (image.float() - warped.float()).pow(2)).mean()
