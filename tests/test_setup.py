"""The set-up a new user and CI rely on: README quick start, Makefile, bootstrap, .ci/run.

The bootstrap's apt path is exercised with stand-in ``dpkg-query``/``apt-get``/``sudo``/``id``
programs placed first on PATH, so nothing is installed and no root is needed.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
RUN_APP = ROOT / "scripts" / "run_app.sh"


def quick_start_commands(readme: str) -> list[str]:
    """Command lines in the code blocks of the README's '## Quick start' section."""
    match = re.search(r"^## Quick start\s*$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert match, "README.md has no '## Quick start' section"
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", match.group(1), re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_quick_start_is_exactly_make_run_and_make_test():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert quick_start_commands(readme) == ["make run", "make test"]


def test_quick_start_parser_sees_extra_commands():
    text = "## Quick start\n\n```\nmake run\npip install x\n```\n\n## Next\n```\nignored\n```\n"
    assert quick_start_commands(text) == ["make run", "pip install x"]


def test_ci_run_calls_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    text = ci.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    commands = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert "make test" in commands
    assert os.access(ci, os.X_OK)
    assert subprocess.run(["bash", "-n", str(ci)]).returncode == 0


@pytest.mark.parametrize("target, expected", [("run", "scripts/run_app.sh"), ("test", "-m pytest")])
def test_make_dry_run_parses(target, expected):
    done = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DISPLAY": ":0"})
    assert done.returncode == 0, done.stderr
    assert "scripts/bootstrap.sh" in done.stdout
    assert expected in done.stdout


def test_make_test_wraps_pytest_in_xvfb_without_a_display():
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed")
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"xvfb-run -a .*-m pytest", done.stdout)
    # a test hung in Qt's event loop must still time out (SIGALRM would never be handled there)
    assert "--timeout-method=thread" in done.stdout


def test_shell_scripts_are_valid_bash():
    for script in (ROOT / "scripts").glob("*.sh"):
        assert os.access(script, os.X_OK), f"{script} is not executable"
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script}: {done.stderr}"


def debian_packages() -> list[str]:
    lines = (ROOT / "scripts" / "debian-packages.txt").read_text(encoding="utf-8").splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


def test_debian_package_list_names_what_qt_and_tests_need():
    pkgs = debian_packages()
    assert len(pkgs) == len(set(pkgs)), "a package is listed twice"
    for name in pkgs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", name), f"not a Debian package name: {name!r}"
    for needed in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libegl1", "libgl1",
                   "libxkbcommon-x11-0", "libgomp1", "libusb-1.0-0", "xvfb", "xauth", "poppler-utils"):
        assert needed in pkgs


# -- bootstrap with stand-in system tools ---------------------------------------------------------

def _write_tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _fake_system(tmp_path: Path, installed: list[str], *, debian: bool = True,
                 uid: int = 1000) -> tuple[dict, Path]:
    """An environment whose PATH starts with stand-in tools; returns (env, call log)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    installed_text = " ".join(installed)
    if debian:
        # dpkg-query -W -f=FORMAT PKG...: a status line for each installed package
        _write_tool(bin_dir, "dpkg-query", f"""
for p in "${{@:3}}"; do
  for i in {installed_text}; do [ "$p" = "$i" ] && echo "$p install ok installed"; done
