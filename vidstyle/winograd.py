"""3x3 convolutions by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray 2016), for CPUs.

A direct convolution spends 9 multiply-adds per input channel on each output pixel. F(4x4,
3x3) takes each 4x4 block of output from a 6x6 block of input: the blocks are transformed
(cheap linear maps, matrices of small integers), multiplied by the transformed weights as 36
matrix products over all blocks at once, and transformed back: 36 multiply-adds per channel
for 16 pixels instead of 144. The result differs from the direct one by rounding, about 1e-5
of the output's scale in fp32; it is not for bf16 or fp16, whose rounding the transforms
would magnify.

The input's gradient of a convolution with stride 1 and padding 1 is itself such a
convolution, with the kernel flipped and its channel axes swapped, so the backward pass runs
the same way (the network's weights are frozen: no gradient is computed for them).

Where it wins was measured, not assumed: on a 2-core AVX2 CPU in fp32, channels-last, against
oneDNN's direct convolution (forward, ms): 128 to 256 channels at 98x120 36 against 51,
256 to 256 at 98x120 71-85 against 102, 512 to 512 at 98x120 222-253 against 465 and at 49x60
53-55 against 103-130; but 128 to 128 at 197x240 87-98 against 91, and 64 to 64 at 394x480
432 against 178. Hence only convolutions with 256 outputs or more use it
(``MIN_OUT_CHANNELS``: VGG19 from conv3_1 on). The blocks are transformed a band of rows at
a time (``TILES_PER_BAND``): whole-image transforms of 196x240 with 256 channels were slower
than oneDNN (548 ms against 421) where bands of 256 blocks were faster (361-394 ms).

Small pictures stay direct (``MIN_PIXELS``): there the transforms' fixed costs dominate.
Forward and backward together, ms, 512 to 512 channels: 3x4 4.7 direct against 8.1, 6x8 9.4
against 13.6, 12x16 18.5 against 16.7, 24x30 52 against 31; 256 to 256 at 12x16 4.5 against
4.0. With every size by Winograd, the test suite (64x48 frames, where conv4 runs at 8x6) took
15 minutes instead of 10.

Rendering with it is as good as without, within what rounding alone moves a render: an
optimization chains some hundred evaluations over a shot, and any rounding change sends it
down another path. On pens.mp4 (20 frames from 1 s, 176 px, 15 iterations a later frame),
the direct convolution gave style loss 0.0720-0.0750 and warping error 1.67e-4 to 1.76e-4
over three renders whose first frame started 1e-6 apart; with F(4x4, 3x3), four renders,
0.0728-0.0765 and 1.69e-4 to 2.02e-4. On one frame, 60 iterations from the content at
176x144, the final loss was 0.7986 direct, 0.7936 direct from a start 1e-6 away, and 0.8044
with F(4x4, 3x3): the same spread.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Lavin and Gray's matrices for F(4x4, 3x3): output = A^T [(G g G^T) * (B^T d B)] A.
_B_T = torch.tensor(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    dtype=torch.float64,
)
_G = torch.tensor(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ],
    dtype=torch.float64,
)
_A_T = torch.tensor(
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], dtype=torch.float64
)
# The three transforms on flattened blocks, built once: (36, 9) for kernels, (36, 36) in and
# (16, 36) out. vec(G g G^T) = (G kron G) vec(g) for row-major vec.
_KERNEL_TRANSFORM = torch.kron(_G, _G).float()
_INPUT_TRANSFORM = torch.kron(_B_T, _B_T).float()
_OUTPUT_TRANSFORM = torch.kron(_A_T, _A_T).float()
TILE = 4  # output pixels per block side
SPAN = TILE + 2  # input pixels per block side
MIN_OUT_CHANNELS = 256
MIN_PIXELS = 256  # height x width of the layer's input; smaller ones are convolved directly
TILES_PER_BAND = 256


def transformed_weights(weight: torch.Tensor) -> torch.Tensor:
    """A 3x3 kernel (K, C, 3, 3) as the 36 matrices (36, C, K) that multiply transformed input.

    One (36, 9) @ (9, C x K) product in fp32 writes them in place. It agrees with G g G^T
    taken in float64 to one fp32 rounding (1.2e-7 on values up to 4.6) and takes 20 ms for
    512 x 512 channels where a float64 batch of small products took 150-200 ms: over the
    network's 18 kernels, 1.3 s less at the start of every render.
    """
    outputs, channels = weight.shape[:2]
    taps = weight.detach().float().permute(2, 3, 1, 0).reshape(9, channels * outputs)  # (9, C x K)
    return (_KERNEL_TRANSFORM.to(weight.device) @ taps).view(SPAN * SPAN, channels, outputs)


def backward_weights(weight: torch.Tensor) -> torch.Tensor:
    """The kernel whose convolution (stride 1, padding 1) gives the input's gradient."""
    return weight.transpose(0, 1).flip(2, 3)


