"""Training on the store's labels: dataset, MONAI transforms, supervised and CLIP models, registry.

torch and monai are the ``[train]`` extra; only this package and ``export`` import them.
"""
