"""The services' image sizes: this working tree's beside a baseline commit's, built the same way here.

Each tree builds mongo-seed, logger and monitor with its own compose.yaml and Dockerfiles, on the same
BASE_IMAGE (build/docker-images.env when ci/docker/setup.sh wrote one, else python:3.12-slim). Prints
each image's size, the ratio this tree / baseline, and the base image's size, which both share. Needs a
Docker engine (ci/docker/setup.sh starts one); the images stay, as the build cache of the next run.

    .venv/bin/python bench/image_sizes.py --baseline <commit>
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVICES = ["mongo-seed", "logger", "monitor"]
MB = 1_000_000


def compose_command() -> list[str]:
    done = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return ["docker", "compose"] if done.returncode == 0 else ["docker-compose"]


def docker_images_env() -> dict[str, str]:
    """Return the BASE_IMAGE and MONGO_IMAGE that ci/docker/setup.sh chose for this machine, if it ran."""
    path = REPO / "build" / "docker-images.env"
    if not path.exists():
        return {}
    pairs = (line.removeprefix("export ").split("=", 1) for line in path.read_text().splitlines())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2 and not pair[0].startswith("#")}


def baseline_tree(commit: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="clara-images-baseline-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True).stdout
    archive_path = folder / "tree.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


def image_size(name: str) -> int:
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", name], capture_output=True, text=True)
    return int(done.stdout) if done.returncode == 0 else 0


def build(tree: Path, project: str, env: dict[str, str]) -> dict[str, int]:
    """Build the services' images of `tree` under the compose project `project`; return their sizes in bytes."""
    command = [*compose_command(), "-p", project, "-f", "compose.yaml", "build", *SERVICES]
    subprocess.run(command, cwd=tree, env=env, check=True)
    # Compose v1 names an image project_service, v2 project-service.
    return {service: image_size(f"{project}_{service}") or image_size(f"{project}-{service}") for service in SERVICES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    args = parser.parse_args()
    env = {**os.environ, **docker_images_env()}
    base_image = env.get("BASE_IMAGE", "python:3.12-slim")
    baseline = baseline_tree(args.baseline)
    try:
        before = build(baseline, "clara-size-baseline", env)
    finally:
        shutil.rmtree(baseline.parent)
    after = build(REPO, "clara-size-tree", env)
    print(f"\nBASE_IMAGE {base_image}: {image_size(base_image) / MB:.0f} MB (in every image)")
    print(f"{'image':<12} {'baseline ' + args.baseline:>18} {'this tree':>12} {'ratio':>7}")
    for service in SERVICES:
        ratio = after[service] / before[service] if before[service] else float("nan")
        print(f"{service:<12} {before[service] / MB:>15.0f} MB {after[service] / MB:>9.0f} MB {ratio:>7.2f}")
    total_before, total_after = sum(before.values()), sum(after.values())
    ratio = total_after / total_before
    print(f"{'all three':<12} {total_before / MB:>15.0f} MB {total_after / MB:>9.0f} MB {ratio:>7.2f}")


if __name__ == "__main__":
    main()
