"""Constant-velocity Kalman filter on a box's centre and size: where to prompt an object next.

The four coordinates (cx, cy, w, h) move independently under the same model, and the noise is
expressed relative to the box scale, so the four 1-D filters share one 2x2 covariance. Keeping one
covariance instead of an 8x8 one makes predict/update a handful of scalar operations, which matters
because it runs for every object on every frame.
"""

from __future__ import annotations

import numpy as np

from .config import TrackerConfig


def box_to_state(box: np.ndarray) -> np.ndarray:
    """(x1, y1, x2, y2) -> (cx, cy, w, h)."""
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dtype=np.float64)


def state_to_box(state: np.ndarray) -> np.ndarray:
    """(cx, cy, w, h) -> (x1, y1, x2, y2)."""
    cx, cy, w, h = state
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float64)


class BoxKalman:
    """Tracks (cx, cy, w, h) and their per-frame velocities from noisy mask boxes."""

    def __init__(self, box: np.ndarray, config: TrackerConfig) -> None:
        self._config = config
        self.reset(box)

    def reset(self, box: np.ndarray) -> None:
        """Start from `box` (birth, re-acquisition, user correction) with an unknown velocity."""
        self.position = box_to_state(box)  # cx, cy, w, h
        self.velocity = np.zeros(4)
        #: False until a measurement after the (re)start has set the velocity: until then the
        #: prediction is just the last box, and a fast object is already elsewhere.
        self.settled = False
        # Unknown velocity: a large variance lets the first measurements set it.
        noise = self._config.motion_measurement_noise
        self._cov = np.array([[noise**2, 0.0], [0.0, 1.0]]) * self._scale() ** 2

    def _scale(self) -> float:
        return float(np.sqrt(max(self.position[2], 1.0) * max(self.position[3], 1.0)))

    @property
    def box(self) -> np.ndarray:
        """The current estimate as (x1, y1, x2, y2)."""
        return state_to_box(self.position)

    def predict(self) -> np.ndarray:
        """Advance one frame; returns the predicted box."""
        c = self._config
        self.position = self.position + self.velocity
        self.position[2:] = np.maximum(self.position[2:], 1.0)
        (p00, p01), (_, p11) = self._cov
        q = self._scale() ** 2
        self._cov = np.array(
            [
                [p00 + 2 * p01 + p11 + q * c.motion_position_noise**2, p01 + p11],
                [p01 + p11, p11 + q * c.motion_velocity_noise**2],
            ]
        )
        return self.box

    def update(self, box: np.ndarray, learn_velocity: bool = True) -> None:
        """Correct the prediction with a measured box.

        `learn_velocity=False` corrects the position only: the box of a partly hidden object
        moves with the occluder's edge, not with the object, and must not teach the velocity
        that will carry the object through the occlusion.
        """
        self.settled = True
        innovation = box_to_state(box) - self.position
        (p00, p01), (_, p11) = self._cov
        s = p00 + self._scale() ** 2 * self._config.motion_measurement_noise**2
        k0, k1 = p00 / s, (p01 / s if learn_velocity else 0.0)
        self.position = self.position + k0 * innovation
        self.velocity = self.velocity + k1 * innovation
        self._cov = np.array([[(1 - k0) * p00, (1 - k0) * p01], [(1 - k0) * p01, p11 - k1 * p01]])

    def coast(self) -> None:
        """No measurement this frame: damp the motion so long coasts stop drifting.

        The size velocity is dropped outright: a box shrinking because the object slides behind
        an occluder would otherwise keep shrinking to nothing while nobody can see it.
        """
        self.velocity[:2] *= self._config.coast_velocity_decay
        self.velocity[2:] = 0.0
