"""The exported decoder: SAM's mask decoder re-associated for B prompts on one image.

Same function as :class:`~edgesam_ros.models.mask_decoder.MaskDecoder` (up to float
rounding), with the cost moved off the 4096 image tokens of every object:

* Cross-attention never projects the image tokens. Each head's query (token-to-image) or
  key (image-to-token) is folded into the weights of the projection it meets, so the
  image tokens are multiplied once by an ``[C, heads * T]`` matrix (T prompt tokens, about
  7) instead of by ``[C, C/2]`` weights. The key bias of token-to-image attention is
  constant along the softmax axis and drops out; value biases pass through the softmax
  because its weights sum to one. Per object that is ~117 MMAC per attention instead of
  ~270 MMAC, and no head transposes of ``[B, 4096, 128]`` tensors.
* The output upscaling (two 2x2 stride-2 transposed convs) runs channels-last as MatMuls:
  each input pixel maps to its own 2x2 output pixels, so a transposed conv is a MatMul to
  ``4 * C_out`` channels; LayerNorm2d becomes a LayerNormalization over the last axis and
  one final Transpose puts the masks into NCHW.
* The dense mask embedding is built channels-last from the 16-channel mask features, its
  last 1x1 conv and the ``has_mask_input`` blend folded into one MatMul.

Measured on full-size EdgeSAM, one ORT thread: 1 object 40 -> 22 ms, 10 objects 403 ->
232 ms, outputs within 5e-7 of the previous graph. Batching does not make objects much
cheaper than one call each, by construction: after the first image-to-token attention every
object has its own 4096 image tokens, and all later work (layer-2 and final attention on
them, the upscaling) is per object. In SAM's own formulation, where the first layer's image
projections are shared, EdgeSAM's decoder does 0.40 GMAC per frame and 1.41 GMAC per object
(:func:`edgesam_ros.bench.engine_bench.decoder_macs`), so compute alone puts 10 objects at 8x
one; with the re-association here nothing is shared and ~1 GMAC is per object. Sharing the
first layer's image projections across objects (exact only through rank-17 correction terms
for mask inputs) measured, as an upper bound without those terms, 10 objects -11% and 1
object +4%; it is not done.

The two-way blocks are the model's own (:class:`FoldedAttention` stands in for their
cross-attention modules), so only the attention arithmetic differs from the model.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from ..models import EdgeSam
from ..models.transformer import Attention, TwoWayTransformer


def _heads_weight(linear: nn.Linear, heads: int) -> torch.Tensor:
    """``[heads, d, C_in]`` view of a projection's weight (rows grouped by head)."""
    out_features, in_features = linear.weight.shape
    return linear.weight.reshape(heads, out_features // heads, in_features)


def token_to_image(attn: Attention, queries: torch.Tensor, keys: torch.Tensor,
                   values: torch.Tensor) -> torch.Tensor:
    """``attn(queries, keys, values)`` with T tokens attending to N image tokens.

    ``queries`` ``[B, T, C]``, ``keys``/``values`` ``[B, N, C]``; returns ``[B, T, C]``.
    """
    b, t, _ = queries.shape
    heads = attn.num_heads
    wk = _heads_weight(attn.k_proj, heads)
    d = wk.shape[1]
    q = attn.q_proj(queries).reshape(b, t, heads, d).transpose(1, 2)  # [B, H, T, d]
    folded = torch.matmul(q, wk) * d ** -0.5  # [B, H, T, C]; q.k_bias is softmax-invariant
    logits = torch.matmul(folded.reshape(b, heads * t, -1), keys.transpose(1, 2))
    mixed = torch.matmul(torch.softmax(logits, dim=-1), values)  # [B, H*T, C]
    wv = _heads_weight(attn.v_proj, heads)
    out = torch.matmul(mixed.reshape(b, heads, t, -1), wv.transpose(1, 2))  # [B, H, T, d]
    out = out.transpose(1, 2).reshape(b, t, heads * d) + attn.v_proj.bias
    return attn.out_proj(out)


def image_to_token(attn: Attention, queries: torch.Tensor, keys: torch.Tensor,
                   values: torch.Tensor) -> torch.Tensor:
    """``attn(queries, keys, values)`` with N image tokens attending to T tokens.

    ``queries`` ``[B, N, C]``, ``keys``/``values`` ``[B, T, C]``; returns ``[B, N, C]``.
    """
    b, t, _ = keys.shape
    heads = attn.num_heads
    wq = _heads_weight(attn.q_proj, heads)
    d = wq.shape[1]
    scale = d ** -0.5
    k = attn.k_proj(keys).reshape(b, t, heads, d).transpose(1, 2)  # [B, H, T, d]
    folded = torch.matmul(k, wq) * scale  # [B, H, T, C]
    shift = torch.matmul(k, attn.q_proj.bias.reshape(heads, d, 1)) * scale  # [B, H, T, 1]
    logits = torch.matmul(queries, folded.reshape(b, heads * t, -1).transpose(1, 2))
    logits = logits + shift.reshape(b, 1, heads * t)  # [B, N, H*T]
    n = logits.shape[1]
    weights = torch.softmax(logits.reshape(b, n, heads, t), dim=-1).reshape(b, n, heads * t)
    v = attn.v_proj(values).reshape(b, t, heads, d).transpose(1, 2)  # [B, H, T, d]
    wo = attn.out_proj.weight.reshape(-1, heads, d).permute(1, 2, 0)  # [H, d, C]
    # Each head's weights sum to one, so bias / H on every row adds the bias exactly once
    # and the [B, N, C] output needs no separate Add.
    projected = torch.matmul(v, wo) + attn.out_proj.bias / heads  # [B, H, T, C]
    return torch.matmul(weights, projected.reshape(b, heads * t, -1))


class FoldedAttention(nn.Module):
    """An :class:`Attention` computed by :func:`token_to_image` or :func:`image_to_token`,
    so the model's own two-way blocks run with the re-associated cross-attention."""

    def __init__(self, attn: Attention, image_queries: bool) -> None:
        super().__init__()
        self.attn = attn
        self.fn = image_to_token if image_queries else token_to_image

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
                ) -> torch.Tensor:
        return self.fn(self.attn, queries, keys, values)


