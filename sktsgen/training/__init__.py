"""Training loops over torch modules and tensors (no scikit-learn in here)."""
