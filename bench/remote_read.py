"""Reading one 4 KB file of dataset A from an S3 remote with no clone (issue 18).

``artctl://`` (``fsspec.open("artctl://bench/ds:latest/<file>", repo="s3://…")`` in a directory
with no repository) against ``dvc.api.read("ds/<file>")`` in a DVC workspace whose cache and
data directory are both gone (only ``ds.dvc`` is left), both against the same moto S3 server,
both a fresh interpreter of the tool's own virtualenv. Publishing (artctl put + push, dvc add +
push) is untimed setup. DVC reads a tracked file from the workspace when it is there, without
touching the remote: the data directory goes too, or the row would time a local read.

The S3 server is ``moto_server`` (the test extra: ``pip install 'moto[server]'``); without it the
rows say why they were skipped. s3fs (artctl's ``s3`` extra) and ``dvc-s3`` are installed into
the tools' virtualenvs on first use.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from datagen import Dataset
from measure import run_quiet
from suites import NAME, Context, Step

S3_KEY, S3_SECRET = "bench-key", "bench-secret"

ARTCTL_READ = (
    "import sys, fsspec\n"
    "with fsspec.open('artctl://' + sys.argv[2], 'rb', repo=sys.argv[1]) as fh:\n"
    "    print(len(fh.read()))\n"
)
DVC_READ = "import sys, dvc.api\nprint(len(dvc.api.read(sys.argv[1], mode='rb')))\n"


class S3Server:
    """A moto S3 server on 127.0.0.1 for the whole benchmark run (started on first use)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""
        self.error = ""
        self.empty_config = workdir / "aws-empty-config"

    def start(self) -> bool:
        """Start once; False (with ``error`` set) when moto is not installed or does not answer."""
        if self.proc is not None or self.error:
            return not self.error
        exe = shutil.which("moto_server")
        if exe is None:
            self.error = "needs moto's server (pip install 'moto[server]')"
            return False
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log = open(self.workdir / "moto.log", "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
        self.endpoint = f"http://127.0.0.1:{port}"
        self.empty_config.write_bytes(b"")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.endpoint, timeout=1).read()
                return True
            except OSError:
                time.sleep(0.1)
        self.error = "moto_server did not answer"
        return False

    @property
    def env(self) -> dict[str, str]:
        """botocore's standard chain, pointed at the server (s3fs, artctl and DVC all read it)."""
        return {
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            # No ~/.aws of the user's (another region would break bucket creation); an empty
            # file rather than /dev/null, which DVC's S3 plugin refuses as "not found".
            "AWS_CONFIG_FILE": str(self.empty_config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.empty_config),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def bucket(self) -> str:
        """A new empty bucket, created with a plain PUT (no boto3 needed in the harness)."""
        name = f"bench-{uuid.uuid4().hex[:16]}"
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        urllib.request.urlopen(request, timeout=30).read()
        return name

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


def _ensure_module(python: Path, module: str, package: str, env: dict[str, str]) -> None:
    """``pip install package`` into the venv of ``python`` unless ``module`` imports there."""
    probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, env=env)
    if probe.returncode != 0:
        run_quiet([str(python), "-m", "pip", "install", "--quiet", package], python.parent, env, timeout=3600)


def remote_read_steps(ctx: Context, ds: Dataset, rep_dir: Path, s3: S3Server) -> list[Step]:
    """artctl:// and dvc.api.read of one 4 KB file of ``ds`` from S3, each after its own push."""
    rel = ds.spec.relpath(0)  # never the file the "1 changed" steps modify
    env = {**s3.env, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
    full_env = {**ctx.env, **env}
    steps: list[Step] = []
    if "artctl" in ctx.enabled and not ctx.tools["artctl"].error:
        a = ctx.tools["artctl"].argv
        python = Path(a[0]).parent / "python"
        base = rep_dir / "s3-art"
        repo, nowhere = base / "repo", base / "nowhere"
        url = ""

        def publish() -> None:
            nonlocal url
            _ensure_module(python, "s3fs", "s3fs", full_env)
            url = f"s3://{s3.bucket()}/team"
            repo.mkdir(parents=True)
            nowhere.mkdir()
            for argv in (
                ["init"],
                ["artifact", "put", str(ds.root), "--name", NAME, "--type", "dataset"],
                ["remote", "add", "origin", url, "--default"],
                ["push"],
            ):
                run_quiet(a + argv, repo, full_env)
            step.argv[-2] = url

        step = Step(
            "artctl",
            "s3_read",
            [str(python), "-c", ARTCTL_READ, "", f"{NAME}:latest/{rel}"],
            nowhere,
            prepare=publish,
            check=_printed(ds.spec.size),
            env=env,
        )
        steps.append(step)
    if "dvc" in ctx.enabled and not ctx.tools["dvc"].error:
        d = ctx.tools["dvc"].argv
        python = Path(d[0]).parent / "python"
        base = rep_dir / "s3-dvc"
        dvc_env = {
            **env,
            "DVC_SITE_CACHE_DIR": str(rep_dir / "s3-dvc-site"),
            "XDG_CACHE_HOME": str(rep_dir / "s3-dvc-xdg"),
        }
        dvc_full = {**ctx.env, **dvc_env}

        def dvc_publish() -> None:
            _ensure_module(python, "dvc_s3", "dvc-s3", dvc_full)
            url = f"s3://{s3.bucket()}/dvc"
            base.mkdir(parents=True)
            run_quiet(["cp", "-r", str(ds.root), str(base / "ds")], base, dvc_full)
            for argv in (
                ["init", "--no-scm", "-q"],
                ["config", "core.analytics", "false"],
                ["config", "core.check_update", "false"],
                ["remote", "add", "-d", "s3", url],
                ["remote", "modify", "s3", "endpointurl", s3.endpoint],
                ["add", "ds"],
                ["push"],
            ):
                run_quiet(d + argv, base, dvc_full, timeout=3600)
            ctx.trash.move(base / ".dvc" / "cache", ds.spec.name)  # no local copy: read from S3,
            ctx.trash.move(base / "ds", ds.spec.name)  # not from the workspace (ds.dvc stays)

        steps.append(
            Step(
                "dvc",
                "s3_read",
                [str(python), "-c", DVC_READ, f"ds/{rel}"],
                base,
                prepare=dvc_publish,
                check=_printed(ds.spec.size),
                env=dvc_env,
            )
        )
    return steps


def _printed(size: int):  # type: ignore[no-untyped-def]
    """The read printed the file's length: a fast but wrong read cannot win."""

    def check(stdout: Path) -> tuple[str, str]:
        text = stdout.read_text().strip()
        return ("", "") if text == str(size) else (f"read {text!r} bytes, expected {size}", "")

    return check
