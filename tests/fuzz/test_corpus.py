"""The malformed-input corpus (tests/fuzz/corpus.py), run in-process through the CLI's entry
function: each input gives a non-zero exit within seconds, one line ``ddsolver: error: …``
naming the key, no traceback, no echo of an unrelated file, and leaves every file as it was."""

import hashlib
import time

import pytest

from ddsolver.cli import main

from .corpus import CASES, COMMANDS, PROBLEMS, TEXTS, command, mutate, toml_text

SECONDS = 5.0           # per input (the whole corpus runs in a few seconds)
BUDGET = "8GiB"         # --max-memory of every run: the size refusals do not depend on the host


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus")
    for name, text in PROBLEMS.items():
        (path / name).write_text(text)
    (path / "precious.h5").write_bytes(b"\x89HDF not really, but precious")
    return path


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.is_file()}


def _refused(folder, capsys, argv, key):
    """Run ``ddsolver argv``; check the refusal and that the files before are unchanged."""
    before = _digest(folder)
    capsys.readouterr()
    start = time.perf_counter()
    code = main(argv)
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    after = _digest(folder)
    lines = [line for line in err.splitlines() if not line.startswith("ddsolver: warning:")]
    assert code not in (0, None), (argv, out, err)
    assert len(lines) == 1 and lines[0].startswith("ddsolver: error: "), err
    assert key in lines[0], (key, lines[0])
    assert "Traceback" not in err + out and "SECRET" not in err + out
    assert elapsed < SECONDS
    assert {name: after.get(name) for name in before} == before
    return lines[0]


@pytest.mark.parametrize("name, mutation, key", CASES, ids=[c[0] for c in CASES])
def test_malformed_case(folder, capsys, name, mutation, key):
    case = folder / "case.toml"
    case.write_text(toml_text(mutate(mutation)))
    _refused(folder, capsys, [command(name, key), str(case), "-o", str(folder / "out.h5"),
                              "--max-memory", BUDGET], key)


@pytest.mark.parametrize("name, text, key", TEXTS, ids=[t[0] for t in TEXTS])
def test_malformed_text(folder, capsys, name, text, key):
    case = folder / "case.toml"
    (case.write_bytes if isinstance(text, bytes) else case.write_text)(text)
    _refused(folder, capsys, ["solve", str(case), "-o", str(folder / "out.h5")], key)


@pytest.mark.parametrize("argv, key", COMMANDS, ids=[" ".join(c[0][:1] + c[0][3:])
                                                     for c in COMMANDS])
def test_malformed_command(folder, capsys, argv, key):
    case = folder / "case.toml"
    case.write_text(toml_text(mutate({})))
    _refused(folder, capsys, [a.format(case=case, dir=folder) for a in argv], key)


def test_corpus_size():
    """At least 150 malformed inputs, and the unmutated case is valid (so each entry fails
    for its own mutation)."""
    from ddsolver.case import normalize_case

    assert len(CASES) + len(TEXTS) + len(COMMANDS) >= 150
    normalize_case(mutate({}))
