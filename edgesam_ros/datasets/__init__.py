"""Training datasets from segmented bags: COCO, YOLO segmentation and mask images.

A bag-workflow layer above the core: `reader` pairs every image of a bag with the
`edgesam_ros/SegmentationArray` computed from it (by header stamp), `selection` chooses frames and
the train/val split, and `coco`, `yolo`, `masks` write the formats; `export` runs the whole thing
and `cli` is `edgesam-ros dataset`.
"""
