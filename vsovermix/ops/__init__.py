"""Array algorithms on NumPy or CuPy arrays (the result lives where the input does). Never imports vapoursynth."""
