"""Data files shipped with marco: the model registry (`models.yaml`) and other tables."""
