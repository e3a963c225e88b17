"""The Dask example of docs/larger-data.md, saved as a script and run as written on a
two-worker local cluster: one task per Parquet file, each writing its codes with the ids
carried through."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

DOC = Path(__file__).resolve().parents[1] / "docs" / "larger-data.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (dask_block,) = [b for b in blocks if "LocalCluster" in b]
    return dask_block


def test_dask_example_embeds_every_partition(tmp_path, blobs):
    from autoencoders import AutoEncoder

    X, _ = blobs
    AutoEncoder(hidden_dims=(8,), latent_dim=3, epochs=2, random_state=0,
                verbose=0).fit(X).save(tmp_path / "runs" / "big")
    (tmp_path / "data").mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(X)), 3)):
        pq.write_table(pa.table({"id": rows + 1000, "x": pa.array(list(X[rows]))}),
                       tmp_path / "data" / f"part-{i}.parquet")
    (tmp_path / "embed.py").write_text(_example())
    proc = subprocess.run([sys.executable, "embed.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) == 3  # the three files written
    ae = AutoEncoder.load(tmp_path / "runs" / "big")
    for i, rows in enumerate(np.array_split(np.arange(len(X)), 3)):
        table = pq.read_table(tmp_path / "codes" / f"part-{i}.parquet")
        assert table.column_names == ["id", "autoencoder0", "autoencoder1", "autoencoder2"]
        np.testing.assert_array_equal(table.column("id").to_numpy(), rows + 1000)
        codes = np.stack([table.column(f"autoencoder{j}").to_numpy() for j in range(3)],
                         axis=1)
        np.testing.assert_allclose(codes, ae.transform(X[rows]), rtol=1e-5, atol=1e-6)
