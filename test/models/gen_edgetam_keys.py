"""Write ``edgetam_state_dict_keys.txt``: the official EdgeTAM checkpoint's key -> shape table.

Derived by hand from facebookresearch/EdgeTAM@9cc44bf (``sam2/configs/edgetam.yaml``,
``sam2/modeling/sam2_base.py``, ``backbones/timm.py`` + ``image_encoder.py``,
``memory_attention.py``, ``sam/transformer.py``, ``memory_encoder.py``, ``perceiver.py``,
``sam/prompt_encoder.py``, ``sam/mask_decoder.py``, ``sam2_utils.MLP``) and timm's
``repvit_m1`` (``timm/models/repvit.py``: embed 48/96/192/384, depth 2/2/14/2, legacy=True,
``features_only`` flattens ``stages`` to ``stages_<i>``), without importing our model code, so
the test compares two independent derivations. The checkpoint is ``{"model": state_dict}``
and upstream loads it strictly. Run: ``python test/models/gen_edgetam_keys.py``.
"""

from __future__ import annotations

from pathlib import Path

WIDTHS, DEPTHS = (48, 96, 192, 384), (2, 2, 14, 2)
C, M = 256, 64  # hidden_dim, mem_dim


def conv_bn(prefix: str, cin: int, cout: int, k: int, groups: int = 1) -> list[tuple]:
    stats = ("weight", "bias", "running_mean", "running_var")
    return [(f"{prefix}.c.weight", (cout, cin // groups, k, k)),
            *((f"{prefix}.bn.{n}", (cout,)) for n in stats),
            (f"{prefix}.bn.num_batches_tracked", ())]


def conv(prefix: str, cin: int, cout: int, k: int, groups: int = 1, bias: bool = True
         ) -> list[tuple]:
    keys = [(f"{prefix}.weight", (cout, cin // groups, k, k))]
    return keys + ([(f"{prefix}.bias", (cout,))] if bias else [])


def linear(prefix: str, cin: int, cout: int, bias: bool = True) -> list[tuple]:
    return [(f"{prefix}.weight", (cout, cin))] + ([(f"{prefix}.bias", (cout,))] if bias else [])


def ln(prefix: str, c: int) -> list[tuple]:
    return [(f"{prefix}.weight", (c,)), (f"{prefix}.bias", (c,))]


def mlp(prefix: str, dims: list[int]) -> list[tuple]:
    keys = []
    for i in range(len(dims) - 1):
        keys += linear(f"{prefix}.layers.{i}", dims[i], dims[i + 1])
    return keys


def repvit_block(p: str, c: int, se: bool) -> list[tuple]:
    keys = conv_bn(f"{p}.token_mixer.conv", c, c, 3, c)
    keys += conv_bn(f"{p}.token_mixer.conv1", c, c, 1, c)
    if se:  # timm SqueezeExcite(c, 0.25): make_divisible(c / 4, 8)
        r = max(8, int(c / 4 + 4) // 8 * 8)
        keys += conv(f"{p}.se.fc1", c, r, 1) + conv(f"{p}.se.fc2", r, c, 1)
    return keys + conv_bn(f"{p}.channel_mixer.conv1", c, 2 * c, 1) + conv_bn(
        f"{p}.channel_mixer.conv2", 2 * c, c, 1)


def trunk() -> list[tuple]:
    p = "image_encoder.trunk.body"
    keys = conv_bn(f"{p}.stem.conv1", 3, 24, 3) + conv_bn(f"{p}.stem.conv2", 24, 48, 3)
    cin = 48
    for s, (c, depth) in enumerate(zip(WIDTHS, DEPTHS, strict=True)):
        st = f"{p}.stages_{s}"
        if s > 0:
            d = f"{st}.downsample"
            keys += repvit_block(f"{d}.pre_block", cin, False)
            keys += conv_bn(f"{d}.spatial_downsample", cin, cin, 3, cin)
            keys += conv_bn(f"{d}.channel_downsample", cin, c, 1)
            keys += conv_bn(f"{d}.ffn.conv1", c, 2 * c, 1) + conv_bn(f"{d}.ffn.conv2", 2 * c, c, 1)
        for i in range(depth):
            keys += repvit_block(f"{st}.blocks.{i}", c, i % 2 == 0)
        cin = c
    return keys


def neck() -> list[tuple]:
    keys = []
    for i, c in enumerate((384, 192, 96, 48)):  # backbone_channel_list
        keys += conv(f"image_encoder.neck.convs.{i}.conv", c, C, 1)
    return keys


def memory_attention() -> list[tuple]:
    keys = []
    for i in range(2):
        p = f"memory_attention.layers.{i}"
        for name, kv in (("self_attn", C), ("cross_attn_image", M)):
            keys += linear(f"{p}.{name}.q_proj", C, C) + linear(f"{p}.{name}.k_proj", kv, C)
            keys += linear(f"{p}.{name}.v_proj", kv, C) + linear(f"{p}.{name}.out_proj", C, C)
        keys += linear(f"{p}.linear1", C, 2048) + linear(f"{p}.linear2", 2048, C)
        for n in (1, 2, 3):
            keys += ln(f"{p}.norm{n}", C)
    return keys + ln("memory_attention.norm", C)


def memory_encoder() -> list[tuple]:
    p = "memory_encoder"
    keys, cin = [], 1
    for i in range(4):  # kernel 3, stride 2, total stride 16: 1 -> 4 -> 16 -> 64 -> 256
        keys += conv(f"{p}.mask_downsampler.encoder.{3 * i}", cin, cin * 4, 3)
        keys += ln(f"{p}.mask_downsampler.encoder.{3 * i + 1}", cin * 4)
        cin *= 4
    keys += conv(f"{p}.mask_downsampler.encoder.12", 256, C, 1)
    keys += conv(f"{p}.pix_feat_proj", C, C, 1)
    for i in range(2):
        b = f"{p}.fuser.layers.{i}"
        keys += conv(f"{b}.dwconv", C, C, 7, C) + ln(f"{b}.norm", C)
        keys += linear(f"{b}.pwconv1", C, 4 * C) + linear(f"{b}.pwconv2", 4 * C, C)
        keys += [(f"{b}.gamma", (C,))]
    return keys + conv(f"{p}.out_proj", C, M, 1)


def perceiver() -> list[tuple]:
    p = "spatial_perceiver"
    keys = [(f"{p}.latents", (256, M)), (f"{p}.latents_2d", (256, M))]
    for i in range(2):
        b = f"{p}.layers.{i}"
        keys += ln(f"{b}.attn.norm_x", M) + ln(f"{b}.attn.norm_latents", M)
        keys += linear(f"{b}.attn.to_q", M, 64, False) + linear(f"{b}.attn.to_kv", M, 128, False)
        keys += linear(f"{b}.attn.to_out", 64, M, False)
        for ff in ("ff", "self_ff"):
            keys += ln(f"{b}.{ff}.0", M) + linear(f"{b}.{ff}.1", M, 4 * M, False)
            keys += linear(f"{b}.{ff}.3", 4 * M, M, False)
        keys += ln(f"{b}.self_attn.norm", M) + linear(f"{b}.self_attn.to_q", M, 64, False)
        keys += linear(f"{b}.self_attn.to_kv", M, 128, False)
        keys += linear(f"{b}.self_attn.to_out", 64, M, False)
    return keys + ln(f"{p}.norm", M)


def prompt_encoder() -> list[tuple]:
    p = "sam_prompt_encoder"
    keys = [(f"{p}.pe_layer.positional_encoding_gaussian_matrix", (2, 128))]
    keys += [(f"{p}.point_embeddings.{i}.weight", (1, C)) for i in range(4)]
    keys += [(f"{p}.not_a_point_embed.weight", (1, C)), (f"{p}.no_mask_embed.weight", (1, C))]
    keys += conv(f"{p}.mask_downscaling.0", 1, 4, 2) + ln(f"{p}.mask_downscaling.1", 4)
    keys += conv(f"{p}.mask_downscaling.3", 4, 16, 2) + ln(f"{p}.mask_downscaling.4", 16)
    return keys + conv(f"{p}.mask_downscaling.6", 16, C, 1)


def attention(prefix: str, inner: int) -> list[tuple]:
    return (linear(f"{prefix}.q_proj", C, inner) + linear(f"{prefix}.k_proj", C, inner)
            + linear(f"{prefix}.v_proj", C, inner) + linear(f"{prefix}.out_proj", inner, C))


def mask_decoder() -> list[tuple]:
    p = "sam_mask_decoder"
    keys = []
    for i in range(2):
        b = f"{p}.transformer.layers.{i}"
        keys += attention(f"{b}.self_attn", C) + attention(f"{b}.cross_attn_token_to_image", 128)
        keys += attention(f"{b}.cross_attn_image_to_token", 128)
        keys += mlp(f"{b}.mlp", [C, 2048, C])
        for n in range(1, 5):
            keys += ln(f"{b}.norm{n}", C)
    keys += attention(f"{p}.transformer.final_attn_token_to_image", 128)
    keys += ln(f"{p}.transformer.norm_final_attn", C)
    keys += [(f"{p}.iou_token.weight", (1, C)), (f"{p}.mask_tokens.weight", (4, C)),
             (f"{p}.obj_score_token.weight", (1, C)),
             (f"{p}.output_upscaling.0.weight", (C, 64, 2, 2)),
             (f"{p}.output_upscaling.0.bias", (64,)),
             (f"{p}.output_upscaling.3.weight", (64, 32, 2, 2)),
             (f"{p}.output_upscaling.3.bias", (32,))]
    keys += ln(f"{p}.output_upscaling.1", 64)
    keys += conv(f"{p}.conv_s0", C, 32, 1) + conv(f"{p}.conv_s1", C, 64, 1)
    for m in range(4):
        keys += mlp(f"{p}.output_hypernetworks_mlps.{m}", [C, C, C, 32])
    keys += mlp(f"{p}.iou_prediction_head", [C, 256, 256, 4])
    return keys + mlp(f"{p}.pred_obj_score_head", [C, C, C, 1])


def base() -> list[tuple]:
    return [("maskmem_tpos_enc", (7, 1, 1, M)), ("no_mem_embed", (1, 1, C)),
            ("no_mem_pos_enc", (1, 1, C)), ("no_obj_ptr", (1, C)),
            *conv("mask_downsample", 1, 1, 4), *mlp("obj_ptr_proj", [C, C, C, C])]


def main() -> None:
    rows = sorted(trunk() + neck() + memory_attention() + memory_encoder() + perceiver()
                  + prompt_encoder() + mask_decoder() + base())
    text = "".join(f"{k} {','.join(map(str, s)) or '()'}\n" for k, s in rows)
    Path(__file__).with_name("edgetam_state_dict_keys.txt").write_text(text)


if __name__ == "__main__":
    main()
