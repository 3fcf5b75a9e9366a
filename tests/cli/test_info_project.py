"""``gis-desk info`` on a project file summarises its layers, broken ones included."""

import json
import shutil

from gis_desk.cli.main import main
from gis_desk.testing.fixtures import SAMPLE_DIR


def test_info_lists_project_layers_top_first(capsys):
    code = main(["info", str(SAMPLE_DIR / "trafford" / "trafford.gdesk"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["kind"] == "project" and out["crs"] == "EPSG:27700"
    names = [layer["name"] for layer in out["layers"]]
    assert names[0] == "Council land and buildings" and out["layers"][-1]["kind"] == "tiles"
    assert not any("error" in layer for layer in out["layers"])


def test_info_reports_a_broken_layer(tmp_path, capsys):
    folder = tmp_path / "trafford"
    shutil.copytree(SAMPLE_DIR / "trafford", folder)
    (folder / "lsoa11_imd2019.gpkg").unlink()
    code = main(["info", str(folder / "trafford.gdesk")])
    text = capsys.readouterr().out
    assert code == 0
    assert "BROKEN" in text and "lsoa11_imd2019.gpkg" in text
