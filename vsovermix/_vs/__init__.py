"""VapourSynth plumbing: the only package that touches VideoFrames (formats, planes, windows, props)."""
