"""The joint search: sampling, the accelerator search engine, the joint loop, the CLI verb."""
