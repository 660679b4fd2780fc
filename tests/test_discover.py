"""File discovery: order, skipping rules, symlinks, decoding, read problems as Diagnostics."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from codegen.config import Config
from codegen.scan.discover import discover, is_excluded, read_source


def make(root: Path, files: dict[str, bytes | str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)


def run(root: Path, paths=("models",), **settings):
    return discover(list(paths), Config(root=str(root), **settings))


def test_sorted_relative_posix_paths_with_text_and_digest(tmp_path: Path) -> None:
    make(tmp_path, {"models/b.py": "b = 1\n", "models/a/z.py": "z = 2\n", "models/a.py": "a = 3\n"})
    files, diagnostics = run(tmp_path)
    assert diagnostics == ()
    assert [f.path for f in files] == ["models/a.py", "models/a/z.py", "models/b.py"]
    first = files[0]
    assert first.text == "a = 3\n"
    assert first.digest == hashlib.sha256(b"a = 3\n").hexdigest()
    assert first.abspath == str(tmp_path / "models" / "a.py")
    assert first.diagnostics == ()


def test_skips_hidden_caches_venvs_output_cache_and_non_python(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "models/keep.py": "",
            "models/.hidden/x.py": "",
            "models/__pycache__/x.py": "",
            "models/venv/x.py": "",
            "models/env/x.py": "",
            "models/node_modules/x.py": "",
            "models/lib/site-packages/x.py": "",
            "models/myenv/pyvenv.cfg": "home = /usr\n",
            "models/myenv/lib/x.py": "",
            "models/notes.txt": "",
            "models/gen/out.py": "",
            "models/cache/facts.py": "",
            "models/.hidden_file_is_fine.py": "",
        },
    )
    files, _ = run(tmp_path, paths=["."], output="models/gen", cache_dir="models/cache")
    assert [f.path for f in files] == ["models/.hidden_file_is_fine.py", "models/keep.py"]


def test_exclude_globs_match_path_prefixes_and_components(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "models/a.py": "",
            "models/legacy/old.py": "",
            "models/sub/legacy/old.py": "",
            "models/sub/test_a.py": "",
            "models/exp/x.py": "",
        },
    )
    files, _ = run(tmp_path, exclude=("legacy", "test_*.py", "models/exp"))
    assert [f.path for f in files] == ["models/a.py"]
    assert is_excluded("models/exp/deep/x.py", ["models/exp"])
    assert is_excluded("models/exp/deep/x.py", ["models/*"])
    assert not is_excluded("models/exp.py", ["models/exp"])
    assert not is_excluded("models/a.py", [])


def test_explicit_paths_skip_name_rules_but_dedupe_and_sort(tmp_path: Path) -> None:
    make(tmp_path, {"models/a.py": "", "models/.secret/s.py": "", "other/o.py": ""})
    files, diagnostics = run(
        tmp_path, paths=["other/o.py", "models", "models/a.py", "models/.secret"]
    )
    assert diagnostics == ()
    assert [f.path for f in files] == ["models/.secret/s.py", "models/a.py", "other/o.py"]


def test_output_dir_is_skipped_even_when_named_explicitly(tmp_path: Path) -> None:
    make(tmp_path, {"models/a.py": "", "generated/layers_common.py": ""})
    files, _ = run(tmp_path, paths=[".", "generated", "generated/layers_common.py"])
    assert [f.path for f in files] == ["models/a.py"]


def test_missing_path_argument_is_cg101_error(tmp_path: Path) -> None:
    make(tmp_path, {"models/a.py": ""})
    files, diagnostics = run(tmp_path, paths=["models", "nope", "also/missing.py"])
    assert [f.path for f in files] == ["models/a.py"]
    assert [(d.code, d.severity, d.path) for d in diagnostics] == [
        ("CG101", "error", "nope"),
        ("CG101", "error", "also/missing.py"),
    ]


def test_absolute_paths_and_paths_outside_root_stay_relative(tmp_path: Path) -> None:
    make(tmp_path, {"project/models/a.py": "", "outside/b.py": ""})
    root = tmp_path / "project"
    files, _ = discover([str(root / "models"), "../outside"], Config(root=str(root)))
    assert [f.path for f in files] == ["../outside/b.py", "models/a.py"]
    assert not any(os.path.isabs(f.path) for f in files)


def test_symlink_loop_is_a_warning_and_each_file_appears_once(tmp_path: Path) -> None:
    make(tmp_path, {"models/a.py": "", "models/sub/b.py": ""})
    os.symlink("..", tmp_path / "models" / "sub" / "up")
    os.symlink("sub", tmp_path / "models" / "alias")
    files, diagnostics = run(tmp_path)
    assert [f.path for f in files] == ["models/a.py", "models/sub/b.py"]
    assert [(d.code, d.severity, d.path) for d in diagnostics] == [
        ("CG105", "warning", "models/sub/up"),
    ]


def test_symlinked_folder_outside_is_followed(tmp_path: Path) -> None:
    make(tmp_path, {"models/a.py": "", "shared/s.py": "s = 1\n"})
    os.symlink(tmp_path / "shared", tmp_path / "models" / "shared")
    files, diagnostics = run(tmp_path)
    assert diagnostics == ()
    assert [f.path for f in files] == ["models/a.py", "models/shared/s.py"]
    assert files[1].text == "s = 1\n"


def test_unreadable_entries_are_cg102_with_no_text(tmp_path: Path) -> None:
    make(tmp_path, {"models/ok.py": ""})
    os.symlink("missing-target.py", tmp_path / "models" / "broken.py")
    os.mkfifo(tmp_path / "models" / "pipe.py")  # opening it would block forever
    files, _ = run(tmp_path)
    by_path = {f.path: f for f in files}
    assert sorted(by_path) == ["models/broken.py", "models/ok.py", "models/pipe.py"]
    for name in ("models/broken.py", "models/pipe.py"):
        source = by_path[name]
        assert source.text is None and source.digest == ""
        assert [(d.code, d.severity) for d in source.diagnostics] == [("CG102", "error")]
        assert source.diagnostics[0].message.startswith("cannot read: ")


def test_read_error_from_open_is_reported_not_raised(tmp_path: Path, monkeypatch) -> None:
    make(tmp_path, {"models/a.py": "a = 1\n", "models/b.py": "b = 1\n"})
    real_open = open

    def fussy_open(file, *args, **kwargs):
        if str(file).endswith("a.py"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fussy_open)
    files, _ = run(tmp_path)
    a, b = files
    assert a.text is None
    assert a.diagnostics[0].message == "cannot read: Permission denied"
    assert b.text == "b = 1\n"


def test_folder_named_like_a_python_file_is_walked(tmp_path: Path) -> None:
    make(tmp_path, {"models/pkg.py/inner.py": "x = 1\n"})
    files, diagnostics = run(tmp_path)
    assert diagnostics == ()
    assert [f.path for f in files] == ["models/pkg.py/inner.py"]


def test_unlistable_folder_is_a_warning_and_the_walk_goes_on(tmp_path: Path, monkeypatch) -> None:
    make(tmp_path, {"models/a.py": "", "models/locked/b.py": ""})
    real_scandir = os.scandir

    def fussy_scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("codegen.scan.discover.os.scandir", fussy_scandir)
    files, diagnostics = run(tmp_path)
    assert [f.path for f in files] == ["models/a.py"]
    assert [(d.code, d.severity, d.path) for d in diagnostics] == [
        ("CG102", "warning", "models/locked")
    ]


def test_bom_is_stripped_and_digest_covers_raw_bytes(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbfname = '\xc3\xa9'\n"
    make(tmp_path, {"models/bom.py": raw})
    (source,), _ = run(tmp_path)
    assert source.text == "name = 'é'\n"
    assert source.digest == hashlib.sha256(raw).hexdigest()


def test_latin1_coding_cookie_is_honoured(tmp_path: Path) -> None:
    raw = b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n"
    make(tmp_path, {"models/latin.py": raw})
    (source,), _ = run(tmp_path)
    assert source.diagnostics == ()
    assert source.text == "# -*- coding: latin-1 -*-\nname = 'été'\n"


def test_invalid_utf8_is_cg104_with_line_and_column(tmp_path: Path) -> None:
    make(tmp_path, {"models/bad.py": b"a = 1\nb = '\xff'\n"})
    (source,), _ = run(tmp_path)
    assert source.text is None
    (problem,) = source.diagnostics
    assert (problem.code, problem.line, problem.column) == ("CG104", 2, 5)
    assert source.digest != ""  # the bytes were read; only decoding failed


def test_unknown_coding_cookie_is_cg104(tmp_path: Path) -> None:
    make(tmp_path, {"models/odd.py": b"#!/usr/bin/env python\n# coding: klingon\nx = 1\n"})
    (source,), _ = run(tmp_path)
    assert [(d.code, d.line) for d in source.diagnostics] == [("CG104", 2)]


def test_nul_byte_is_cg104_with_its_position(tmp_path: Path) -> None:
    make(tmp_path, {"models/nul.py": b"x = 1\ny = 2\x00\n"})
    (source,), _ = run(tmp_path)
    assert source.text is None
    assert [(d.code, d.line, d.column) for d in source.diagnostics] == [("CG104", 2, 5)]


def test_empty_file_is_fine(tmp_path: Path) -> None:
    make(tmp_path, {"models/empty.py": b""})
    (source,), _ = run(tmp_path)
    assert (source.text, source.diagnostics) == ("", ())
    assert source.digest == hashlib.sha256(b"").hexdigest()


def test_oversized_file_is_cg103_and_not_read(tmp_path: Path) -> None:
    make(tmp_path, {"models/big.py": "x = 1\n" * 100, "models/small.py": "x = 1\n"})
    files, _ = run(tmp_path, max_file_bytes=100)
    big, small = files
    assert big.text is None and big.digest == ""
    assert [d.code for d in big.diagnostics] == ["CG103"]
    assert "600" in big.diagnostics[0].message
    assert small.text == "x = 1\n"


def test_non_ascii_and_spaces_in_names(tmp_path: Path) -> None:
    make(tmp_path, {"models/my models/réseau ünï.py": "x = 1\n", "models/日本.py": "y = 2\n"})
    files, diagnostics = run(tmp_path)
    assert diagnostics == ()
    assert [f.path for f in files] == ["models/my models/réseau ünï.py", "models/日本.py"]
    assert [f.text for f in files] == ["x = 1\n", "y = 2\n"]


def test_crlf_text_is_kept_as_is(tmp_path: Path) -> None:
    make(tmp_path, {"models/win.py": b"x = 1\r\ny = 2\r\n"})
    (source,), _ = run(tmp_path)
    assert source.text == "x = 1\r\ny = 2\r\n"


def test_read_source_uses_abspath_when_no_display(tmp_path: Path) -> None:
    path = tmp_path / "gone.py"
    text, digest, diagnostics = read_source(str(path))
    assert (text, digest) == (None, "")
    assert diagnostics[0].path == str(path)
    assert diagnostics[0].code == "CG102"


def test_order_does_not_depend_on_creation_order(tmp_path: Path) -> None:
    names = [f"models/m{i % 7}/f{(i * 37) % 50}.py" for i in range(50)]
    make(tmp_path, {name: "" for name in reversed(names)})
    files, _ = run(tmp_path)
    assert [f.path for f in files] == sorted(set(names))
