"""The ``vsovermix`` command: ``stitch`` (a pan into one PNG), ``doctor`` (what is installed and which backend
runs) and ``demo``."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import warnings
from collections.abc import Sequence

__all__ = ["doctor_report", "main"]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def doctor_report() -> list[tuple[str, str]]:
    """(label, value) rows: Python, VapourSynth, plugins, NumPy/SciPy/CuPy, CUDA, GPU, resolved backend."""
    import numpy
    import scipy
    import vapoursynth as vs

    from .backend import ENV_VAR, Backend, probe_cupy, resolve_backend

    core = vs.core
    version = core.core_version
    probe = probe_cupy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resolved = resolve_backend(Backend.AUTO, "doctor")
    rows = [
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("vsovermix", _version("vsovermix")),
        ("vapoursynth core", f"R{version.release_major}.{version.release_minor}"),
        ("vapoursynth api", f"{vs.__api_version__.api_major}.{vs.__api_version__.api_minor}"),
        ("vapoursynth threads", str(core.num_threads)),
        ("plugin namespaces", " ".join(sorted(p.namespace for p in core.plugins()))),
        ("numpy", numpy.__version__),
        ("scipy", scipy.__version__),
        ("cupy", probe.cupy_version or "not installed"),
        ("cuda runtime", _cuda_version(probe.runtime_version)),
        ("cuda driver", _cuda_version(probe.driver_version)),
        ("gpu", f"{probe.device_name} ({probe.device_memory / 2**30:.1f} GiB)" if probe.usable else
         f"none usable: {probe.reason}"),
        (f"backend auto resolves to ({ENV_VAR}={os.environ.get(ENV_VAR, '')!r})", resolved.value),
    ]
    return rows


def _cuda_version(number: int | None) -> str:
    if number is None:
        return "unknown"
    if number == 0:
        return "none (no driver)"
    return f"{number // 1000}.{number % 1000 // 10}"


def _doctor(_: argparse.Namespace) -> int:
    rows = doctor_report()
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    result = run_demo(args.output_dir, frames=args.frames, tr=args.tr, backend=args.backend)
    pan = result.pan
    print(f"steam removal, tr={result.tr}, {result.frames} frames: PSNR against the clean frames "
          f"{result.psnr_before:.2f} dB -> {result.psnr_after:.2f} dB")
    print(f"pan of {result.frames} frames (x264, steam, noise): offset error median {pan.offset_error_median:.4f} px, "
          f"max {pan.offset_error_max:.4f} px; PSNR one frame {pan.psnr_frame:.2f} dB -> "
          f"still {pan.psnr_still:.2f} dB (4:2:0 caps it at {pan.psnr_cap:.2f} dB)")
    ivtc = result.telecine
    print(f"telecine with a mid-cycle cut, {ivtc.frames_in} frames ({ivtc.combed_in} combed) -> {ivtc.frames_out}: "
          f"{ivtc.exact} exact film frames, {ivtc.duplicates} duplicates, {ivtc.interpolated} interpolated")
    print(f"wrote {len(result.files)} files into {result.output_dir.resolve()}:")
    for path in result.files:
        print(f"  {path.name}")
    return 0


def _stitch(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np
    import vapoursynth as vs

    from . import stitch
    from ._png import write_png
    from ._sources import open_inputs
    from ._vs.frames import plane_view
    from .errors import InvalidArgumentError, OutputExistsError

    name = "stitch"
    output = Path(args.output)
    if output.exists() and not args.force:
        raise OutputExistsError(name, f"{str(output)!r} exists; pass --force to replace it")
    if not output.parent.is_dir():
        raise InvalidArgumentError(name, f"the folder of {str(output)!r} does not exist; create it first")
    clip = open_inputs(args.inputs, name)
    end = clip.num_frames if args.end is None else args.end
    if not 0 <= args.start < end <= clip.num_frames:
        raise InvalidArgumentError(name, f"--start/--end must satisfy 0 <= start < end <= {clip.num_frames} (the "
                                         f"input's frame count), got {args.start} and {end}")
    clip = clip[args.start:end]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no usable GPU.*")
        still = stitch(clip, render=args.render, scale=args.scale, kernel=args.kernel, neighbours=args.neighbours,
                       mask=args.mask, non_translation=args.non_translation, backend=args.backend,
                       depth=16 if args.bits == 16 else None, progress=None)
    fmt = still.format
    if fmt.color_family == vs.YUV or fmt.bits_per_sample != args.bits or fmt.sample_type != vs.INTEGER:
        family = vs.GRAY if fmt.color_family == vs.GRAY else vs.RGB
        target = vs.core.query_video_format(family, vs.INTEGER, args.bits, 0, 0)
        matrix = {}
        if fmt.color_family == vs.YUV:
            # The still carries frame 0's props and resize reads its _Matrix; guess only where it is unset.
            # (Asking the still itself would composite it twice.)
            with clip.get_frame(0) as frame:
                if int(frame.props.get("_Matrix", vs.MATRIX_UNSPECIFIED)) == vs.MATRIX_UNSPECIFIED:
                    matrix = {"matrix_in_s": "709" if clip.height >= 600 else "170m"}
        still = still.resize.Spline36(format=target.id, dither_type="error_diffusion", **matrix)
    with still.get_frame(0) as frame:
        planes = [np.array(plane_view(frame, p)) for p in range(frame.format.num_planes)]
        props = dict(frame.props)
    image = np.stack(planes, axis=-1)
    write_png(output, image, overwrite=args.force)
    print(f"stitched {clip.num_frames} frames ({args.render}) into {image.shape[1]}x{image.shape[0]}: {output} "
          f"(offsets x {props['OvrOffsetMinX']:.2f}..{props['OvrOffsetMaxX']:.2f}, "
          f"y {props['OvrOffsetMinY']:.2f}..{props['OvrOffsetMaxY']:.2f} px; "
          f"{100 * props['OvrCoverage']:.1f}% covered)")
    return 0


def _rect(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,width,height (integers), got {text!r}") from None
    return x, y, w, h


def build_parser() -> argparse.ArgumentParser:
    from .ops.resample import KERNELS
    from .ops.stitch import STITCH_RENDERS

    parser = argparse.ArgumentParser(prog="vsovermix", description="Multi-frame restoration of anime video.")
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="print versions, plugins, GPU and the backend 'auto' resolves to")
    doctor.set_defaults(run=_doctor)
    demo = commands.add_parser("demo", help="remove moving steam, stitch a camera pan and undo telecine, on clips "
                                            "built from the bundled samples")
    demo.add_argument("--output-dir", default="demo-output",
                      help="folder for the demo's files (default: demo-output); only its own files are replaced")
    demo.add_argument("--frames", type=int, default=24, help="clip length, 8-240 (default 24)")
    demo.add_argument("--tr", type=int, default=3, help="steam's temporal radius, 1-3 (default 3)")
    demo.add_argument("--backend", default="auto", choices=["auto", "cupy", "numpy"])
    demo.set_defaults(run=_demo)
    stitch = commands.add_parser("stitch", help="stitch a camera pan (video, images or .vpy) into one PNG still")
    stitch.add_argument("inputs", nargs="+", help="a video file (needs vapoursynth-bestsource), a .vpy script "
                        "(output 0), or image files / a quoted glob such as 'frames/*.png'")
    stitch.add_argument("-o", "--output", required=True, help="the PNG to write (never replaced without --force)")
    stitch.add_argument("--start", type=int, default=0, help="first frame of the pan (default 0)")
    stitch.add_argument("--end", type=int, default=None, help="frame after the last one (default: the end)")
    stitch.add_argument("--render", default="average", choices=STITCH_RENDERS,
                        help="how frames combine (sr: super-resolution, --scale times larger; jpeg: JPEG "
                        "blocks estimated away, tables read from the files)")
    stitch.add_argument("--scale", type=int, default=2, help="with --render sr: the factor, 2-4 (default 2)")
    stitch.add_argument("--bits", type=int, default=8, choices=[8, 16], help="PNG bit depth (default 8)")
    stitch.add_argument("--kernel", default="lanczos3", choices=list(KERNELS))
    stitch.add_argument("--neighbours", type=int, default=3, help="frames each frame is measured against (1-8)")
    stitch.add_argument("--mask", type=_rect, action="append", help="x,y,width,height to ignore in alignment "
                        "(repeatable), besides the logos and subtitles found automatically")
    stitch.add_argument("--non-translation", default="warn", choices=["warn", "error", "ignore"],
                        help="when parts of frames move differently (zoom, rotation, parallax)")
    stitch.add_argument("--backend", default="auto", choices=["auto", "cupy", "numpy"])
    stitch.add_argument("--force", action="store_true", help="replace the output if it exists")
    stitch.set_defaults(run=_stitch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo" and not (8 <= args.frames <= 240 and 1 <= args.tr <= 3):
        parser.error(f"demo: --frames must be in [8, 240] and --tr in [1, 3], got {args.frames} and {args.tr}")
    from .errors import VsOvermixError

    try:
        return args.run(args)
    except VsOvermixError as exc:
        print(f"vsovermix: error: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:  # the output appeared while we worked: it was not replaced
        print(f"vsovermix: error: {exc}; pass --force to replace it", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vsovermix: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
