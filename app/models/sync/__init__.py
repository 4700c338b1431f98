"""Sync between an office's PCs by USB stick: bundles, the field-level merge, roll-up."""
