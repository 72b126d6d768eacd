"""Configuration dataclasses for the procedural scene and sequence generators.

Every number that shapes the difficulty of the generated data lives here with its default, so a
preset is just a different set of values (see `presets.py`). Ranges are `(low, high)` tuples sampled
uniformly (integers inclusive at both ends). Sizes given as fractions are relative to
`min(height, width)` so a config keeps its look when the image size changes.
"""

from __future__ import annotations

from dataclasses import dataclass

SHAPE_KINDS = (
    "polygon",  # random convex polygon, 3-9 vertices
    "ellipse",
    "star",  # concave: alternating outer/inner radii
    "blob",  # concave: smooth random radial profile
    "bar",  # thin, long rectangle (slightly bent sometimes)
    "ring",  # annulus: a shape with a hole that shows the background
    "holed",  # convex polygon or blob with an off-centre hole
    "rounded_rect",
)
TEXTURE_KINDS = ("flat", "gradient", "stripes", "checker", "noise")
BACKGROUND_KINDS = ("flat", "gradient", "stripes", "checker", "noise", "tiles")


@dataclass(frozen=True)
class ObjectStyle:
    """How instances look: shape mix, size, texture and colour difficulty."""

    shape_kinds: tuple[str, ...] = SHAPE_KINDS
    texture_kinds: tuple[str, ...] = TEXTURE_KINDS
    size: tuple[float, float] = (0.10, 0.35)
    """Object diameter (longest extent at scale 1) as a fraction of min(height, width)."""
    texture_contrast: tuple[float, float] = (15.0, 70.0)
    """Distance (RGB, 0-255) between the two colours of a two-colour texture."""
    low_contrast_prob: float = 0.3
    """Probability that an object's mean colour is chosen close to what lies behind it."""
    min_contrast: float = 22.0
    """Minimum RGB distance between an object's mean colour and the mean colour behind it (the
    background under its box and the instances it overlaps): objects stay separable in principle."""
    low_contrast_max: float = 45.0
    """Upper bound of that distance for low-contrast objects."""
    shading_prob: float = 0.5
    """Probability of a linear shading ramp across an object (a light falling on it sideways)."""
    shading_strength: tuple[float, float] = (0.1, 0.35)
    """Relative brightness change from the centre to the edge of a shaded object."""


@dataclass(frozen=True)
class BackgroundStyle:
    """The background: a texture plus clutter (small object-like shapes that are NOT instances)."""

    kinds: tuple[str, ...] = BACKGROUND_KINDS
    contrast: tuple[float, float] = (10.0, 60.0)
    """RGB distance between the two colours of the background texture."""
    clutter_count: tuple[int, int] = (0, 40)
    clutter_size: tuple[float, float] = (0.02, 0.07)
    """Clutter diameter as a fraction of min(height, width)."""
    clutter_contrast: tuple[float, float] = (10.0, 60.0)
    """RGB distance of a clutter shape's colour from the background colour."""


@dataclass(frozen=True)
class CameraStyle:
    """Imaging effects applied after composition: lighting, blur and sensor noise."""

    gain: tuple[float, float] = (0.75, 1.25)
    """Global multiplicative exposure."""
    offset: tuple[float, float] = (-15.0, 15.0)
    """Global additive black level (0-255 scale)."""
    light_gradient: tuple[float, float] = (0.0, 0.35)
    """Relative brightness difference across the image along a random direction."""
    blur_sigma: tuple[float, float] = (0.0, 1.2)
    """Gaussian blur sigma in pixels (values below 0.3 mean no blur)."""
    noise_sigma: tuple[float, float] = (0.0, 6.0)
    """Gaussian sensor noise sigma (0-255 scale)."""
    exposure_drift: float = 0.08
    """Sequences only: relative amplitude of a slow exposure oscillation (auto-exposure)."""
    exposure_period: tuple[int, int] = (40, 120)
    """Sequences only: period of that oscillation in frames."""


