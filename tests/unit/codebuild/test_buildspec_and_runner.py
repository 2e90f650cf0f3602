"""The buildspec parser, artifact globs, and the phase shell (env carried across phases, failures,
``finally``, timeouts, stop)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from seedbed.runtime.builds import artifacts
from seedbed.runtime.builds.shell import ShellSession
from seedbed.services.codebuild import buildspec


def test_parse_buildspec() -> None:
    spec = buildspec.parse("""
version: 0.2
env:
  shell: bash
  variables: {A: 1, B: true}
  parameter-store: {P: /x/y}
  secrets-manager: {S: "arn:aws:secretsmanager:us-east-1:000000000000:secret:n-AbCdEf:k::"}
  exported-variables: [A]
phases:
  install:
    runtime-versions: {python: 3.11}
    commands: echo one
  build:
    on-failure: CONTINUE
    commands: [make, 'make test']
    finally: [cleanup]
artifacts:
  files: ['**/*']
  discard-paths: yes
  secondary-artifacts:
    Extra: {files: [a.txt], base-directory: out}
""")
    assert spec.variables == {"A": "1", "B": "true"} and spec.exported_variables == ["A"]
    assert spec.phases["install"].commands == ["echo one"]
    assert spec.phases["install"].runtime_versions == {"python": "3.11"}
    assert spec.phases["build"].on_failure == "CONTINUE" and spec.phases["build"].finally_commands == ["cleanup"]
    assert spec.artifacts is not None and spec.artifacts.discard_paths
    assert spec.artifacts.secondary["Extra"].base_directory == "out"
    for bad in ("version: 0.3", "- a list", "version: 0.2\nphases:\n  deploy: {commands: [x]}",
                "version: 0.2\nenv: {shell: powershell.exe}", "version: 0.2\nphases: ["):
        with pytest.raises(buildspec.BuildspecError):
            buildspec.parse(bad)


def test_secret_reference() -> None:
    assert buildspec.secret_reference("name:key") == ("name", "key", None, None)
    assert buildspec.secret_reference("name") == ("name", None, None, None)
    arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:n-AbCdEf"
    assert buildspec.secret_reference(f"{arn}:k:AWSPREVIOUS:") == (arn, "k", "AWSPREVIOUS", None)
    assert buildspec.secret_reference(f"{arn}:::v1") == (arn, None, None, "v1")


def test_artifact_globs(tmp_path: Path) -> None:
    for rel in ("a.txt", "dist/b.zip", "dist/sub/c.zip", "dist/sub/d.txt", "node_modules/x.js"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    names = lambda entries: sorted(n for _, n in entries)
    assert names(artifacts.select(tmp_path, ["**/*"], exclude_paths=["node_modules/**/*"])) == [
        "a.txt", "dist/b.zip", "dist/sub/c.zip", "dist/sub/d.txt"]
    assert names(artifacts.select(tmp_path, ["**/*.zip"])) == ["dist/b.zip", "dist/sub/c.zip"]
    assert names(artifacts.select(tmp_path, ["*.zip"], base_directory="dist")) == ["b.zip"]
    assert names(artifacts.select(tmp_path, ["dist/**/*"], discard_paths=True)) == ["b.zip", "c.zip", "d.txt"]
    assert artifacts.select(tmp_path, ["**/*"], base_directory="../") == []


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_shell_carries_env_and_directory(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    lines: list[str] = []
    session = ShellSession(tmp_path / "state", {"PATH": "/usr/bin:/bin", "CODEBUILD_SRC_DIR": str(src)})

    async def go() -> None:
        first = await session.run_phase("INSTALL", ["export A=1", "B=2", "mkdir sub && cd sub"], [], lines.extend)
        assert first.status == "SUCCEEDED"
        second = await session.run_phase("BUILD", ['echo "a=$A b=$B dir=$(basename $PWD)"', "exit 4", "echo no"],
                                         ["echo finally-ran"], lines.extend)
        assert second.status == "FAILED" and second.exit_code == 4 and second.command == "exit 4"
        third = await session.run_phase("POST_BUILD", ["echo still $A", "export C=3"], [], lines.extend)
        assert third.status == "SUCCEEDED"

    run(go())
    text = "\n".join(lines)
    assert "a=1 b=2 dir=sub" in text and "finally-ran" in text and "still 1" in text
    assert "\nno\n" not in text + "\n"
    assert session.final_environment()["C"] == "3"


def test_shell_timeout_and_stop(tmp_path: Path) -> None:
    session = ShellSession(tmp_path / "state", {"PATH": "/usr/bin:/bin", "CODEBUILD_SRC_DIR": str(tmp_path)})

    async def go() -> None:
        started = time.monotonic()
        out = await session.run_phase("BUILD", ["sleep 30 & wait"], [], lambda _: None, deadline=time.monotonic() + 0.5)
        assert out.status == "TIMED_OUT" and time.monotonic() - started < 5
        other = ShellSession(tmp_path / "state2", {"PATH": "/usr/bin:/bin", "CODEBUILD_SRC_DIR": str(tmp_path)})
        task = asyncio.ensure_future(other.run_phase("BUILD", ["sleep 30"], [], lambda _: None))
        await asyncio.sleep(0.3)
        await other.stop()
        assert (await task).status == "STOPPED"
        assert (await other.run_phase("POST_BUILD", ["true"], [], lambda _: None)).status == "STOPPED"

    run(go())
