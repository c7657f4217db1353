"""VapourSynth-facing filters: validate once at call time, wire frames and props; no pixel maths here."""
