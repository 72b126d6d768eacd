"""Losses: mask BCE + Dice against soft targets, IoU-head MSE, and the RPN's focal + smooth-L1.

Mask targets are coverage fractions on the loss grid (or binarised teacher masks); BCE on
fractions asks the logits to cross zero where the true boundary lies between grid cells, which
the bilinear upsampling at inference turns into sub-cell boundaries.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

_DICE_SMOOTH = 1.0


def mask_losses(logits: torch.Tensor, targets: torch.Tensor, bce_weight: float,
                dice_weight: float) -> torch.Tensor:
    """(B, M) weighted BCE + Dice of (B, M, L, L) logits against (B, L, L) targets in [0, 1]."""
    t = targets[:, None].expand_as(logits)
    bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none").mean(dim=(-1, -2))
    p = torch.sigmoid(logits)
    inter = (p * t).sum(dim=(-1, -2))
    dice = 1 - (2 * inter + _DICE_SMOOTH) / (p.sum(dim=(-1, -2)) + t.sum(dim=(-1, -2))
                                             + _DICE_SMOOTH)
    return bce_weight * bce + dice_weight * dice


def mask_ious(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, M) IoU of (logits > 0) with (targets > 0.5): what the IoU head should predict."""
    pred = logits > 0
    t = (targets > 0.5)[:, None]
    inter = (pred & t).sum(dim=(-1, -2)).float()
    union = (pred | t).sum(dim=(-1, -2)).float()
    return inter / union.clamp(min=1)


def sigmoid_focal(logits: torch.Tensor, labels: torch.Tensor, alpha: float, gamma: float
                  ) -> torch.Tensor:
    """Summed focal loss of logits vs 0/1 labels (RetinaNet's, as EfficientDet trains)."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    p_t = p * labels + (1 - p) * (1 - labels)
    a_t = alpha * labels + (1 - alpha) * (1 - labels)
    return (a_t * (1 - p_t) ** gamma * ce).sum()


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) IoU of (N, 4) and (M, 4) x1, y1, x2, y2 boxes."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(dim=-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(dim=-1)
    return inter / (area_a[:, None] + area_b[None] - inter).clamp(min=1e-6)


def encode_deltas(anchors: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """DeltaXYWH targets (zero means, unit stds), the inverse of `RPNHead.proposals`."""
    a_size = anchors[:, 2:] - anchors[:, :2]
    a_centre = anchors[:, :2] + 0.5 * a_size
    b_size = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1.0)
    b_centre = boxes[:, :2] + 0.5 * (boxes[:, 2:] - boxes[:, :2])
    return torch.cat([(b_centre - a_centre) / a_size, torch.log(b_size / a_size)], dim=1)


def rpn_loss(logits: torch.Tensor, deltas: torch.Tensor, anchors: torch.Tensor,
             gt_boxes: list[torch.Tensor], pos_iou: float, neg_iou: float, alpha: float,
             gamma: float) -> torch.Tensor:
    """Focal classification + smooth-L1 box loss over (I, A) logits and (I, A, 4) deltas.

    Anchors with IoU >= `pos_iou` to a box are positive, < `neg_iou` negative, others ignored;
    each box's best anchor is positive too, so small boxes always get a match. Normalised by
    the number of positives.
    """
    cls_sum, box_sum, positives = logits.new_zeros(()), logits.new_zeros(()), 0
    for img_logits, img_deltas, boxes in zip(logits, deltas, gt_boxes, strict=True):
        labels = torch.zeros_like(img_logits)
        valid = torch.ones_like(img_logits, dtype=torch.bool)
        if len(boxes):
            iou = box_iou(anchors, boxes)
            best_iou, best_box = iou.max(dim=1)
            pos = best_iou >= pos_iou
            forced = iou.argmax(dim=0)
            pos[forced] = True
            best_box[forced] = torch.arange(len(boxes), device=boxes.device)
            valid = pos | (best_iou < neg_iou)
            labels[pos] = 1.0
            targets = encode_deltas(anchors[pos], boxes[best_box[pos]])
            box_sum = box_sum + F.smooth_l1_loss(img_deltas[pos], targets, beta=1 / 9,
                                                 reduction="sum")
            positives += int(pos.sum())
        cls_sum = cls_sum + sigmoid_focal(img_logits[valid], labels[valid], alpha, gamma)
    return (cls_sum + box_sum) / max(positives, 1)