done
exit 0
""")
        _write_tool(bin_dir, "apt-get", f'echo "apt-get $*" >> {log}\n')
    _write_tool(bin_dir, "sudo", f'echo "sudo $1" >> {log}\nshift\nexec "$@"\n')
    _write_tool(bin_dir, "id", f"echo {uid}\n")
    if debian:
        path = f"{bin_dir}:{os.environ['PATH']}"
    else:
        # Only the basic tools the script uses: no dpkg-query, no apt-get.
        for tool in ("bash", "env", "sed", "grep", "awk", "tr", "fold", "cat", "cut", "dirname",
                     "sha256sum", "sort"):
            found = shutil.which(tool)
            if found:
                (bin_dir / tool).symlink_to(found)
        path = str(bin_dir)
    env = {"PATH": path, "PYTHON": sys.executable, "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    return env, log


def _bootstrap(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(BOOTSTRAP), "--system-only"], env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)


def test_bootstrap_installs_only_missing_packages_through_sudo(tmp_path):
    pkgs = debian_packages()
    env, log = _fake_system(tmp_path, installed=pkgs[2:])
    done = _bootstrap(env)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    # no terminal: sudo -n (never waits for a password); update once, then exactly the missing two
    assert calls[0] == "sudo -n" and calls[2] == "sudo -n"
    assert [c for c in calls if c.startswith("apt-get")] == [
        "apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold update",
        "apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install "
        f"--no-install-recommends {pkgs[0]} {pkgs[1]}",
    ]


def test_bootstrap_as_root_runs_apt_without_sudo(tmp_path):
    pkgs = debian_packages()
    env, log = _fake_system(tmp_path, installed=pkgs[:-1], uid=0)
    done = _bootstrap(env)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert not any(c.startswith("sudo") for c in calls)
    assert calls[-1].endswith(f"install --no-install-recommends {pkgs[-1]}") and calls[0].endswith("update")


def test_bootstrap_does_nothing_when_everything_is_installed(tmp_path):
    env, log = _fake_system(tmp_path, installed=debian_packages())
    done = _bootstrap(env)
    assert done.returncode == 0, done.stderr
    assert not log.exists()


def test_bootstrap_names_packages_on_other_systems(tmp_path):
    env, log = _fake_system(tmp_path, installed=[], debian=False)
    done = _bootstrap(env)
    assert done.returncode == 0, done.stderr
    assert "not a Debian/Ubuntu system" in done.stdout
    assert "libxcb-cursor0" in done.stdout and "xvfb" in done.stdout
    assert not log.exists()


def test_bootstrap_refuses_an_old_python(tmp_path):
    old = tmp_path / "python3.9"  # answers the version check as a Python 3.9 would
    old.write_text('#!/bin/bash\ncase "$*" in *"(3, 11)"*) exit 1 ;; esac\n'
                   'echo "/usr/bin/python3.9 3.9.2"\n')
    old.chmod(0o755)
    done = subprocess.run(["bash", str(BOOTSTRAP), "--system-only"], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": str(old)}, stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode != 0
    assert "3.9.2 is too old" in done.stderr and "3.11 or newer" in done.stderr


def test_bootstrap_reports_a_missing_python(tmp_path):
    done = subprocess.run(["bash", str(BOOTSTRAP), "--system-only"], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": str(tmp_path / "nope")},
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode != 0
    assert "not found" in done.stderr and "3.11" in done.stderr


# -- run_app.sh without a screen ------------------------------------------------------------------

def test_run_without_display_explains_how_to_proceed():
    env = {k: v for k, v in os.environ.items()
           if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    done = subprocess.run(["bash", str(RUN_APP)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no display" in done.stderr
    assert "xvfb-run -a make run" in done.stderr
    assert "Traceback" not in done.stderr and "qt.qpa" not in done.stderr


def test_run_with_a_dead_x_display_explains(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    env["DISPLAY"] = ":987"  # no server listens there
    done = subprocess.run(["bash", str(RUN_APP)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no X server is listening" in done.stderr


# -- packaging ------------------------------------------------------------------------------------

PACKAGING = ROOT / "packaging"


def test_pyinstaller_spec_and_launcher_compile():
    for name in ("gis_desk.spec", "gis_desk_launcher.py", "hooks/hook-gis_desk.py", "smoke_test.py"):
        source = (PACKAGING / name).read_text(encoding="utf-8")
        compile(source, str(PACKAGING / name), "exec")
    spec = (PACKAGING / "gis_desk.spec").read_text(encoding="utf-8")
    assert 'entry_points(group="gis_desk.plugins")' in spec  # plugins bundled by their entry points
    assert '"sample_surveys", "trafford"' in spec and '"resources"' in spec


def test_desktop_entry_has_the_required_keys():
    lines = (PACKAGING / "gis-desk.desktop").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    entry = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    assert entry["Type"] == "Application" and entry["Name"] == "GIS Desk"
    assert entry["Exec"].startswith("gis-desk ") and entry["Icon"] == "gis-desk"
    assert "application/x-gis-desk-project;" in entry["MimeType"]
    assert entry["Categories"].endswith(";")
    mime = (PACKAGING / "gis-desk-mime.xml").read_text(encoding="utf-8")
    assert 'type="application/x-gis-desk-project"' in mime and 'pattern="*.gdesk"' in mime


def test_windows_installer_is_per_user():
    iss = (PACKAGING / "gis_desk.iss").read_text(encoding="utf-8")
    assert "PrivilegesRequired=lowest" in iss
    assert "DefaultDirName={localappdata}" in iss
    assert "HKLM" not in iss  # nothing machine-wide
    assert (PACKAGING / "icons" / "gis-desk.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"


def test_smoke_test_passes_on_the_installed_cli():
    exe = Path(sys.executable).with_name("gis-desk")
    if not exe.exists():
        pytest.skip(f"{exe} is not installed")
    done = subprocess.run([sys.executable, str(PACKAGING / "smoke_test.py"), "--exe", str(exe)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke test passed" in done.stdout


def test_smoke_test_fails_on_a_broken_program(tmp_path):
    fake = tmp_path / "gis-desk"
    fake.write_text("#!/bin/sh\necho 'something went wrong' >&2\nexit 1\n")
    fake.chmod(0o755)
    done = subprocess.run([sys.executable, str(PACKAGING / "smoke_test.py"), "--exe", str(fake),
                           "--sample", str(ROOT / "sample_surveys" / "trafford")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "FAIL  gis-desk --version" in done.stdout and "smoke test FAILED" in done.stdout
