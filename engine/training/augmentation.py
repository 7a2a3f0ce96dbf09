"""Training-time augmentation with MONAI: random intensity scale and shift, and Gaussian noise.

The random crop is done by the preprocessing cache (``RandSpatialCrop``, seeded per study and
epoch); this adds the intensity side on the cropped ``[C, X, Y, Z]`` array. No flips: left/right
matters in chest CT reports (a left pleural effusion), and rotations would resample again. Each
call is seeded, so a resumed run (same seed, same epoch, same study) sees exactly the same input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: (probability, range) of each random transform; ranges are in network-input units, where the
#: seed window maps 1200 HU to 2, so 0.05 is about 30 HU.
SCALE = (0.5, 0.1)  # v * (1 + U(-0.1, 0.1))
SHIFT = (0.5, 0.05)  # v + U(-0.05, 0.05)
NOISE = (0.5, 0.02)  # v + N(0, U(0, 0.02))


def chain() -> Any:
    """The MONAI ``Compose`` of the three random intensity transforms."""
    from monai.transforms import Compose, RandGaussianNoise, RandScaleIntensity, RandShiftIntensity

    return Compose(
        [
            RandScaleIntensity(factors=SCALE[1], prob=SCALE[0]),
            RandShiftIntensity(offsets=SHIFT[1], prob=SHIFT[0]),
            RandGaussianNoise(prob=NOISE[0], mean=0.0, std=NOISE[1]),
        ]
    )


def augment(image: np.ndarray, seed: int) -> np.ndarray:
    """``image`` ``[C, X, Y, Z]`` float32 with the seeded random intensity transforms applied."""
    import torch

    transforms = chain()
    transforms.set_random_state(seed=seed)
    with torch.no_grad():
        out = transforms(torch.from_numpy(np.ascontiguousarray(image)))
    return np.ascontiguousarray(np.asarray(out), dtype=np.float32)
