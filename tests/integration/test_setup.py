"""README's set-up path: scripts/setup.sh, scripts/demo.sh and .ci/run, run as a user would.

What is proven here, and what is not:
- On a Debian-like machine (a PEP 668 /usr/bin/python3 with venv), from a clean copy of the
  checkout with only /usr/bin:/bin on PATH and an empty HOME: setup.sh makes .venv with
  /usr/bin/python3, pip runs inside it, a re-run reuses it, and the install step runs that venv's
  pip on requirements.txt. The install itself is stopped by pointing pip at an empty local
  folder (PIP_NO_INDEX): a real one downloads several GB, and tests never touch the network.
  The full install and the demo were run by hand from a clean clone (README, "Install").
- A missing venv module names the package to install, and leaves no half-made .venv.
- An active virtual environment, an existing .venv, or a python that may install packages (a
  pyenv python, as CI here) is used as it is: no .venv is made.
- demo.sh leaves the user able to run the commands it prints, and a re-run changes nothing.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")
TIMEOUT = 600


def _debian_like() -> bool:
    """/usr/bin/python3 refuses pip installs (PEP 668) and can make a venv with pip."""
    if not DEBIAN_PYTHON.exists():
        return False
    probe = ("import os, sysconfig, venv, ensurepip; "
             "print(os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))")
    out = subprocess.run([str(DEBIAN_PYTHON), "-c", probe], capture_output=True, text=True)
    return out.returncode == 0 and out.stdout.strip() == "True"


def copy_checkout(target: Path) -> Path:
    """A clean copy of the checkout: the files git would commit (tracked and new, not ignored)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target / ".venv").exists()
    return target


@pytest.fixture
def clone(tmp_path) -> Path:
    return copy_checkout(tmp_path / "clipsearch")


@pytest.fixture(scope="module")
def debian_clone(tmp_path_factory):
    """A clean copy, set up once with Debian's python3 alone (making a venv takes a while)."""
    if not _debian_like():
        pytest.skip("needs a Debian/Ubuntu /usr/bin/python3 (PEP 668) with python3-venv")
    root = tmp_path_factory.mktemp("debian")
    checkout = copy_checkout(root / "clipsearch")
    env = bare_env(root / "home")
    first = run(["bash", "scripts/setup.sh", "--venv-only"], checkout, env)
    return checkout, env, first


def bare_env(home: Path, path: str = "/usr/bin:/bin", **extra: str) -> dict[str, str]:
    """What `env -i PATH=... HOME=...` gives a command: nothing of this test's environment."""
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", **extra}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def test_debian_python_alone_gets_a_project_venv_with_pip(debian_clone):
    clone, env, first = debian_clone
    assert first.returncode == 0, first.stderr
    venv_python = clone / ".venv" / "bin" / "python"
    assert first.stdout.strip().splitlines()[-1] == str(venv_python)
    assert "PEP 668" in first.stderr and "creating a virtual environment" in first.stderr
    config = (clone / ".venv" / "pyvenv.cfg").read_text()
    assert re.search(r"^home = /usr/bin$", config, re.M), config
    pip = run([str(venv_python), "-m", "pip", "--version"], clone, env)
    assert pip.returncode == 0 and str(clone / ".venv") in pip.stdout, pip.stdout + pip.stderr

    again = run(["bash", "scripts/setup.sh", "--venv-only"], clone, env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == str(venv_python)
    assert "creating" not in again.stderr  # the .venv is reused


def test_debian_python_alone_installs_the_requirements_into_the_venv(debian_clone, tmp_path):
    clone, env, _ = debian_clone
    empty = tmp_path / "no-packages-here"
    empty.mkdir()
    result = run(["bash", "scripts/setup.sh"], clone, {**env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty)})
    # pip in the venv was asked for requirements.txt, and only the empty package folder stopped it
    assert result.returncode != 0
    assert f"installing requirements.txt with {clone / '.venv' / 'bin' / 'python'}" in result.stderr
    assert "externally-managed-environment" not in result.stderr
    assert re.search(r"No matching distribution found for (open-clip-torch|torch)", result.stderr), result.stderr


def test_a_missing_venv_module_names_the_package(clone, tmp_path):
    if not _debian_like():
        pytest.skip("needs a PEP 668 /usr/bin/python3")
    shadow = tmp_path / "shadow"
    (shadow / "ensurepip").mkdir(parents=True)
    (shadow / "ensurepip" / "__init__.py").write_text("raise ImportError('ensurepip is not installed')\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").write_text(f'#!/bin/sh\nPYTHONPATH={shadow} exec {DEBIAN_PYTHON} "$@"\n')
    (fake / "python3").chmod(0o755)
    result = run(["bash", "scripts/setup.sh"], clone, bare_env(tmp_path / "home", path=f"{fake}:/usr/bin:/bin"))
    assert result.returncode == 1
    assert "apt install python3-venv" in result.stderr, result.stderr
    assert not (clone / ".venv").exists()