@dataclass(frozen=True)
class SceneConfig:
    """A still image: how many objects, how they overlap, and how the image is styled."""

    height: int = 480
    width: int = 640
    num_objects: tuple[int, int] = (3, 8)
    objects: ObjectStyle = ObjectStyle()
    background: BackgroundStyle = BackgroundStyle()
    camera: CameraStyle = CameraStyle()
    occlusion_prob: float = 0.5
    """Probability that an object is placed overlapping an already placed (nearer) one."""
    max_occlusion: float = 0.7
    """Largest fraction of an object's silhouette that nearer objects may hide."""
    min_visible_pixels: int = 80
    """Objects with fewer visible pixels are re-placed (or dropped after `placement_attempts`)."""
    placement_attempts: int = 20
    object_depth: tuple[float, float] = (0.6, 2.0)
    """Object distance to the camera in metres (also decides the occlusion order)."""
    background_depth: tuple[float, float] = (2.5, 4.0)
    """Background plane distance in metres, far edge to near edge of the image."""
    with_depth: bool = False
    """Also render an aligned float32 depth image."""


@dataclass(frozen=True)
class MotionStyle:
    """How instances move in a sequence: smooth paths through random waypoints."""

    waypoint_interval: tuple[int, int] = (12, 30)
    """Frames between consecutive waypoints of an object's path."""
    speed: float = 0.012
    """Typical speed as a fraction of min(height, width) per frame (sets waypoint spread)."""
    rotation_speed: tuple[float, float] = (-0.04, 0.04)
    """Rotation in radians per frame."""
    scale_change: tuple[float, float] = (0.7, 1.4)
    """Range of the object's scale factor along its path."""
    shake_sigma: float = 1.5
    """Camera shake: standard deviation of the global per-frame jitter in pixels."""
    shake_smoothing: float = 0.6
    """AR(1) coefficient of the shake (0 = white jitter, near 1 = slow drift)."""


@dataclass(frozen=True)
class EventStyle:
    """Events planned into a sequence: occlusions by a dedicated occluder, crossings, exits."""

    occlusions: tuple[int, int] = (1, 2)
    """Number of occluder episodes (an occluder pillar passes in front of one object)."""
    occlusion_length: tuple[int, int] = (5, 30)
    """Frames during which the target is fully hidden by the occluder."""
    occluder_speed: float = 0.05
    """Speed of the occluder while entering/leaving, fraction of the image width per frame."""
    crossings: tuple[int, int] = (1, 2)
    """Number of planned crossings (two objects' paths meet at the same time)."""
    allow_crossings: bool = True
    """False confines every object to its own part of the image: their silhouettes never overlap."""
    exit_prob: float = 0.3
    """Probability that an object leaves the frame and comes back."""
    absence_length: tuple[int, int] = (8, 20)
    """Frames an exiting object stays entirely out of the frame (planned; the measured absences
    in `Sequence.events` differ by a few frames)."""
    enter_prob: float = 0.15
    """Probability that an object starts outside the frame and enters later."""


@dataclass(frozen=True)
class SequenceConfig:
    """A video: objects with persistent ids move, occlude each other, leave and come back."""

    height: int = 480
    width: int = 640
    num_frames: int = 60
    num_objects: tuple[int, int] = (3, 6)
    objects: ObjectStyle = ObjectStyle(size=(0.12, 0.3))
    background: BackgroundStyle = BackgroundStyle()
    camera: CameraStyle = CameraStyle()
    motion: MotionStyle = MotionStyle()
    events: EventStyle = EventStyle()
    object_depth: tuple[float, float] = (0.8, 2.0)
    background_depth: tuple[float, float] = (2.5, 4.0)
    occluder_depth: float = 0.5
    """The dedicated occluder is nearer than every object."""
    with_depth: bool = False
    occluded_visible_max: float = 0.0
    """An object counts as occluded in a frame when its visible fraction is at most this while
    some of its silhouette lies inside the frame."""
    crossing_min_overlap: float = 0.3
    """Two objects cross when their silhouettes' overlap reaches this fraction of the smaller."""