def convolve(image: torch.Tensor, weights: torch.Tensor, *, tiles_per_band: int = TILES_PER_BAND) -> torch.Tensor:
    """``conv2d(image, kernel, padding=1)`` for ``weights = transformed_weights(kernel)``.

    image: (N, C, H, W) float32, any layout. Returns (N, K, H, W), channels-last.
    """
    n, channels, height, width = image.shape
    outputs = weights.shape[2]
    rows, columns = -(-height // TILE), -(-width // TILE)
    device = image.device
    input_transform = _INPUT_TRANSFORM.to(device)  # no copy on the CPU, where this runs
    output_transform = _OUTPUT_TRANSFORM.to(device)
    # Channels last, with the zero border of padding 1 and enough more to fill the last blocks.
    padded = F.pad(image.permute(0, 2, 3, 1), (0, 0, 1, 1 + columns * TILE - width, 1, 1 + rows * TILE - height))
    # Channels last: (N, K, H, W) with the channels innermost, written through its NHWC view.
    result = torch.empty(n, outputs, height, width, device=device, memory_format=torch.channels_last)
    result_nhwc = result.permute(0, 2, 3, 1)
    band = max(1, tiles_per_band // (columns * n))
    for first in range(0, rows, band):
        last = min(rows, first + band)
        count = last - first
        strip = padded[:, first * TILE : last * TILE + 2]
        # (N, rows, columns, C, 6, 6) blocks overlapping by 2, as (36, blocks x C).
        blocks = strip.unfold(1, SPAN, TILE).unfold(2, SPAN, TILE).permute(4, 5, 0, 1, 2, 3)
        transformed = input_transform @ blocks.reshape(SPAN * SPAN, -1)
        products = torch.bmm(transformed.view(SPAN * SPAN, n * count * columns, channels), weights)
        tiles = (output_transform @ products.view(SPAN * SPAN, -1)).view(TILE, TILE, n, count, columns, outputs)
        tiles = tiles.permute(2, 3, 0, 4, 1, 5)  # (N, rows, 4, columns, 4, K)
        valid_rows = min(last * TILE, height) - first * TILE
        target = result_nhwc[:, first * TILE : first * TILE + valid_rows]
        if valid_rows == count * TILE and columns * TILE == width:
            target.view(n, count, TILE, columns, TILE, outputs).copy_(tiles)
        else:  # blocks that reach past the picture: only their part inside it is kept
            target.copy_(tiles.reshape(n, count * TILE, columns * TILE, outputs)[:, :valid_rows, :width])
    return result


class _WinogradConvolution(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        image: torch.Tensor,
        weights: torch.Tensor,
        gradient_weights: torch.Tensor,
        bias: torch.Tensor,
    ) -> torch.Tensor:
        ctx.save_for_backward(gradient_weights)
        return convolve(image, weights).add_(bias.view(1, -1, 1, 1))

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        (gradient_weights,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return convolve(grad, gradient_weights), None, None, None


class WinogradConv2d(nn.Module):
    """A frozen 3x3 convolution (stride 1, padding 1, fp32) computed by F(4x4, 3x3), or
    directly on inputs under ``MIN_PIXELS``."""

    kernel: torch.Tensor
    weights: torch.Tensor
    gradient_weights: torch.Tensor
    bias: torch.Tensor

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.groups != 1:
            raise ValueError("Winograd F(4x4, 3x3) needs a 3x3 convolution with stride 1 and padding 1")
        if conv.dilation != (1, 1) or conv.bias is None:
            raise ValueError("Winograd F(4x4, 3x3) needs an undilated convolution with a bias")
        kernel = conv.weight.detach()
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.register_buffer("kernel", kernel.float().clone())
        self.register_buffer("weights", transformed_weights(kernel))
        self.register_buffer("gradient_weights", transformed_weights(backward_weights(kernel)))
        self.register_buffer("bias", conv.bias.detach().float().clone())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[-2] * image.shape[-1] < MIN_PIXELS:
            return F.conv2d(image, self.kernel, self.bias, padding=1)
        result: torch.Tensor = _WinogradConvolution.apply(image, self.weights, self.gradient_weights, self.bias)
        return result


def wins_for(conv: nn.Conv2d) -> bool:
    """Whether a convolution is one that F(4x4, 3x3) measurably speeds up (above)."""
    return conv.kernel_size == (3, 3) and conv.out_channels >= MIN_OUT_CHANNELS
