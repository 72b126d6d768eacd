"""Which of a decoder's masks the engine returns per prompt: each family's upstream rule.

A SAM-family decoder returns 4 masks: output 0 is the single-mask answer, outputs 1-3 are the
"multimask" candidates (part / object / whole) for ambiguous prompts. The projects choose
among them differently, and the engine follows the loaded family's own predictor by default
(`EngineConfig.selection = "family"`):

* ``edgesam`` (EdgeSAM's demo, `web_demo/gradio_app.py`): a prompt without a box takes the best
  stability score of all 4 outputs (its IoU head was not distilled); a box takes output 0.
* ``sam`` (segment-anything's `SamPredictor`, used as is by MobileSAM and EfficientViT-SAM): a
  lone point takes the best predicted IoU of outputs 1-3; anything else takes output 0.
* ``stability``: a lone point takes the best stability of outputs 1-3, anything else output 0
  (this package's rule before per-family rules; no upstream uses it).

A decoder with a single output has already chosen inside its graph (see `signatures.Family`).
"""

from __future__ import annotations

import numpy as np

#: The default rule of each family (`signatures.Family.name` -> rule).
FAMILY_RULES = {"edgesam": "edgesam", "sam": "sam", "mobilesam": "sam", "efficientvit": "sam"}

#: The bundled model's rule, not its family's: trained without a teacher, its IoU head learnt
#: the true IoU, and `edgesam-ros eval --scenes 200 --clicks 3` measured 1-point mIoU 0.634 and
#: 0.671 after a click with "sam", against 0.620 / 0.618 with "edgesam" and 0.616 / 0.669 with
#: "stability" (edgesam_ros/weights/MODEL_CARD.md).
BUNDLED_RULE = "sam"


def resolve_rule(selection: str, family: str, bundled: bool) -> str:
    """The rule `EngineConfig.selection` means for a model of `family` ("family" -> its own)."""
    if selection != "family":
        return selection
    return BUNDLED_RULE if bundled else FAMILY_RULES[family]


def choose_masks(
    rule: str,
    iou_predictions: np.ndarray,
    stability: np.ndarray,
    has_box: np.ndarray,
    lone_point: np.ndarray,
) -> np.ndarray:
    """Index of the mask to keep per row of (B, M) scores, by `rule` (see the module doc)."""
    rows, masks = iou_predictions.shape
    if masks == 1:
        return np.zeros(rows, dtype=np.int64)
    if rule == "edgesam":
        return np.where(has_box, 0, np.argmax(stability, axis=1))
    ranking = iou_predictions if rule == "sam" else stability
    return np.where(lone_point, 1 + np.argmax(ranking[:, 1:], axis=1), 0)
