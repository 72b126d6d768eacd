"""Distillation of EdgeSAM variants on procedural scenes (PyTorch; a training extra).

Stages follow the EdgeSAM paper: 1 encoder-only embedding distillation (needs a teacher),
2 prompt-in-the-loop mask distillation (teacher masks, or procedural ground truth without a
teacher), 3 the RPN head on ground-truth boxes with the backbone frozen.
"""
