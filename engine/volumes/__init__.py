"""The ``Volume`` type (HU, spacing, LPS affine) and the preprocessing that turns one into network input."""
