"""Quantisation-aware training of a DesignPoint and its integer export (`codesign train`)."""
