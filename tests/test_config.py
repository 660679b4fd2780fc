"""`[tool.codegen]` loading: walk-up, validation diagnostics, flag overrides."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from codegen.config import (
    OPTIONS,
    Config,
    apply_overrides,
    load_config,
    options_table,
    validate_config,
)


def write_pyproject(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def codes(diagnostics) -> list[str]:
    return [diagnostic.code for diagnostic in diagnostics]


def test_walks_up_to_the_nearest_pyproject_and_reads_its_table(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        """
        [project]
        name = "x"

        [tool.codegen]
        paths = ["nets", "more/nets"]
        exclude = ["legacy"]
        output = "gen"
        jobs = 3
        """,
    )
    start = tmp_path / "nets" / "deep"
    start.mkdir(parents=True)
    config, diagnostics = load_config(start)
    assert diagnostics == ()
    assert config.root == str(tmp_path)
    assert config.paths == ("nets", "more/nets")
    assert config.exclude == ("legacy",)
    assert config.output == "gen"
    assert config.jobs == 3
    assert config.scope_prefix == "transfer"  # untouched keys keep their defaults


def test_nearest_pyproject_wins_even_without_a_codegen_table(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.codegen]\noutput = "outer"\n')
    inner = tmp_path / "sub"
    write_pyproject(inner, '[project]\nname = "inner"\n')
    config, diagnostics = load_config(inner)
    assert diagnostics == ()
    assert config.root == str(inner)
    assert config.output == "generated"


def test_no_pyproject_anywhere_uses_defaults_rooted_at_start(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("codegen.config.find_pyproject", lambda start: None)
    config, diagnostics = load_config(tmp_path)
    assert diagnostics == ()
    # Outside a project nothing may be left behind: no cache folder (issue 14, case 11); it
    # caches in the user's cache folder instead (issue 22).
    assert config == Config(root=str(tmp_path), cache_dir="", user_cache=True)


def test_explicit_file_is_used_instead_of_walking(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.codegen]\noutput = "walked"\n')
    other = tmp_path / "elsewhere" / "custom.toml"
    other.parent.mkdir()
    other.write_text('[tool.codegen]\noutput = "explicit"\n')
    config, diagnostics = load_config(tmp_path, explicit=other)
    assert diagnostics == ()
    assert config.output == "explicit"
    assert config.root == str(other.parent)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    _, diagnostics = load_config(tmp_path, explicit=tmp_path / "nope.toml")
    assert codes(diagnostics) == ["CG004"]
    assert "cannot read" in diagnostics[0].message


def test_unknown_key_names_the_key_its_line_and_the_valid_keys(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        """\
        [tool.codegen]
        output = "generated"
        outptu = "typo"
        """,
    )
    config, diagnostics = load_config(tmp_path)
    assert codes(diagnostics) == ["CG001"]
    (problem,) = diagnostics
    assert problem.severity == "error"
    assert problem.line == 3
    assert "'outptu'" in problem.message
    for option in OPTIONS:
        assert option.key in problem.message
    assert config.output == "generated"


def test_root_is_not_a_settable_key(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.codegen]\nroot = "/etc"\n')
    config, diagnostics = load_config(tmp_path)
    assert codes(diagnostics) == ["CG001"]
    assert config.root == str(tmp_path)


@pytest.mark.parametrize(
    ("line", "expected", "actual"),
    [
        ('paths = "models"', "a list of strings", "string"),
        ("paths = [1, 2]", "a list of strings", "list of integer"),
        ("jobs = 2.5", "an integer", "float"),
        ("jobs = true", "an integer", "boolean"),
        ("output = 3", "a string", "integer"),
    ],
)
def test_wrong_type_names_key_expected_and_actual(
    tmp_path: Path, line: str, expected: str, actual: str
) -> None:
    write_pyproject(tmp_path, f"[tool.codegen]\n{line}\n")
    config, diagnostics = load_config(tmp_path)
    assert codes(diagnostics) == ["CG002"]
    key = line.split(" ")[0]
    message = diagnostics[0].message
    assert message.startswith(key)
    assert f"must be {expected}," in message
    assert f"got {actual}" in message
    assert diagnostics[0].line == 2
    assert getattr(config, key) == getattr(Config(), key)  # a mistyped value is not used


def test_codegen_not_a_table_is_a_type_error(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool]\ncodegen = 1\n")
    _, diagnostics = load_config(tmp_path)
    assert codes(diagnostics) == ["CG002"]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('build_function = "(unclosed"', "build_function"),
        ('scope_prefix = "with space"', "scope_prefix"),
        ('scope_prefix = "trailing/"', "scope_prefix"),
        ('scope_prefix = "_leading"', "scope_prefix"),
        ('collection = "  "', "collection"),
        ('output = "/abs/out"', "output"),
        ('output = "../outside"', "output"),
        ('output = "gen/../../x"', "output"),
        ('output = "."', "output"),
        ("jobs = -1", "jobs"),
        ("jobs = 100000", "jobs"),
        ("max_file_bytes = 0", "max_file_bytes"),
        ("max_file_bytes = 9223372036854775807", "max_file_bytes"),
        # What the runtime refuses is refused here, before any shim carries it.
        ('scope_prefix = "team/transfer"', "scope_prefix"),
        ('collection = "my vars"', "collection"),
        ('collection = ""', "collection"),
        # Folders that `from <output> import ...` cannot name.
        ('output = "gen.v2"', "output"),
        ('output = "my-gen"', "output"),
        ('output = "src/class"', "output"),
        # The output must not be a scanned folder, hold one, or lie inside one.
        ('output = "models"', "output"),
        ('output = "models/gen"', "output"),
        # Patterns whose matching can take exponential time on one name.
        ('build_function = "(a+)+$"', "build_function"),
        ('build_function = "^(b|bu)*ild"', "build_function"),
        ('build_function = "(build)\\\\1"', "build_function"),
        ('build_function = ".*.*.*.*.*.*.*.*x"', "build_function"),
        ("paths = []", "paths"),
    ],
)
def test_invalid_values_are_cg003_naming_the_key(tmp_path: Path, line: str, key: str) -> None:
    write_pyproject(tmp_path, f"[tool.codegen]\n{line}\n")
    _, diagnostics = load_config(tmp_path)
    assert codes(diagnostics) == ["CG003"]
    assert key in diagnostics[0].message
    assert diagnostics[0].line == 2


def test_valid_scope_prefix_and_nested_output_are_accepted(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.codegen]\nscope_prefix = "shared-v1.2_x"\noutput = "src/gen"\n')
    config, diagnostics = load_config(tmp_path)
    assert diagnostics == ()
    assert (config.scope_prefix, config.output) == ("shared-v1.2_x", "src/gen")


def test_invalid_toml_reports_the_line(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.codegen]\noutput = "gen"\npaths = [\n"a",,\n]\n')
    config, diagnostics = load_config(tmp_path)
    assert codes(diagnostics) == ["CG004"]
    assert diagnostics[0].line == 4
    assert diagnostics[0].path == "pyproject.toml"
    assert config.root == str(tmp_path)


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.codegen]\nbogus = 1\njobs = "4"\nscope_prefix = "a b"\n')
    _, diagnostics = load_config(tmp_path)
    assert sorted(codes(diagnostics)) == ["CG001", "CG002", "CG003"]


def test_overrides_replace_only_given_flags_and_share_validation(tmp_path: Path) -> None:
    base = Config(root=str(tmp_path))
    changed = apply_overrides(base, output="other", jobs=None, paths=["a", "b"], exclude="x*")
    assert changed.output == "other"
    assert changed.jobs == base.jobs
    assert changed.paths == ("a", "b")
    assert changed.exclude == ("x*",)
    assert validate_config(changed) == ()
    bad = apply_overrides(base, scope_prefix="no spaces allowed", output="../x")
    assert sorted(d.message.split(" ")[0] for d in validate_config(bad)) == [
        "output",
        "scope_prefix",
    ]
    with pytest.raises(TypeError):
        apply_overrides(base, not_a_field=1)


def test_options_table_documents_every_field_but_root_and_line_length() -> None:
    # root is where the pyproject.toml is; line_length is the formatter's, not a codegen key;
    # user_cache says whether there is a [tool.codegen] at all.
    not_keys = {"root", "line_length", "user_cache"}
    fields = {field.name for field in dataclasses.fields(Config)} - not_keys
    assert {option.key for option in OPTIONS} == fields
    table = options_table()
    for key in fields:
        assert f"| `{key}` |" in table
    assert '`["models"]`' in table
    assert "`2000000`" in table


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ("", 88),
        ("[tool.black]\nline-length = 79\n", 79),
        ("[tool.ruff]\nline-length = 120\n[tool.black]\nline-length = 79\n", 120),
        ("[tool.ruff]\nline-length = true\n[tool.black]\nline-length = 99\n", 99),
        ("[tool.ruff]\nline-length = '100'\n", 88),
    ],
)
def test_line_length_comes_from_the_projects_formatter(
    tmp_path: Path, tables: str, expected: int
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.codegen]\n" + tables)
    config, problems = load_config(tmp_path)
    assert not problems
    assert config.line_length == expected


@pytest.mark.parametrize(
    "pattern",
    ["^build", "TextCNN|model_fn", "^(build|make)_model$", "build.*graph", "[ab]+c", "(?:ab)+"],
)
def test_ordinary_build_function_patterns_are_accepted(pattern: str) -> None:
    assert validate_config(Config(root="", build_function=pattern)) == ()


def test_every_refused_pattern_is_one_that_backtracks_badly() -> None:
    """The refusal is about cost, not taste: each refused pattern really is slow on a name."""
    import re
    import time

    name = "b" * 22 + "!"  # a plausible function name, on which these patterns fail slowly
    for pattern in ("(b+)+$", "(b|bb)+$", ".*.*.*.*.*.*x"):
        assert validate_config(Config(root="", build_function=pattern)), pattern
        started = time.monotonic()
        re.search(pattern, name)
        assert time.monotonic() - started > 0.001, pattern


def test_scanning_the_whole_project_keeps_the_output_inside_it(tmp_path: Path) -> None:
    # The walk never enters the output folder, so `paths = ["."]` is fine with any output.
    write_pyproject(tmp_path, '[tool.codegen]\npaths = ["."]\noutput = "gen/shims"\n')
    config, diagnostics = load_config(tmp_path)
    assert diagnostics == () and config.output == "gen/shims"


def test_the_runtime_checks_the_same_setting_rule_as_the_config() -> None:
    """One rule, two copies: the runtime (which cannot import codegen) keeps the same pattern."""
    import ast

    from codegen import names
    from tests.conftest import REPO

    found = {}
    for source in sorted((REPO / "codegen" / "runtime").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["_SETTING_NAME"]
                and isinstance(node.value, ast.Call)
            ):
                found[source.name] = ast.literal_eval(node.value.args[0])
    assert found and set(found.values()) == {names.SETTING_NAME.pattern}, found


@pytest.mark.tf
@pytest.mark.parametrize(
    "value", ["transfer", "shared-v1.2_x", "team/transfer", "", "a b", "_x", "x/", "tr\u00e4nsfer"]
)
def test_the_runtime_accepts_exactly_what_the_config_accepts(value: str) -> None:
    from codegen import names
    from codegen.runtime.tf1 import ModelTransfer, TransferError

    accepted = not names.setting_name_problem("scope_prefix", value)
    for key in ("scope_prefix", "collection"):
        try:
            ModelTransfer("m", [], **{key: value})
        except TransferError:
            assert not accepted, (key, value)
        else:
            assert accepted, (key, value)


def test_each_default_is_written_in_config_only() -> None:
    """Stages take settings from their caller; a second copy of a default would drift."""
    import re

    from tests.conftest import REPO

    defaults = {
        "build_function": Config.build_function,
        "collection": Config.collection,
        "scope_prefix": Config.scope_prefix,
    }
    for path in sorted((REPO / "codegen").rglob("*.py")):
        if path.name == "config.py" or "runtime" in path.parts:  # the runtime cannot import it
            continue
        text = path.read_text("utf-8")
        for key, value in defaults.items():
            # As a default (`x: str = "..."`, `x="..."`); the shim API has a function whose
            # name is the collection's default value.
            spelled = re.compile(rf"""=\s*r?["']{re.escape(value)}["']""")
            assert not spelled.search(text), f"{path.relative_to(REPO)} repeats {key}'s default"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("generated", True),
        ("v2", True),
        ("gen.v2", False),
        ("my-gen", False),
        ("class", False),
        ("match", True),  # a soft keyword is a fine name
        ("caf\u00e9", True),
        ("\ufb01t", False),  # Python would bind it as `fit`
        ("abc\n", False),
        ("", False),
    ],
)
def test_one_identifier_rule(name: str, ok: bool) -> None:
    from codegen import names

    assert names.is_identifier(name) is ok


def test_paths_are_shown_by_one_helper() -> None:
    """Relative `/` paths are spelled in codegen/paths.py only (they were written six times)."""
    from tests.conftest import REPO

    spelled = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "codegen").rglob("*.py"))
        if path.name != "paths.py" and "os.path.relpath(" in path.read_text("utf-8")
    ]
    assert spelled == []
