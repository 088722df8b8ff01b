"""The face model, the tracker and the stabiliser: frames in, steady faces out."""
