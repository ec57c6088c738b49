"""The Docker deployment, checked without Docker: docker-compose.yml against the Compose
Specification's JSON Schema and against what the project needs, and the Dockerfile's text."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess

import pytest
import yaml

from support.samples import ROOT

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

MONITOR_SERVICES = ("init", "worker", "beat")
MONITOR_COMMANDS = {"run", "worker", "beat", "init-db"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# Bind-mount sources the user provides (the repository ships examples); the header
# comment of docker-compose.yml must name them.
USER_FILES = {"feeds.yaml", "monitor.yaml"}
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|WEBHOOK|API_?KEY", re.I)
# ${VAR}, ${VAR:-default}, ${VAR-default}, and ${VAR:?error} / ${VAR?error} (required, no default)
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?(?:-(?P<default>[^}]*)|\?[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _command(service: dict) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def _seconds(duration: str | int) -> float:
    if isinstance(duration, int):
        return duration
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _mounts(service: dict) -> list[tuple[str, str, str]]:
    """(source, target, mode) of every volume entry, short or long syntax."""
    mounts = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target, *mode = entry.split(":")
            mounts.append((source, target, mode[0] if mode else "rw"))
        else:
            mounts.append((entry.get("source", ""), entry["target"],
                           "ro" if entry.get("read_only") else "rw"))
    return mounts


def _is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


# -- the Compose Specification -----------------------------------------------------------


@pytest.fixture(scope="module")
def compose_schema() -> dict:
    pytest.importorskip("jsonschema")
    pytest.importorskip("check_jsonschema")  # vendors the Compose Specification's schema
    from importlib.resources import files

    vendored = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(vendored.read_text(encoding="utf-8"))


def _schema_errors(schema: dict, document: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def test_compose_file_follows_the_compose_specification(compose, compose_schema):
    assert _schema_errors(compose_schema, compose) == []


def test_the_schema_does_catch_mistakes(compose, compose_schema):
    broken = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    broken["services"]["worker"]["depends_on"]["redis"]["condition"] = "service_ready"
    broken["services"]["beat"]["deploy"]["replicas"] = "one"
    broken["services"]["redis"]["healthcheck"]["tests"] = ["CMD", "true"]
    assert len(_schema_errors(compose_schema, broken)) >= 3


# -- what the project needs from it ------------------------------------------------------


def test_compose_file_is_plain_yaml_without_version(compose):
    assert isinstance(compose, dict)
    assert "version" not in compose  # obsolete in the Compose Specification
    assert set(compose["services"]) >= {"redis", "postgres", *MONITOR_SERVICES}


def test_every_service_has_an_image_or_a_build(services):
    for name, service in services.items():
        assert "image" in service or "build" in service, name


def test_monitor_services_share_one_definition(compose, services):
    shared = compose["x-monitor"]
    for name in MONITOR_SERVICES:
        service = services[name]
        assert service["build"] == shared["build"] == "."
        assert _environment(service) == _environment(shared), name
        assert service["volumes"] == shared["volumes"], name


def test_monitor_services_reach_redis_and_postgres(compose):
    env = _environment(compose["x-monitor"])
    assert env["MONITOR_BROKER_URL"] == "redis://redis:6379/0"
    assert re.fullmatch(r"postgresql\+psycopg://monitor:[^@]+@postgres:5432/monitor",
                        env["MONITOR_DATABASE_URL"])
    assert env["MONITOR_RULES_PATH"] == "/app/rules"
    assert env["MONITOR_FEEDS_PATH"] == "/app/feeds.yaml"
    assert env["MONITOR_CONFIG"] == "/app/monitor.yaml"
    assert env["SMTP_PASSWORD"] == "${SMTP_PASSWORD:-}"


def test_worker_can_be_scaled(services):
    worker = services["worker"]
    assert "container_name" not in worker  # --scale worker=N needs generated names
    assert _command(worker) == ["monitor", "worker"]
    assert worker["restart"] == "unless-stopped"
    assert _seconds(worker["stop_grace_period"]) >= 30  # time for a task to finish
    assert worker.get("deploy", {}).get("replicas", 1) >= 1


def test_exactly_one_beat(services):
    beat = services["beat"]
    assert _command(beat) == ["monitor", "beat"]
    assert beat["deploy"]["replicas"] == 1
    assert beat.get("scale", 1) == 1
    assert beat["restart"] == "unless-stopped"
    others = [n for n, s in services.items() if n != "beat" and "beat" in _command(s)]
    assert others == []


def test_schema_is_created_once_before_workers_and_beat(services):
    init = services["init"]
    assert _command(init) == ["monitor", "init-db"]
    assert init["restart"] == "no"  # a one-shot: restarting it would loop
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["init"] == {"condition": "service_completed_successfully"}


def test_dependencies_exist_are_healthy_and_acyclic(services):
    graph: dict[str, set[str]] = {}
    for name, service in services.items():
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert spec["condition"] in CONDITIONS, (name, target, spec)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
        graph[name] = set(depends)
    for name in MONITOR_SERVICES:
        for backing in ("redis", "postgres"):
            assert services[name]["depends_on"][backing] == {"condition": "service_healthy"}

    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]):
        assert node not in path, f"dependency cycle: {' -> '.join(path + (node,))}"
        if node not in done:
            for target in graph.get(node, ()):
                visit(target, path + (node,))
            done.add(node)

    for name in graph:
        visit(name, ())


def test_redis_keeps_every_task(services):
    redis = services["redis"]
    assert str(redis["image"]).startswith("redis:7")
    command = " ".join(_command(redis))
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert any(target == "/data" and not _is_bind(source) for source, target, _ in _mounts(redis))
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])


def test_postgres_is_the_monitor_database(services):
    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:16")
    env = _environment(postgres)
    assert env["POSTGRES_USER"] == env["POSTGRES_DB"] == "monitor"
    assert REFERENCE.fullmatch(env["POSTGRES_PASSWORD"])
    assert any(target == "/var/lib/postgresql/data" and not _is_bind(source)
               for source, target, _ in _mounts(postgres))
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source, _, _ in _mounts(service):
            if source and not _is_bind(source):
                assert source in declared, f"{name}: volume {source} is not declared"


def test_bind_mounts_exist_or_are_documented(services):
    header = COMPOSE.read_text(encoding="utf-8").split("\nname:")[0]
    for name, service in services.items():
        for source, target, mode in _mounts(service):
            if not _is_bind(source):
                continue
            assert source.startswith("./"), f"{name}: {source} should be relative to the project"
            relative = source[2:]
            if relative in USER_FILES:
                assert f"./{relative}" in header, f"{relative} is not documented as user-provided"
            else:
                assert (ROOT / relative).exists(), f"{name}: bind-mount source {source} is missing"
            if target.startswith("/app/"):
                assert mode == "ro", f"{name}: {target} should be read-only"


def test_config_files_are_mounted_where_the_environment_points(compose):
    shared = compose["x-monitor"]
    targets = {target for _, target, _ in _mounts(shared)}
    env = _environment(shared)
    for key in ("MONITOR_RULES_PATH", "MONITOR_FEEDS_PATH", "MONITOR_CONFIG"):
        assert env[key] in targets, key


def test_no_secret_is_written_in_the_compose_file(services):
    for name, service in services.items():
        for key, value in _environment(service).items():
            for m in REFERENCE.finditer(value):
                default = m.group("default") or ""
                # Only the local postgres password has a (development) default.
                assert default in ("", "monitor") and (
                    default == "" or m.group("name") == "POSTGRES_PASSWORD"), (name, key, value)
            if SECRET_NAME.search(key):
                assert REFERENCE.fullmatch(value), f"{name}: {key} must be a ${{...}} reference"
            credentials = re.search(r"://[^/:@]+:([^@]*)@", value)
            if credentials:
                assert REFERENCE.fullmatch(credentials.group(1)), f"{name}: {key} has a password"


# -- Dockerfile and .dockerignore --------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def _args(dockerfile, instruction: str) -> list[str]:
    return [rest for word, rest in dockerfile if word == instruction]


def test_dockerfile_builds_the_package_on_python_slim(dockerfile):
    assert _args(dockerfile, "FROM") == ["python:3.11-slim"]
    runs = " ".join(_args(dockerfile, "RUN"))
    assert _args(dockerfile, "WORKDIR")[-1] == "/app"
    # The package, with the extras the EXTRAS build argument names (none by default):
    # expand the install target the way the build's /bin/sh does.
    target = re.search(r'pip install --no-cache-dir ("[^"]*"|\S+)', runs).group(1)
    assert 'ARG EXTRAS=""' in DOCKERFILE.read_text()

    def expand(extras: str) -> str:
        return subprocess.run(["sh", "-c", f"EXTRAS={extras!r}; echo {target}"], capture_output=True,
                              text=True, check=True).stdout.strip()

    assert expand("") == "."
    assert expand("ner") == ".[ner]"


def test_dockerfile_runs_as_an_unprivileged_user(dockerfile):
    words = [word for word, _ in dockerfile]
    users = _args(dockerfile, "USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")


def test_dockerfile_default_command_is_the_worker(dockerfile):
    assert not _args(dockerfile, "ENTRYPOINT")
    assert json.loads(_args(dockerfile, "CMD")[-1]) == ["monitor", "worker"]  # exec form: gets SIGTERM


def test_commands_are_monitor_subcommands(dockerfile, services):
    commands = [json.loads(_args(dockerfile, "CMD")[-1])]
    commands += [_command(s) for n, s in services.items() if n in MONITOR_SERVICES]
    for command in commands:
        assert command[0] == "monitor" and command[1] in MONITOR_COMMANDS, command
    try:
        cli = importlib.import_module("monitor.cli")
    except ImportError:
        pytest.skip("monitor.cli is not there yet to check the subcommands against")
    import click

    group = getattr(cli, "cli", None)  # the root group; the package also imports its subgroups
    if not isinstance(group, click.Group):
        pytest.skip("monitor.cli has no root click group")
    for command in commands:
        assert command[1] in group.commands, f"monitor has no {command[1]!r} command"


def test_dockerignore_keeps_secrets_and_clutter_out_but_the_package_in():
    patterns = {line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".env", "monitor.yaml"} <= patterns
    for needed in ("pyproject.toml", "README.md", "monitor", "workers", "rules"):
        assert needed not in patterns and f"{needed}/" not in patterns, needed
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'include = ["monitor*", "workers*"]' in pyproject
