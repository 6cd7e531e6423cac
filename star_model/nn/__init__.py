"""The STAR network: configs, the CLIP towers, descriptors, TSA, STPR (Mamba), the model, checkpoints, the bundled file."""
