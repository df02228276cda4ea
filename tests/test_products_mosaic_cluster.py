"""The mosaic's COG conversions run on a Dask cluster and give the same products as a plain run."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio
from shapely.geometry import box
from test_products_mosaic import small_programme, write_layer

from atlas.products.mosaic import build_mosaics


def test_cog_conversions_on_a_dask_cluster_give_the_same_products(tmp_path, programme):
    from distributed import Client, LocalCluster, get_task_stream

    prog = small_programme(programme, (100.0, 10.0, 101.0, 10.5))
    boundaries = gpd.GeoDataFrame({"iso3": ["AAA", "BBB"], "name": ["A", "B"]},
                                  geometry=[box(100.0, 10.0, 100.5, 10.5), box(100.5, 10.0, 101.0, 10.5)],
                                  crs="EPSG:4326")
    rng = np.random.default_rng(7)
    inputs = {}
    for iso3, west in (("AAA", 100.0), ("BBB", 100.5)):
        (tmp_path / iso3).mkdir()
        inputs[iso3] = {
            (layer, "0-30"): write_layer(tmp_path / iso3 / f"{layer}.tif", west, 10.5,
                                         rng.uniform(0, 20, (60, 60)).astype("float32"), -9999.0)
            for layer in ("ECe", "ESP")
        }
    plain = build_mosaics(inputs, {"AAA": 1, "BBB": 1}, prog, tmp_path / "plain", boundaries)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client, get_task_stream(client) as stream:
        on_cluster = build_mosaics(
            inputs, {"AAA": 1, "BBB": 1}, prog, tmp_path / "cluster", boundaries,
            map_fn=lambda func, items: client.gather(client.map(func, list(items), pure=False)),
        )
    ran = [t for t in stream.data if str(t["key"]).startswith("cog_job")]
    tifs = [key for key, path in plain.products.items() if path.suffix == ".tif"]
    assert len(ran) == len(tifs) > 0  # every conversion ran as a task on the cluster
    assert {p.name for p in plain.paths} == {p.name for p in on_cluster.paths}
    for key in tifs:
        with rasterio.open(plain.products[key]) as a, rasterio.open(on_cluster.products[key]) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))
            assert a.overviews(1) == b.overviews(1)
