"""A records layer saved in a project reopens through the declared reader, pseudonymised again."""

from gis_desk.io.gazetteer import import_gazetteer
from gis_desk.io.records import import_records
from gis_desk.session import Session

GAZETTEER = "UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE\n" + "\n".join(
    f"{100000000 + i},{380000 + 10 * i},{395000 + 5 * i},53.4,-2.3" for i in range(20))
# 5 valid CHIs (check digits from the modulus-11 rule) and one row whose UPRN is not in the gazetteer
RECORDS = """record_id,CHI,UPRN,hours
1,0101011237,100000001,5
2,0101011245,100000002,3
3,0101011253,100000003,7
4,0101011261,100000004,2
5,0101011288,999999999,4
"""


def test_saved_records_layer_reopens_without_raw_identifiers(tmp_path):
    (tmp_path / "gaz.csv").write_text(GAZETTEER)
    import_gazetteer(tmp_path / "gaz.csv", tmp_path / "gaz.uprn")
    (tmp_path / "care.csv").write_text(RECORDS)
    dataset, report = import_records(tmp_path / "care.csv", tmp_path / "gaz.uprn")
    assert (report.matched, report.unmatched) == (4, 1)

    session = Session()
    session.add_layers([session.layer_for(dataset, name="Care packages")])
    session.save(tmp_path / "care.gdesk")
    assert "0101011237" not in (tmp_path / "care.gdesk").read_text()

    reopened = Session()
    reopened.load(tmp_path / "care.gdesk")
    layer = reopened.project.layers[0]
    assert not layer.is_broken, getattr(layer, "error", "")
    assert len(layer.dataset.frame) == 5
    chi_values = layer.dataset.frame["CHI"].astype(str).tolist()
    assert all(v.startswith("p_") for v in chi_values)
    assert chi_values == dataset.frame["CHI"].astype(str).tolist()  # same user key, same tokens
