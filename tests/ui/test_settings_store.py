"""SettingsStore: view settings, recent files, geometry and dialogs in an INI file.

Every test uses its own INI file in ``tmp_path``, never the user's settings.
QSettings caches a file's parsed values per process, so tests that must see
the text parsed again (as the next run of the app does) read a copy of the
file under a new name.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings

from spectroview.dsp import SpectrogramParams
from spectroview.session.settings import ViewSettings
from spectroview.ui.settings_store import MAX_RECENT, SCHEMA_VERSION, SettingsStore


@pytest.fixture
def ini(tmp_path: Path, qapp: object) -> Path:
    """Path of a fresh INI file (a QCoreApplication exists, to be safe)."""
    return tmp_path / "s.ini"


_copies = itertools.count()


def _store(path: Path) -> SettingsStore:
    return SettingsStore(QSettings(str(path), QSettings.Format.IniFormat))


def _reparsed(path: Path) -> SettingsStore:
    """A store on a copy of ``path``: its text is parsed anew, as in a new process."""
    copy = path.with_name(f"copy-{next(_copies)}-{path.name}")
    shutil.copyfile(path, copy)
    return _store(copy)


def _custom_view() -> ViewSettings:
    params = SpectrogramParams(
        n_fft=4096,
        hop_length=1024,
        win_length=2048,
        window="hamming",
        scale="mel",
        n_mels=64,
        fmin=30.0,
        fmax=7999.5,
        htk=True,
        bins_per_octave=24,
    )
    return ViewSettings(
        params=params, colormap="viridis", db_floor=-72.5, db_ceiling=-6.0, channel=1, hop_locked=False, reassigned=True
    )


def _make_files(directory: Path, count: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        f = directory / f"take {i}.wav"
        f.write_bytes(b"RIFF")
        files.append(f)
    return files


# -- view settings ---------------------------------------------------------------
def test_fresh_store_loads_defaults(ini: Path) -> None:
    store = _store(ini)
    assert store.stored_schema() is None
    assert store.load_view() == ViewSettings()


def test_view_round_trip_through_a_new_qsettings(ini: Path) -> None:
    view = _custom_view()
    custom, default = view.to_dict(), ViewSettings().to_dict()
    assert [name for name in default if custom[name] == default[name]] == []  # every field non-default
    store = _store(ini)
    store.save_view(view)
    store.sync()
    assert ini.is_file()

    assert _store(ini).load_view() == view
    assert _store(ini).stored_schema() == SCHEMA_VERSION


def test_view_round_trip_through_the_ini_text(ini: Path) -> None:
    view = _custom_view()
    store = _store(ini)
    store.save_view(view)
    store.sync()

    loaded = _reparsed(ini).load_view()
    assert loaded == view
    assert loaded.params.fmax == 7999.5  # text "7999.5" for a None-default field is a float again
    assert isinstance(loaded.params.n_fft, int)


def test_view_is_stored_as_plain_readable_values(ini: Path) -> None:
    view = dataclasses.replace(_custom_view(), channel=None)
    view = dataclasses.replace(view, params=dataclasses.replace(view.params, fmax=None, win_length=None))
    store = _store(ini)
    store.save_view(view)
    store.sync()

    text = ini.read_text()
    for line in ("schema=1", "n_fft=4096", "scale=mel", "colormap=viridis", "channel=none", "fmax=none"):
        assert line in text.splitlines(), f"{line!r} not in\n{text}"
    assert "@Variant" not in text
    assert _reparsed(ini).load_view() == view


def test_saving_again_replaces_the_old_view(ini: Path) -> None:
    store = _store(ini)
    store.save_view(_custom_view())
    store.save_view(ViewSettings())
    store.sync()
    assert _reparsed(ini).load_view() == ViewSettings()


def test_save_view_drops_stale_view_keys(ini: Path) -> None:
    ini.write_text("[General]\nschema=1\n\n[view]\nretired_option=42\nn_fft=4096\n")
    store = _store(ini)
    store.save_view(ViewSettings())
    store.sync()
    text = ini.read_text()
    assert "retired_option" not in text
    assert "n_fft=2048" in text.splitlines()


def test_unexpected_errors_in_from_dict_cost_only_their_field(ini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini.write_text("[General]\nschema=1\n\n[view]\nn_fft=4096\nwindow=hamming\n")
    original = ViewSettings.from_dict.__func__  # type: ignore[attr-defined]

    def fragile(cls: type[ViewSettings], values: dict[str, object]) -> ViewSettings:
        if "window" in values:
            raise AttributeError("simulated bug")
        return original(cls, values)

    monkeypatch.setattr(ViewSettings, "from_dict", classmethod(fragile))
    view = _store(ini).load_view()
    assert view.params.n_fft == 4096
    assert view.params.window == "hann"


def test_corrupt_values_fall_back_field_by_field(ini: Path) -> None:
    ini.write_bytes(
        b"[General]\n"
        b"schema=1\n"
        b"\n"
        b"[view]\n"
        b"n_fft=abc\n"
        b"hop_length=256\n"
        b"scale=mel\n"
        b"n_mels=-3\n"
        b"colormap=jet\n"
        b"db_floor=5\n"
        b"db_ceiling=0\n"
        b"\x00\xff\xfe\x80=\x01\x02junk\xc3(\n"
        b"channel=2\n"
        b"hop_locked=false\n"
        b"fmin=1,2\n"
        b"fmax=@ByteArray(xyz)\n"
        b"window=hamming\n"
    )
    store = _store(ini)
    view = store.load_view()
    default = ViewSettings()

    # Garbage: the default.
    assert view.params.n_fft == default.params.n_fft
    assert view.params.n_mels == default.params.n_mels
    assert view.colormap == default.colormap
    assert view.db_floor == default.db_floor  # 5 dBFS is not below the 0 dBFS ceiling
    assert view.params.fmin == default.params.fmin  # "1,2" reads as a list
    assert view.params.fmax == default.params.fmax  # a byte array
    # Valid, also after the binary line: kept.
    assert view.params.hop_length == 256
    assert view.params.scale == "mel"
    assert view.db_ceiling == 0.0
    assert view.channel == 2
    assert view.hop_locked is False
    assert view.params.window == "hamming"


@pytest.mark.parametrize("schema", [None, "999", "2", "0", "abc", "1.5", "true", ""])
def test_outdated_or_garbage_schema_loads_default_view(ini: Path, schema: str | None) -> None:
    head = b"" if schema is None else b"[General]\nschema=" + schema.encode() + b"\n\n"
    ini.write_bytes(head + b"[view]\nn_fft=4096\ncolormap=viridis\nchannel=1\n")
    store = _store(ini)
    assert store.stored_schema() != SCHEMA_VERSION
    assert store.load_view() == ViewSettings()


def test_the_same_values_load_under_the_current_schema(ini: Path) -> None:
    # Guards the test above: these values are valid, only the schema rejects them.
    ini.write_bytes(b"[General]\nschema=1\n\n[view]\nn_fft=4096\ncolormap=viridis\nchannel=1\n")
    view = _store(ini).load_view()
    assert (view.params.n_fft, view.colormap, view.channel) == (4096, "viridis", 1)


def test_newer_schema_still_gives_valid_recent_files(ini: Path, tmp_path: Path) -> None:
    (existing,) = _make_files(tmp_path / "audio", 1)
    ini.write_text(f'[General]\nschema=999\n\n[recent]\nfiles="{existing}", {tmp_path / "gone.wav"}\n')
    store = _store(ini)
    assert store.load_view() == ViewSettings()
    assert store.recent_files() == [str(existing.resolve())]


def test_unreadable_file_loads_defaults_without_raising(ini: Path) -> None:
    ini.write_bytes(random.Random(1234).randbytes(8192))
    store = _store(ini)
    assert store.load_view() == ViewSettings()
    assert store.recent_files() == []
    assert store.load_geometry("main") is None
    assert store.last_directory == str(Path.home())

    # The store is still usable: what is saved now loads back.
    store.save_view(_custom_view())
    store.sync()
    assert _reparsed(ini).load_view() == _custom_view()


def test_directory_instead_of_file_loads_defaults(tmp_path: Path, qapp: object) -> None:
    path = tmp_path / "s.ini"
    path.mkdir()
    store = _store(path)
    assert store.load_view() == ViewSettings()
    assert store.recent_files() == []


# -- recent files ----------------------------------------------------------------
def test_recent_files_most_recent_first(ini: Path, tmp_path: Path) -> None:
    a, b, c = _make_files(tmp_path / "audio", 3)
    store = _store(ini)
    assert store.recent_files() == []
    for f in (a, b, c):
        store.add_recent(f)
    assert store.recent_files() == [str(c), str(b), str(a)]


def test_recent_files_dedupe_by_resolved_path(ini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _make_files(tmp_path / "audio", 2)
    link = tmp_path / "link.wav"
    link.symlink_to(a)
    monkeypatch.chdir(tmp_path)
    store = _store(ini)
    store.add_recent(a)
    store.add_recent(b)
    store.add_recent(Path("audio") / ".." / "audio" / a.name)  # relative, with ".."
    assert store.recent_files() == [str(a), str(b)]
    store.add_recent(str(b))
    store.add_recent(link)  # a symlink to a
    assert store.recent_files() == [str(a), str(b)]


def test_recent_files_keep_at_most_max(ini: Path, tmp_path: Path) -> None:
    files = _make_files(tmp_path / "audio", MAX_RECENT + 3)
    store = _store(ini)
    for f in files:
        store.add_recent(f)
    assert MAX_RECENT == 10
    assert store.recent_files() == [str(f) for f in reversed(files)][:MAX_RECENT]


def test_recent_files_drop_missing_files(ini: Path, tmp_path: Path) -> None:
    a, b, c = _make_files(tmp_path / "audio", 3)
    store = _store(ini)
    for f in (a, b, c):
        store.add_recent(f)
    b.unlink()
    assert store.recent_files() == [str(c), str(a)]
    store.add_recent(tmp_path / "never-existed.wav")
    assert store.recent_files() == [str(c), str(a)]
    (tmp_path / "audio" / "dir.wav").mkdir()
    store.add_recent(tmp_path / "audio" / "dir.wav")  # a directory is not a file
    assert store.recent_files() == [str(c), str(a)]


def test_recent_files_survive_the_ini_text(ini: Path, tmp_path: Path) -> None:
    (single,) = _make_files(tmp_path / "with, comma", 1)
    store = _store(ini)
    store.add_recent(single)  # one entry: the INI backend reads it back as a plain string
    store.sync()
    assert _reparsed(ini).recent_files() == [str(single)]

    (other,) = _make_files(tmp_path / "plain", 1)
    store.add_recent(other)
    store.sync()
    assert _reparsed(ini).recent_files() == [str(other), str(single)]


def test_garbage_recent_entries_are_ignored(ini: Path, tmp_path: Path) -> None:
    (good,) = _make_files(tmp_path / "audio", 1)
    ini.write_text(f"[recent]\nfiles=, @ByteArray(x), {good}, {good}, relative/nothing.wav\n")
    assert _store(ini).recent_files() == [str(good)]


def test_clear_recent(ini: Path, tmp_path: Path) -> None:
    (a,) = _make_files(tmp_path / "audio", 1)
    store = _store(ini)
    store.add_recent(a)
    store.sync()
    assert _reparsed(ini).recent_files() == [str(a)]
    store.clear_recent()
    assert store.recent_files() == []
    store.sync()
    assert _reparsed(ini).recent_files() == []


# -- geometry ----------------------------------------------------------------------
def test_geometry_round_trip(ini: Path) -> None:
    blob = QByteArray(bytes(range(256)) + b"\x00\x00tail")
    store = _store(ini)
    store.save_geometry("main", blob)
    store.save_geometry("state", QByteArray(b"state"))
    store.sync()

    assert _store(ini).load_geometry("main") == blob
    reparsed = _reparsed(ini)
    assert reparsed.load_geometry("main") == blob
    assert reparsed.load_geometry("state") == QByteArray(b"state")


def test_geometry_missing_or_wrong_type_is_none(ini: Path) -> None:
    ini.write_text("[geometry]\ntext=not bytes\nnumber=12\nempty=@ByteArray()\n")
    store = _store(ini)
    assert store.load_geometry("main") is None
    assert store.load_geometry("text") is None
    assert store.load_geometry("number") is None
    assert store.load_geometry("empty") is None


@pytest.mark.parametrize("name", ["", "a/b", "a\\b"])
def test_geometry_rejects_bad_names(ini: Path, name: str) -> None:
    with pytest.raises(ValueError, match="name="):
        _store(ini).save_geometry(name, QByteArray(b"x"))


# -- last directory ------------------------------------------------------------------
def test_last_directory_defaults_to_home(ini: Path) -> None:
    assert _store(ini).last_directory == str(Path.home())


def test_last_directory_round_trip(ini: Path, tmp_path: Path) -> None:
    directory = tmp_path / "audio"
    directory.mkdir()
    store = _store(ini)
    store.last_directory = str(directory)
    store.sync()
    assert _reparsed(ini).last_directory == str(directory.resolve())


def test_last_directory_of_a_file_is_its_folder(ini: Path, tmp_path: Path) -> None:
    (f,) = _make_files(tmp_path / "audio", 1)
    store = _store(ini)
    store.last_directory = str(f)
    assert store.last_directory == str(f.parent)


def test_last_directory_gone_falls_back_to_nearest_parent(ini: Path, tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    store = _store(ini)
    store.last_directory = str(deep)
    shutil.rmtree(tmp_path / "a" / "b")
    assert store.last_directory == str(tmp_path / "a")


@pytest.mark.parametrize("stored", ["relative/dir", "", "1,2", "@ByteArray(x)"])
def test_last_directory_garbage_is_home(ini: Path, stored: str) -> None:
    ini.write_text(f"[dialogs]\nlast_directory={stored}\n")
    assert _store(ini).last_directory == str(Path.home())


# -- default store -------------------------------------------------------------------
def test_default_store_is_the_users_spectroview_store(tmp_path: Path) -> None:
    # In a child process with its own HOME, so the real user store is never touched.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    code = (
        "from spectroview.ui.settings_store import SettingsStore\n"
        "from spectroview.session.settings import ViewSettings\n"
        "s = SettingsStore()\n"
        "s.save_view(ViewSettings(colormap='plasma'))\n"
        "s.sync()\n"
        "print(s.settings.organizationName(), s.settings.applicationName())\n"
        "print(s.settings.fileName())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=Path.cwd()
    )
    names, filename = out.stdout.splitlines()
    assert names == "Spectroview Spectroview"
    path = Path(filename)
    assert path.is_relative_to(tmp_path) and path.is_file()
    assert _store(path).load_view().colormap == "plasma"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b"db_floor=-inf", "db_floor"),
        (b"db_floor=nan", "db_floor"),
        (b"db_ceiling=inf", "db_ceiling"),
        (b"hop_length=4611686018427387904", "hop_length"),
        (b"n_mels=1000000", "n_mels"),
        (b"bins_per_octave=100000", "bins_per_octave"),
        (b"n_fft=1e400", "n_fft"),
    ],
)
def test_out_of_bounds_values_take_their_default_with_one_logged_line(
    ini: Path, line: bytes, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    ini.write_bytes(b"[General]\nschema=1\n\n[view]\nscale=mel\n" + line + b"\n")
    with caplog.at_level("WARNING"):
        view = _store(ini).load_view()
    default = ViewSettings()
    assert view.to_dict()[field] == default.to_dict()[field]
    assert view.params.scale == "mel"  # the good value next to it is kept
    logged = [r.getMessage() for r in caplog.records if "out of bounds" in r.getMessage()]
    assert len(logged) == 1 and field in logged[0]
    # And the viewer starts on it, drawing a file at once (no hang, no huge allocation).
    view.params.with_sr(44100)


def test_a_fifo_where_the_settings_file_is_does_not_hang_the_start(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "Spectroview"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "Spectroview.conf")
    code = (
        "from PySide6.QtCore import QCoreApplication; app = QCoreApplication([]);"
        "from spectroview.ui.settings_store import SettingsStore; s = SettingsStore();"
        "print(s.settings.fileName()); print(s.load_view().params.n_fft)"
    )
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    name, n_fft = proc.stdout.split()
    assert name.endswith("settings.ini") and "Spectroview.conf" not in name and n_fft == "2048"
    assert "is not a regular file" in proc.stderr


def test_export_options_persist_and_bad_stored_values_fall_back(ini: Path) -> None:
    store = SettingsStore(QSettings(str(ini), QSettings.Format.IniFormat))
    assert store.export_width is None and store.export_dpi == 96
    store.export_width, store.export_dpi = 2400, 300
    store.sync()
    again = SettingsStore(QSettings(str(ini), QSettings.Format.IniFormat))
    assert again.export_width == 2400 and again.export_dpi == 300
    for width, dpi in (("wide", "x"), (99999, 0), (-5, 10**9)):
        again.settings.setValue("export/image_width", width)
        again.settings.setValue("export/image_dpi", dpi)
        assert again.export_width is None and again.export_dpi == 96
