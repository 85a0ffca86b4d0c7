"""Media artifacts with the official client (images, step images, figures, tables) and a 300 MB round trip, all checked after download."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display here

import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from artifact_backends import api, base_url, client, server  # noqa: E402, F401  (both artifact stores)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pattern(height: int, width: int) -> np.ndarray:
    """A deterministic RGB image with every channel varying, so a swapped or shifted pixel shows."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(x * 7) % 256, (y * 13) % 256, (x + y) % 256], axis=-1).astype(np.uint8)


def _download_bytes(client, run_id: str, path: str, tmp_path) -> bytes:
    local = client.download_artifacts(run_id, path, str(tmp_path / "dl"))
    with open(local, "rb") as f:
        return f.read()


def _file_sizes(client, run_id: str, path: str) -> dict[str, int]:
    return {f.path: f.file_size for f in client.list_artifacts(run_id, path) if not f.is_dir}


def test_log_image_from_numpy_array_round_trips_pixels(client, experiment_id, tmp_path):
    array = _pattern(37, 53)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_image(array, "images/array.png")
    run_id = run.info.run_id
    sizes = _file_sizes(client, run_id, "images")
    assert list(sizes) == ["images/array.png"]
    data = _download_bytes(client, run_id, "images/array.png", tmp_path)
    assert data.startswith(PNG_SIGNATURE)
    assert sizes["images/array.png"] == len(data)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), array)
    loaded = mlflow.artifacts.load_image(f"runs:/{run_id}/images/array.png")
    assert loaded.size == (53, 37)
    assert np.array_equal(np.asarray(loaded), array)


def test_log_image_from_pil_round_trips_mode_and_pixels(client, experiment_id):
    rgba = Image.fromarray(np.dstack([_pattern(20, 30), np.full((20, 30), 128, np.uint8)]), "RGBA")
    gray = Image.fromarray(_pattern(16, 16)[:, :, 0], "L")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_image(rgba, "pil/rgba.png")
        mlflow.log_image(gray, "pil/nested/gray.png")
    uri = run.info.artifact_uri
    for original, path in [(rgba, "pil/rgba.png"), (gray, "pil/nested/gray.png")]:
        loaded = mlflow.artifacts.load_image(f"{uri}/{path}")
        assert loaded.mode == original.mode
        assert loaded.size == original.size
        assert loaded.tobytes() == original.tobytes()
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run.info.run_id, "pil")] == [
        ("pil/nested", True),
        ("pil/rgba.png", False),
    ]


@pytest.mark.parametrize("synchronous", [True, False])
def test_step_images_log_full_and_compressed_files(client, experiment_id, tmp_path, synchronous):
    frames = {step: _pattern(24, 24) // (step + 1) for step in range(3)}
    with mlflow.start_run(experiment_id=experiment_id) as run:
        for step, frame in frames.items():
            mlflow.log_image(frame, key="train/samples", step=step, synchronous=synchronous)
        if not synchronous:
            mlflow.flush_artifact_async_logging()
    run_id = run.info.run_id
    assert client.get_run(run_id).data.tags.get("mlflow.loggedImages") == "True"
    files = client.list_artifacts(run_id, "images")
    name = re.compile(
        r"images/train~samples\+step\+(\d+)\+timestamp\+\d+\+[0-9a-f-]{36}(\+compressed\.webp|\.png)"
    )
    seen: dict[tuple[int, str], str] = {}
    for f in files:
        m = name.fullmatch(f.path)
        assert m, f.path
        assert not f.is_dir and f.file_size > 0
        seen[(int(m.group(1)), m.group(2))] = f.path
    assert sorted(seen) == sorted((s, ext) for s in frames for ext in (".png", "+compressed.webp"))
    for step, frame in frames.items():
        full = _download_bytes(client, run_id, seen[(step, ".png")], tmp_path / str(step))
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(full))), frame)
        webp = _download_bytes(client, run_id, seen[(step, "+compressed.webp")], tmp_path / f"w{step}")
        small = Image.open(io.BytesIO(webp))
        assert small.format == "WEBP"
        small.load()  # decodes the whole file: a truncated download fails here


