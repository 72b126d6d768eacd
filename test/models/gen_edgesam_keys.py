"""Write ``edgesam_state_dict_keys.txt``: the official EdgeSAM checkpoint's key -> shape table.

Derived by hand from chongzhou96/EdgeSAM@b53372c (edge_sam/build_sam.py ``build_edge_sam``,
modeling/rep_vit.py ``m1_cfgs``/``RepViTBlock``/``Conv2d_BN``/``RepVGGDW``, timm's
``SqueezeExcite`` (reduction make_divisible(c/4, 8)), modeling/prompt_encoder.py,
mask_decoder.py, transformer.py) without importing our model code, so the test compares
two independent derivations. Run: ``python test/models/gen_edgesam_keys.py``.
"""

from __future__ import annotations

from pathlib import Path

# (channels, use_se, stride) of each RepViT-M1 block, from m1_cfgs (k=3, t=2 everywhere).
M1 = ([(48, 1, 1), (48, 0, 1), (48, 0, 1), (96, 0, 2), (96, 1, 1), (96, 0, 1), (96, 0, 1),
       (192, 0, 2)] + [(192, i % 2, 1) for i in range(1, 14)] + [(192, 0, 1), (192, 0, 1)]
      + [(384, 0, 2), (384, 1, 1), (384, 0, 1)])


def conv_bn(prefix: str, cin: int, cout: int, k: int, groups: int = 1) -> list[tuple]:
    stats = ("weight", "bias", "running_mean", "running_var")
    return [(f"{prefix}.c.weight", (cout, cin // groups, k, k)),
            *((f"{prefix}.bn.{n}", (cout,)) for n in stats),
            (f"{prefix}.bn.num_batches_tracked", ())]


def se(prefix: str, c: int) -> list[tuple]:
    r = max(8, int(c / 4 + 4) // 8 * 8)
    return [(f"{prefix}.fc1.weight", (r, c, 1, 1)), (f"{prefix}.fc1.bias", (r,)),
            (f"{prefix}.fc2.weight", (c, r, 1, 1)), (f"{prefix}.fc2.bias", (c,))]


def linear(prefix: str, cin: int, cout: int) -> list[tuple]:
    return [(f"{prefix}.weight", (cout, cin)), (f"{prefix}.bias", (cout,))]


def ln(prefix: str, c: int) -> list[tuple]:
    return [(f"{prefix}.weight", (c,)), (f"{prefix}.bias", (c,))]


def encoder() -> list[tuple]:
    p = "image_encoder"
    keys = conv_bn(f"{p}.features.0.0", 3, 24, 3) + conv_bn(f"{p}.features.0.2", 24, 48, 3)
    cin = 48
    for i, (c, use_se, stride) in enumerate(M1, start=1):
        b = f"{p}.features.{i}"
        if stride == 2:
            keys += conv_bn(f"{b}.token_mixer.0", cin, cin, 3, groups=cin)
            keys += se(f"{b}.token_mixer.1", cin) if use_se else []
            keys += conv_bn(f"{b}.token_mixer.2", cin, c, 1)
        else:
            keys += conv_bn(f"{b}.token_mixer.0.conv", c, c, 3, groups=c)
            keys += conv_bn(f"{b}.token_mixer.0.conv1", c, c, 1, groups=c)
            keys += se(f"{b}.token_mixer.1", c) if use_se else []
        keys += conv_bn(f"{b}.channel_mixer.m.0", c, 2 * c, 1)
        keys += conv_bn(f"{b}.channel_mixer.m.2", 2 * c, c, 1)
        cin = c
    keys += [(f"{p}.fuse_stage2.weight", (256, 192, 1, 1)),
             (f"{p}.fuse_stage3.op_list.0.weight", (256, 384, 1, 1)),
             (f"{p}.neck.0.weight", (256, 256, 1, 1)), (f"{p}.neck.2.weight", (256, 256, 3, 3))]
    return keys + ln(f"{p}.neck.1", 256) + ln(f"{p}.neck.3", 256)


def prompt_encoder() -> list[tuple]:
    p = "prompt_encoder"
    keys = [(f"{p}.pe_layer.positional_encoding_gaussian_matrix", (2, 128))]
    keys += [(f"{p}.point_embeddings.{i}.weight", (1, 256)) for i in range(4)]
    keys += [(f"{p}.not_a_point_embed.weight", (1, 256)), (f"{p}.no_mask_embed.weight", (1, 256))]
    keys += [(f"{p}.mask_downscaling.0.weight", (4, 1, 2, 2)),
             (f"{p}.mask_downscaling.0.bias", (4,))]
    keys += ln(f"{p}.mask_downscaling.1", 4)
    keys += [(f"{p}.mask_downscaling.3.weight", (16, 4, 2, 2)),
             (f"{p}.mask_downscaling.3.bias", (16,))]
    keys += ln(f"{p}.mask_downscaling.4", 16)
    return [*keys, (f"{p}.mask_downscaling.6.weight", (256, 16, 1, 1)),
            (f"{p}.mask_downscaling.6.bias", (256,))]


def attention(prefix: str, inner: int) -> list[tuple]:
    return (linear(f"{prefix}.q_proj", 256, inner) + linear(f"{prefix}.k_proj", 256, inner)
            + linear(f"{prefix}.v_proj", 256, inner) + linear(f"{prefix}.out_proj", inner, 256))


def mask_decoder() -> list[tuple]:
    p = "mask_decoder"
    keys = []
    for i in range(2):
        b = f"{p}.transformer.layers.{i}"
        keys += attention(f"{b}.self_attn", 256) + attention(f"{b}.cross_attn_token_to_image", 128)
        keys += attention(f"{b}.cross_attn_image_to_token", 128)
        keys += linear(f"{b}.mlp.lin1", 256, 2048) + linear(f"{b}.mlp.lin2", 2048, 256)
        for n in range(1, 5):
            keys += ln(f"{b}.norm{n}", 256)
    keys += attention(f"{p}.transformer.final_attn_token_to_image", 128)
    keys += ln(f"{p}.transformer.norm_final_attn", 256)
    keys += [(f"{p}.iou_token.weight", (1, 256)), (f"{p}.mask_tokens.weight", (4, 256)),
             (f"{p}.output_upscaling.0.weight", (256, 64, 2, 2)),
             (f"{p}.output_upscaling.0.bias", (64,)),
             (f"{p}.output_upscaling.3.weight", (64, 32, 2, 2)),
             (f"{p}.output_upscaling.3.bias", (32,))]
    keys += ln(f"{p}.output_upscaling.1", 64)
    for m in range(4):
        b = f"{p}.output_hypernetworks_mlps.{m}.layers"
        keys += linear(f"{b}.0", 256, 256) + linear(f"{b}.1", 256, 256) + linear(f"{b}.2", 256, 32)
    b = f"{p}.iou_prediction_head.layers"
    return keys + linear(f"{b}.0", 256, 256) + linear(f"{b}.1", 256, 256) + linear(f"{b}.2", 256, 4)


def main() -> None:
    rows = sorted(encoder() + prompt_encoder() + mask_decoder())
    text = "".join(f"{k} {','.join(map(str, s)) or '()'}\n" for k, s in rows)
    Path(__file__).with_name("edgesam_state_dict_keys.txt").write_text(text)


if __name__ == "__main__":
    main()
