"""Pure torch modules (no scikit-learn in here). Windows are channel-last (batch, seq, feat)."""