def folded_transformer(transformer: TwoWayTransformer) -> TwoWayTransformer:
    """A copy of ``transformer`` whose cross-attentions are :class:`FoldedAttention`."""
    folded = copy.deepcopy(transformer)
    for layer in folded.layers:
        layer.cross_attn_token_to_image = FoldedAttention(layer.cross_attn_token_to_image, False)
        layer.cross_attn_image_to_token = FoldedAttention(layer.cross_attn_image_to_token, True)
    folded.final_attn_token_to_image = FoldedAttention(folded.final_attn_token_to_image, False)
    return folded


def conv_transpose_2x2_as_matmul(conv: nn.ConvTranspose2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight ``[C_in, 4 * C_out]`` (columns ordered dy, dx, c) and bias ``[4 * C_out]``."""
    c_in, c_out, kh, kw = conv.weight.shape
    if (kh, kw) != (2, 2) or tuple(conv.stride) != (2, 2) or tuple(conv.padding) != (0, 0):
        raise ValueError("only 2x2 stride-2 transposed convs without padding map to a MatMul")
    weight = conv.weight.permute(0, 2, 3, 1).reshape(c_in, 4 * c_out)
    return weight, conv.bias.repeat(4)


class DecoderGraph(nn.Module):
    """Prompt encoding plus mask decoding for B prompts of N points on one embedding.

    Coordinates are in the prompt frame P (= S); the graph adds 0.5 and divides by P.
    No padding point is appended: callers pad with label -1 when they want SAM's behaviour.
    """

    def __init__(self, model: EdgeSam) -> None:
        super().__init__()
        pe, md = model.prompt_encoder, model.mask_decoder
        self.prompt_encoder = pe
        self.mask_decoder = md
        self.transformer = folded_transformer(md.transformer)
        self.frame = float(model.config.image_size)
        self.mask_features = pe.mask_downscaling[:-1]
        last = pe.mask_downscaling[-1]
        no_mask = pe.no_mask_embed.weight[0]
        # [features, 1] @ this = conv(features) - no_mask; scaled by has_mask_input.
        mask_proj = torch.cat([last.weight.flatten(1).t(), (last.bias - no_mask)[None]], 0)
        self.register_buffer("mask_proj", mask_proj.detach(), persistent=False)
        self.register_buffer("no_mask", no_mask.detach(), persistent=False)
        self.register_buffer("image_pe", pe.get_dense_pe().flatten(2).transpose(1, 2),
                             persistent=False)
        upscale = md.output_upscaling
        self.up1_norm = upscale[1]
        self.up1_c, self.up2_c = upscale[0].out_channels, upscale[3].out_channels
        for i, conv in ((1, upscale[0]), (2, upscale[3])):
            weight, bias = conv_transpose_2x2_as_matmul(conv)
            self.register_buffer(f"up{i}_weight", weight.detach(), persistent=False)
            self.register_buffer(f"up{i}_bias", bias.detach(), persistent=False)

    def image_tokens(self, image_embeddings: torch.Tensor, mask_input: torch.Tensor,
                     has_mask_input: torch.Tensor) -> torch.Tensor:
        """``[B, h*w, C]``: embedding plus each prompt's dense (mask or no-mask) embedding."""
        feats = self.mask_features(mask_input).flatten(2).transpose(1, 2)  # [B, hw, c]
        ones = torch.ones_like(feats[..., :1])
        weight = has_mask_input.to(feats.dtype).reshape(-1, 1, 1)
        dense = torch.matmul(torch.cat([feats, ones], -1) * weight, self.mask_proj)
        image = image_embeddings.flatten(2).transpose(1, 2) + self.no_mask
        return image + dense

    def upscale(self, keys: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """``[B, hw, C]`` tokens to ``[B, hw * 16, C / 8]`` features of the 4h x 4w grid,
        pixels ordered (y, x, dy1, dx1, dy2, dx2)."""
        # 2-D MatMul + bias so ONNX Runtime fuses each into one Gemm (no [B, ...] Add pass).
        b, c = keys.shape[0], keys.shape[-1]
        x = torch.matmul(keys.reshape(-1, c), self.up1_weight) + self.up1_bias
        norm = self.up1_norm
        x = F.layer_norm(x.reshape(-1, self.up1_c), (self.up1_c,), norm.weight, norm.bias,
                         norm.eps)
        x = torch.matmul(F.gelu(x), self.up2_weight) + self.up2_bias
        return F.gelu(x).reshape(b, h * w * 16, self.up2_c)

    def forward(self, image_embeddings: torch.Tensor, point_coords: torch.Tensor,
                point_labels: torch.Tensor, mask_input: torch.Tensor,
                has_mask_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        md, tr = self.mask_decoder, self.transformer
        sparse = self.prompt_encoder.embed_points(point_coords, point_labels, self.frame)
        b = sparse.shape[0]
        out_tokens = torch.cat([md.iou_token.weight, md.mask_tokens.weight], dim=0)
        tokens = torch.cat([out_tokens.unsqueeze(0).expand(b, -1, -1), sparse], dim=1)
        # Image tokens stay [B, hw, C] throughout (the model's transformer takes NCHW maps).
        keys = self.image_tokens(image_embeddings, mask_input, has_mask_input)
        queries = tokens
        for layer in tr.layers:
            queries, keys = layer(queries, keys, tokens, self.image_pe)
        attn = tr.final_attn_token_to_image(queries + tokens, keys + self.image_pe, keys)
        hs = tr.norm_final_attn(queries + attn)

        h, w = image_embeddings.shape[-2:]
        k_masks = md.num_mask_tokens
        hyper = torch.stack([mlp(hs[:, 1 + i]) for i, mlp in
                             enumerate(md.output_hypernetworks_mlps)], dim=1)  # [B, K, c]
        # K rows first (a transposed-B MatMul, no copy), then one move of the sub-pixels:
        # (y, x, dy1, dx1, dy2, dx2) to rows 4y + 2dy1 + dy2 and columns 4x + 2dx1 + dx2.
        masks = torch.matmul(hyper, self.upscale(keys, h, w).transpose(1, 2))
        masks = masks.reshape(b, k_masks, h, w, 2, 2, 2, 2).permute(0, 1, 2, 4, 6, 3, 5, 7)
        masks = masks.reshape(b, k_masks, 4 * h, 4 * w)
        return md.iou_prediction_head(hs[:, 0]), masks
