import pytest

from vsovermix.errors import (
    AlignmentError,
    ArgumentTypeError,
    BackendUnavailableError,
    ClipTooShortError,
    GpuOutOfMemoryError,
    InvalidArgumentError,
    MissingPluginError,
    MissingProgramError,
    OutputExistsError,
    UnsupportedFormatError,
    VsOvermixError,
)


@pytest.mark.parametrize(("cls", "builtin"), [
    (InvalidArgumentError, ValueError), (ArgumentTypeError, TypeError), (UnsupportedFormatError, ValueError),
    (ClipTooShortError, ValueError), (BackendUnavailableError, RuntimeError), (MissingPluginError, RuntimeError),
    (GpuOutOfMemoryError, MemoryError), (OutputExistsError, FileExistsError), (AlignmentError, ValueError),
    (MissingProgramError, RuntimeError),
])
def test_every_error_is_also_a_builtin_and_names_the_function(cls, builtin):
    error = cls("steam", "something is wrong")
    assert isinstance(error, VsOvermixError) and isinstance(error, builtin)
    assert str(error) == "(vsovermix.steam) something is wrong"


def test_function_objects_are_named_by_their_name():
    def detelecine():
        pass

    assert str(InvalidArgumentError(detelecine, "x")) == "(vsovermix.detelecine) x"


def test_check_int_messages():
    assert InvalidArgumentError.check_int("steam", "tr", 3, 1, 32) == 3
    with pytest.raises(InvalidArgumentError, match=r"^\(vsovermix\.steam\) tr must be in \[1, 32\], got 40$"):
        InvalidArgumentError.check_int("steam", "tr", 40, 1, 32)
    with pytest.raises(InvalidArgumentError, match=r"got 0; lower it"):
        InvalidArgumentError.check_int("steam", "tr", 0, 1, 32, fix="lower it")
    with pytest.raises(ArgumentTypeError, match=r"tr must be int, got str '3'"):
        InvalidArgumentError.check_int("steam", "tr", "3", 1, 32)


def test_check_choice_lists_the_allowed_values():
    assert InvalidArgumentError.check_choice("steam", "mode", "min", ("min", "max")) == "min"
    with pytest.raises(InvalidArgumentError, match=r"mode must be one of 'min', 'max', got None"):
        InvalidArgumentError.check_choice("steam", "mode", None, ("min", "max"))