def _may_install(python: str) -> bool:
    managed = Path(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED").exists()
    return python == sys.executable and (sys.prefix != sys.base_prefix or not managed)


def test_a_python_that_may_install_is_used_as_it_is(clone, tmp_path):
    """CI here: a pyenv python with the packages installed globally, no virtual environment."""
    if not _may_install(sys.executable) or sys.prefix != sys.base_prefix:
        pytest.skip("this test's python is a venv or may not install packages")
    env = bare_env(tmp_path / "home", path=f"{Path(sys.executable).parent}:/usr/bin:/bin")
    result = run(["bash", "scripts/setup.sh", "--venv-only"], clone, env)
    assert result.returncode == 0, result.stderr
    chosen = result.stdout.strip().splitlines()[-1]
    assert os.path.samefile(chosen, sys.executable)
    assert not (clone / ".venv").exists()


def _quick_venv(where: Path) -> Path:
    """A venv that borrows the base's packages (pip included): made in a second, no downloads."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(where)],
                   check=True, timeout=TIMEOUT)
    return where


def test_an_active_virtual_environment_is_used(clone, tmp_path):
    venv = _quick_venv(tmp_path / "active-venv")
    env = bare_env(tmp_path / "home", path=f"{venv / 'bin'}:/usr/bin:/bin", VIRTUAL_ENV=str(venv))
    result = run(["bash", "scripts/setup.sh", "--venv-only"], clone, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(venv / "bin" / "python")
    assert not (clone / ".venv").exists()


def test_an_existing_project_venv_is_preferred(clone, tmp_path):
    _quick_venv(clone / ".venv")
    env = bare_env(tmp_path / "home", path=f"{Path(sys.executable).parent}:/usr/bin:/bin")
    result = run(["bash", "scripts/setup.sh", "--venv-only"], clone, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(clone / ".venv" / "bin" / "python")


def test_check_requirements_tells_installed_from_missing(tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("pytest>=1  # a comment\n")
    ok = tmp_path / "ok.txt"
    ok.write_text(f"# comment\n-r {extra.name}\nnumpy\npillow>=1.0\nnot-on-this-os; sys_platform == 'nonesuch'\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("numpy<1\nsurely-not-an-installed-package==1.0\n")
    script = ROOT / "scripts" / "check_requirements.py"
    assert subprocess.run([sys.executable, script, ok], capture_output=True).returncode == 0
    result = subprocess.run([sys.executable, script, ok, bad], capture_output=True, text=True)
    assert result.returncode == 1
    assert "numpy<1 (installed:" in result.stderr and "surely-not-an-installed-package" in result.stderr


def test_ci_lints_then_runs_exactly_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Tests\n", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.strip().startswith("#")]
    assert command in ci, (command, ci)
    assert ci.index("python -m ruff check .") < ci.index(command)
    assert ci.index("bash scripts/setup.sh --dev") < ci.index("python -m ruff check .")


def test_ci_fails_when_the_browser_is_missing(tmp_path):
    """tests/browser/conftest.py, with the browser's path pointed at nothing: an error under CI."""
    conftest = (ROOT / "tests" / "browser" / "conftest.py").read_text()
    assert 'CHROMIUM = Path("/usr/bin/chromium")' in conftest
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(conftest.replace('"/usr/bin/chromium"', f'"{tmp_path}/no-chromium"'))
    (suite / "test_page.py").write_text(
        "import pytest\n"
        "pytestmark = pytest.mark.skipif(True, reason='no browser')\n"
        "def test_page():\n    pass\n")

    def pytest_run(ci: str | None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        if ci is not None:
            env["CI"] = ci
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
                              cwd=suite, env=env, capture_output=True, text=True, timeout=TIMEOUT)

    failed = pytest_run("true")
    assert failed.returncode == 1, failed.stdout
    assert "no Chromium at" in failed.stdout and "1 error" in failed.stdout, failed.stdout
    skipped = pytest_run(None)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout
    assert pytest_run("false").returncode == 0


@pytest.mark.slow
def test_demo_leaves_its_printed_commands_working_and_reruns_change_nothing(tmp_path):
    data = tmp_path / "demo"
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    first = run(["bash", "scripts/demo.sh", "--no-serve", str(data)], ROOT, env)
    assert first.returncode == 0, first.stderr
    assert "added 300" in first.stdout
    assert "videos: 3 found; read 3 (0:36 of video" in first.stdout  # the demo's videos, by moment
    assert not (tmp_path / "home" / ".cache" / "clipsearch").exists()
    printed = [line.strip() for line in first.stdout.splitlines() if line.strip().startswith("python -m clipsearch")]
    assert len(printed) == 4, first.stdout
    for command in printed:
        assert f"--index {data / 'index'}" in command  # the demo's index, named
        result = run(shlex.split(command), ROOT, env)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.strip(), command
    red = run(shlex.split(printed[0]), ROOT, env).stdout.splitlines()
    photos = [line for line in red if "\tat " not in line]  # the photos, then the videos' moments
    assert len(photos) == 5 and all(line.split("\t")[1].startswith(str(data / "photos")) for line in red)
    assert all(line.split("\t")[1].startswith(str(data / "photos" / "videos")) for line in red[5:])
    topics = [line.split("\t") for line in run(shlex.split(printed[3]), ROOT, env).stdout.splitlines()]
    assert len(topics) == 10 and sum(int(size) for size, _, _ in topics) == 300  # named as the demo model reads
    assert all(name.split(" ")[-1] in ("circle", "square", "triangle", "star", "cross") for _, name, _ in topics)
    exported = re.search(r"export (CLIPSEARCH_INDEX=.+)", first.stdout).group(1)
    assert f'CLIPSEARCH_INDEX="{data}/index"' in exported and f'CLIPSEARCH_CACHE="{data}/cache"' in exported

    mtimes = {p: p.stat().st_mtime_ns for p in (data / "photos").rglob("*") if p.is_file()}
    again = run(["bash", "scripts/demo.sh", "--no-serve", str(data)], ROOT, env)
    assert again.returncode == 0, again.stderr
    assert "300 image files found" in again.stdout
    assert "added 0, updated 0, moved 0, removed 0, unchanged 300" in again.stdout
    assert "videos: 3 found; read 0" in again.stdout and "3 unchanged" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # no picture rewritten
