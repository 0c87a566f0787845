"""Search spaces: the network supernet (`network`), its config (`config`), the accelerator (`accel`)."""