def test_log_figure_png_and_svg_match_a_local_render(client, experiment_id, tmp_path, api):
    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.plot([0, 1, 2, 3], [1, 0, 2, 1], marker="o")
    ax.set_title("loss ✓")
    try:
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_figure(fig, "plots/loss.png")
            mlflow.log_figure(fig, "plots/loss.svg")
        local_png = io.BytesIO()
        fig.savefig(local_png, format="png")
    finally:
        plt.close(fig)
    run_id = run.info.run_id
    assert sorted(_file_sizes(client, run_id, "plots")) == ["plots/loss.png", "plots/loss.svg"]
    png = _download_bytes(client, run_id, "plots/loss.png", tmp_path / "png")
    assert png == local_png.getvalue()
    assert Image.open(io.BytesIO(png)).size == (150, 100)
    svg = _download_bytes(client, run_id, "plots/loss.svg", tmp_path / "svg").decode("utf-8")
    assert "<svg" in svg and "</svg>" in svg
    # The UI fetches figures through /get-artifact.
    resp = api.get("/get-artifact", {"run_uuid": run_id, "path": "plots/loss.png"})
    assert resp.status_code == 200
    assert resp.content == png
    assert resp.headers["Content-Type"].startswith("image/png")


def test_log_table_appends_and_loads_back(client, experiment_id, tmp_path):
    first = pd.DataFrame({"input": ["What is MLflow?", "ünïcode ✓"], "score": [0.5, 1.25], "n": [1, 2]})
    second = {"input": ["another"], "score": [-3.0], "n": [3]}
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_table(first, "eval/table.json")
        mlflow.log_table(second, "eval/table.json")  # appends to the existing artifact
    run_id = run.info.run_id
    expected = pd.concat([first, pd.DataFrame(second)], ignore_index=True)
    raw = json.loads(_download_bytes(client, run_id, "eval/table.json", tmp_path))
    assert raw["columns"] == ["input", "score", "n"]
    assert raw["data"] == expected.values.tolist()
    loaded = client.load_table(experiment_id, "eval/table.json", run_ids=[run_id], extra_columns=["run_id"])
    assert loaded["run_id"].tolist() == [run_id] * 3
    pd.testing.assert_frame_equal(loaded.drop(columns=["run_id"]), expected, check_dtype=False)
    tag = json.loads(client.get_run(run_id).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "eval/table.json", "type": "table"}]
    # Without run IDs the client searches the experiment and downloads each run's table.
    with mlflow.start_run(experiment_id=experiment_id) as other:
        mlflow.log_table({"input": ["x"], "score": [9.0], "n": [4]}, "eval/table.json")
    both = client.load_table(experiment_id, "eval/table.json", extra_columns=["run_id"])
    assert sorted(both["run_id"].tolist()) == sorted([run_id] * 3 + [other.info.run_id])
    assert sorted(both["n"].tolist()) == [1, 2, 3, 4]


def test_log_table_with_image_column_stores_the_images(client, experiment_id):
    images = [Image.fromarray(_pattern(12, 12) // k) for k in (1, 2)]
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_table({"prompt": ["a", "b"], "image": images}, "gen.json")
    run_id = run.info.run_id
    loaded = client.load_table(experiment_id, "gen.json", run_ids=[run_id])
    cells = loaded["image"].tolist()
    assert [c["type"] for c in cells] == ["image", "image"]
    for cell, original in zip(cells, images):
        assert cell["filepath"].startswith("table_images/gen/")
        got = mlflow.artifacts.load_image(f"runs:/{run_id}/{cell['filepath']}")
        assert got.tobytes() == original.tobytes()
        webp = mlflow.artifacts.load_image(f"runs:/{run_id}/{cell['compressed_filepath']}")
        assert webp.format == "WEBP"
        webp.load()


def _sha256_of_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def test_300_mb_artifact_round_trips_byte_for_byte(client, run_id, tmp_path):
    size = 300 * 1024 * 1024
    chunk = 8 * 1024 * 1024
    source = tmp_path / "big" / "weights.bin"
    source.parent.mkdir()
    written = hashlib.sha256()
    with open(source, "wb") as f:
        for offset in range(0, size, chunk):
            block = os.urandom(min(chunk, size - offset))
            written.update(block)
            f.write(block)
    assert source.stat().st_size == size
    client.log_artifact(run_id, str(source), artifact_path="huge")
    [entry] = client.list_artifacts(run_id, "huge")
    assert (entry.path, entry.file_size) == ("huge/weights.bin", size)
    source.unlink()  # keep disk use to one copy on the client side
    out = client.download_artifacts(run_id, "huge/weights.bin", str(tmp_path / "dl"))
    assert os.path.getsize(out) == size
    assert _sha256_of_file(out) == written.hexdigest()
