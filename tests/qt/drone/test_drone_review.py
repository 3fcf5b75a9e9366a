"""Reviewing footage and photos: bookmarks kept in the project, snapshots, the photo viewer,
footprints laid on a terrain model, the flight summary and ODM import dialogs."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import shapely
from PySide6.QtCore import QPointF, Qt

from drone_gui_fixtures import FPS, X0, Y0, make_footage_layer, track_xy, wait_frame, write_photos, write_srt
from gis_desk.io.video import read_frame_number


@pytest.fixture
def srt_footage(drone, numbered_clip, tmp_path, qtbot):
    """Footage opened from a real SRT file with the clip beside it (same stem), as a user would."""
    clip = shutil.copy(numbered_clip, tmp_path / "DJI_0001.MP4")
    srt = write_srt(tmp_path / "DJI_0001.SRT")
    [layer] = drone.window.session.open(srt, reader="builtins.read_footage")
    assert layer.video_path == str(clip)
    drone.window.layer_tree.set_current_layer(layer)
    drone.show_player()
    drone.window.canvas.zoom_to_layer(layer)
    wait_frame(qtbot, drone.player, 0)
    return layer


def test_two_bookmarks_saved_in_the_project_and_restored(drone, srt_footage, tmp_path, qtbot):
    w, player, panel = drone.window, drone.player, drone.bookmarks
    player.seek_index(20)
    wait_frame(qtbot, player, 20)
    first = drone.add_bookmark("Roof of the extension")
    player.seek_index(60)
    wait_frame(qtbot, player, 60)
    panel.ask_note = lambda t: f"Car park entrance at {t:.1f} s"  # the note dialog's answer
    second = drone.add_bookmark()
    assert second.note == "Car park entrance at 2.4 s"
    assert [b.time_s for b in srt_footage.bookmarks] == pytest.approx([0.8, 2.4])
    assert panel.table.rowCount() == 2 and panel.table.item(0, 1).text() == "Roof of the extension"
    # each bookmark is where the drone was at that moment
    for b, t in ((first, 0.8), (second, 2.4)):
        x, y = track_xy(t)
        assert (b.x, b.y) == pytest.approx((float(x), float(y)), abs=0.05)
    # edit a note in place
    panel.table.item(1, 1).setText("Car park entrance")
    assert srt_footage.bookmarks[1].note == "Car park entrance"
    # jump: double-clicking the time seeks the video
    panel.table.cellDoubleClicked.emit(0, 0)
    wait_frame(qtbot, player, 20)
    assert read_frame_number(player.current_rgb) == 20

    path = w.session.save(tmp_path / "review.gdesk")
    w.open_project(path, ask_to_save=False)
    [layer] = [lyr for lyr in w.session.project.layers if lyr.kind == "footage"]
    assert layer is not srt_footage
    assert player.layer is layer  # the reopened project's footage goes into the player
    wait_frame(qtbot, player, 0)
    assert [(b.time_s, b.note) for b in layer.bookmarks] == [(pytest.approx(0.8), "Roof of the extension"),
                                                              (pytest.approx(2.4), "Car park entrance")]
    assert panel.table.rowCount() == 2 and panel.table.item(1, 1).text() == "Car park entrance"
    panel.jump_to(1)
    wait_frame(qtbot, player, 60)
    assert read_frame_number(player.current_rgb) == 60

    # export both ways, then delete one
    geo = panel.export(tmp_path / "marks.geojson")
    features = json.loads(geo.read_text())["features"]
    assert [f["properties"]["note"] for f in features] == ["Roof of the extension", "Car park entrance"]
    lon, lat = features[0]["geometry"]["coordinates"]
    assert lon == pytest.approx(layer.position_at(0.8)["lon"], abs=1e-6)
    with open(panel.export(tmp_path / "marks.csv"), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and rows[1]["note"] == "Car park entrance"
    panel.table.selectRow(0)
    panel.delete(0)
    assert [b.note for b in layer.bookmarks] == ["Car park entrance"] and panel.table.rowCount() == 1


def test_bookmark_cancelled_adds_nothing(drone, footage):
    drone.bookmarks.ask_note = lambda t: None
    assert drone.add_bookmark() is None and footage.bookmarks == []


def test_snapshot_png_and_geojson(drone, footage, tmp_path, qtbot):
    player = drone.player
    player.seek_index(37)
    wait_frame(qtbot, player, 37)
    png, geojson = drone.export_snapshot(tmp_path / "shot")
    assert png.suffix == ".png" and png.exists()
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape == (180, 320, 3) and read_frame_number(image) == 37
    record = json.loads(geojson.read_text())["features"][0]
    props = record["properties"]
    t = 37 / FPS
    expected = footage.position_at(t)
    assert props["frame_index"] == 37 and props["time_s"] == pytest.approx(t)
    assert props["x"] == pytest.approx(float(track_xy(t)[0]), abs=0.01)
    assert props["y"] == pytest.approx(float(track_xy(t)[1]), abs=0.01)
    assert record["geometry"]["coordinates"] == pytest.approx([expected["lon"], expected["lat"]])
    assert props["rel_alt"] == pytest.approx(50 + 10 * t, abs=0.01) and props["gimbal_pitch"] == -90
    assert props["crs"] == "EPSG:27700" and props["video"].endswith("flight.mp4")


def test_snapshot_without_a_frame_says_so(drone, tmp_path):
    assert drone.export_snapshot(tmp_path / "x.png") is None
    assert not (tmp_path / "x.png").exists()


def test_photo_opens_from_its_footprint_and_steps_in_flight_order(drone, tmp_path, qtbot):
    w = drone.window
    layer = write_photos(tmp_path / "photos", n=5)
    w.session.add_layers([layer])
    w.canvas.zoom_to_layer(layer)
    w.canvas.set_tool("photo")
    assert drone.actions["photo_tool"].isChecked()
    # inside photo 3's footprint (40 x 30 m box), 12 m from its camera point
    px, py = w.canvas.viewport.world_to_pixel(X0 + 60.0 * 3 + 12.0, Y0 - 80.0 + 6.0)
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, pos=QPointF(float(px), float(py)).toPoint())
    viewer = drone.photo_viewer
    assert drone.photo_dock.isVisible() and viewer.current_row == 3
    assert _pixmap_rgb_number(viewer) == 3
    assert "DJI_0003.JPG" in viewer.caption.text()
    fields = {viewer.table.item(i, 0).text(): viewer.table.item(i, 1).text() for i in range(viewer.table.rowCount())}
    assert fields["name"] == "DJI_0003.JPG" and fields["rel_alt"] == "60"
    # photos were taken in reverse name order: "next" in flight order is DJI_0002
    viewer.next()
    assert viewer.current_row == 2 and _pixmap_rgb_number(viewer) == 2
    viewer.setFocus()
    qtbot.keyClick(viewer, Qt.Key.Key_PageDown)
    assert viewer.current_row == 1
    qtbot.keyClick(viewer, Qt.Key.Key_PageUp)
    qtbot.keyClick(viewer, Qt.Key.Key_PageUp)
    qtbot.keyClick(viewer, Qt.Key.Key_PageUp)
    assert viewer.current_row == 4 and not viewer.prev_button.isEnabled()
    # zoom and fit
    fit = viewer.image.zoom
    viewer.image.zoom_by(2.0)
    assert viewer.image.zoom == pytest.approx(2 * fit)
    viewer.fit_button.click()
    assert viewer.image.zoom == pytest.approx(fit)
    # clicking empty ground opens nothing
    px, py = w.canvas.viewport.world_to_pixel(X0 + 60.0 * 2, Y0 + 200.0)
    assert drone.photo_tool.click_at(QPointF(float(px), float(py))) is None
    assert viewer.current_row == 4


def _pixmap_rgb(viewer) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = viewer.image._item.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * height)
    return data.reshape(height, image.bytesPerLine())[:, :width * 3].reshape(height, width, 3)


def _pixmap_rgb_number(viewer) -> int:
    return read_frame_number(_pixmap_rgb(viewer))


def _write_dtm(path, z_fn):
    import rasterio
    from rasterio.transform import from_origin

    cell = 2.0
    x0, y1 = X0 - 300.0, Y0 + 300.0
    w, h = 400, 300
    xs = x0 + (np.arange(w) + 0.5) * cell
    ys = y1 - (np.arange(h) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32",
                       crs="EPSG:27700", transform=from_origin(x0, y1, cell, cell)) as ds:
        ds.write(z_fn(gx, gy).astype("float32"), 1)
    return path


def test_footprint_is_laid_on_the_terrain_model(drone, footage, tmp_path, qtbot):
    player = drone.player
    player.seek_index(74)
    wait_frame(qtbot, player, 74)
    flat = drone.last_footprint
    assert drone.terrain_layer() is None
    # take-off at 30 m above ODN; from 20 m east of it the ground is a 20 m higher plateau
    dtm = _write_dtm(tmp_path / "site_dtm.tif", lambda x, y: np.where(x >= X0 + 20, 50.0, 30.0))
    [terrain] = drone.window.session.open(dtm)
    assert drone.terrain_layer() is terrain
    player.seek_index(73)
    wait_frame(qtbot, player, 73)
    player.seek_index(74)
    wait_frame(qtbot, player, 74)
    raised = drone.last_footprint
    # the camera is 79.6 m above take-off, so 59.6 m above the plateau: a smaller footprint
    assert raised.area / flat.area == pytest.approx((59.6 / 79.6) ** 2, rel=0.03)
    x, y = track_xy(74 / FPS)
    assert raised.centroid.distance(shapely.Point(float(x), float(y))) < 1.0
    # a raster that is not named as a terrain model is not used
    drone.window.session.remove_layers([terrain])
    other = _write_dtm(tmp_path / "site_dsm.tif", lambda x, y: x * 0 + 90.0)
    drone.window.session.open(other)
    assert drone.terrain_layer() is None


def test_flight_summary_dialog_shows_the_height_check(drone, qtbot):
    from types import SimpleNamespace

    from gis_desk.qt.drone.dialogs import FlightSummaryDialog

    layer = make_footage_layer(None)
    ok = SimpleNamespace(duration_s=125.0, distance_m=1234.5, max_height_m=98.0, max_distance_from_takeoff_m=410.0,
                         takeoff=(53.45, -2.31), exceeds=[])
    dialog = FlightSummaryDialog(layer, ok)
    qtbot.addWidget(dialog)
    assert dialog.values["duration"].text() == "2 min 05 s" and dialog.values["distance"].text() == "1,234.5 m"
    assert "Within the 120 m" in dialog.check_label.text() and dialog.exceeds == []
    high = SimpleNamespace(**{**vars(ok), "max_height_m": 131.2})
    dialog = FlightSummaryDialog(layer, high)
    qtbot.addWidget(dialog)
    assert "Check failed" in dialog.check_label.text() and "131.2 m" in dialog.check_label.text()


def test_flight_summary_from_the_menu(drone, footage, qtbot):
    pytest.importorskip("gis_desk.analysis.flight", reason="flight_summary (gis_desk/analysis/flight.py) not built yet")
    drone.actions["summary"].trigger()
    dialog = drone.dialog
    assert dialog is not None and dialog.isVisible()
    # the synthetic track: 3 s at (40, 10) m/s, rel_alt 50 -> 79.6 m
    assert dialog.summary.max_height_m == pytest.approx(79.6, abs=0.1)
    assert dialog.summary.distance_m == pytest.approx(np.hypot(40, 10) * 74 / FPS, rel=0.02)
    assert dialog.exceeds == [] and "Within the 120 m" in dialog.check_label.text()
    dialog.close()
    # the same track flown 100 m higher breaks the 120 m policy, and the dialog says so
    high = make_footage_layer(None)
    high.dataset.telemetry.rel_alt[:] += 100.0
    drone.window.session.add_layers([high])
    drone.window.layer_tree.set_current_layer(high)
    drone.actions["summary"].trigger()
    dialog = drone.dialog
    assert dialog.summary.max_height_m == pytest.approx(179.6, abs=0.1)
    assert "Check failed" in dialog.check_label.text() and "120" in dialog.check_label.text()
    dialog.close()


def test_odm_dialog_lists_found_and_missing(drone, tmp_path, qtbot):
    pytest.importorskip("gis_desk.io.odm", reason="gis_desk/io/odm.py not built yet")
    project = tmp_path / "odm_project"
    (project / "odm_orthophoto").mkdir(parents=True)
    _write_dtm(project / "odm_orthophoto" / "odm_orthophoto.tif", lambda x, y: x * 0 + 1.0)
    dialog = drone.import_odm(str(project))  # a child of the window, deleted when closed
    html = dialog.report.toPlainText()
    assert "Found" in html and "odm_orthophoto.tif" in html and "Missing" in html
    assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    empty = tmp_path / "empty"
    empty.mkdir()
    dialog.inspect(empty)
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.close()


def test_track_without_video_still_plays_the_marker(drone, qtbot):
    w, player = drone.window, drone.player
    layer = make_footage_layer(None)  # 75 fixes at 25 per second, no video
    w.session.add_layers([layer])
    drone.set_footage(layer)
    w.canvas.zoom_to_layer(layer)
    assert not player.has_video and player.decoder.frame_count == 75 and player.decoder.fps == pytest.approx(25)
    assert "telemetry only" in player.view.placeholder and player.play_button.isEnabled()
    assert drone.overlay.position["x"] == pytest.approx(float(track_xy(0)[0]), abs=0.01)
    # click the track: the marker jumps there
    x, y = track_xy(1.6)
    px, py = w.canvas.viewport.world_to_pixel(float(x), float(y))
    t = drone.seek_tool.click_at(QPointF(float(px), float(py)))
    assert t == pytest.approx(1.6, abs=0.05)
    assert player.current_index == int(round(t * FPS))
    assert drone.overlay.position["x"] == pytest.approx(float(track_xy(player.current_index / FPS)[0]), abs=0.01)
    player.step(1)
    assert player.current_index == int(round(t * FPS)) + 1
    # playing moves the marker on to the end of the track
    player.set_speed(4.0)
    player.play()
    qtbot.waitUntil(lambda: not player.playing, timeout=5000)
    assert player.current_index == 74
    assert drone.overlay.position["x"] == pytest.approx(float(track_xy(74 / FPS)[0]), abs=0.01)
    # a bookmark without a picture still records where the drone was; a snapshot needs a picture
    mark = drone.add_bookmark("end of the run")
    assert (mark.x, mark.y) == pytest.approx(tuple(float(v) for v in track_xy(74 / FPS)), abs=0.05)
    assert drone.export_snapshot("/nonexistent/never.png") is None


def test_real_dji_srt_without_video(drone, real_data, qtbot):
    path = real_data / "dji_srt" / "telemetry-studio" / "DJI_20250723102139_0001_D.SRT"
    if not path.exists():
        pytest.skip(f"real DJI SRT not present: {path}")
    task = drone.add_footage([path])
    assert task is not None
    qtbot.waitUntil(lambda: drone.player.layer is not None, timeout=10000)
    layer, player = drone.player.layer, drone.player
    assert layer.kind == "footage" and len(layer.dataset.telemetry) == 93 and not player.has_video
    assert drone.player_dock.isVisible()
    player.seek_time(1.5)
    expected = layer.position_at(player.current_time)
    assert drone.overlay.position["lat"] == pytest.approx(expected["lat"])
    assert drone.overlay.position["lon"] == pytest.approx(expected["lon"])
    drone.window.canvas.grab()  # the overlay paints a track far from the project CRS's area


def test_real_drone_photos_open_from_the_map_in_flight_order(drone, real_data, qtbot):
    folder = real_data / "drone_photos" / "brighton_beach"
    if not folder.exists():
        pytest.skip(f"real drone photos not present: {folder}")
    w = drone.window
    drone.add_photos(folder)
    qtbot.waitUntil(lambda: any(getattr(lyr, "kind", "") == "photos" for lyr in w.session.project.layers),
                    timeout=20000)
    [layer] = [lyr for lyr in w.session.project.layers if lyr.kind == "photos"]
    w.canvas.zoom_to_layer(layer)
    # the middle of DJI_0020's footprint, in the project CRS
    from gis_desk.core.crs import transform_xy

    row = int(np.flatnonzero(layer.dataset.frame["name"] == "DJI_0020.JPG")[0])
    c = layer.dataset.footprints.iloc[row].centroid
    cam = layer.dataset.frame.geometry.iloc[row]
    # a point between the camera and the footprint centre, nearer this camera than any other
    fx, fy = 0.7 * cam.x + 0.3 * c.x, 0.7 * cam.y + 0.3 * c.y
    x, y = (float(np.asarray(v).ravel()[0]) for v in transform_xy(layer.crs, w.session.project.crs, [fx], [fy]))
    best = drone.photo_at_map(x, y, w.canvas.viewport.pixel_size)
    assert best is not None and drone.photo_viewer.current_row == row
    viewer = drone.photo_viewer
    assert viewer.image.has_image() and viewer.image._item.pixmap().width() == 4000
    assert "DJI_0020.JPG" in viewer.caption.text() and "photo 3 of 6" in viewer.caption.text()
    viewer.next()
    assert layer.dataset.frame["name"].iloc[viewer.current_row] == "DJI_0021.JPG"  # taken 7 s later
    viewer.previous()
    viewer.previous()
    assert layer.dataset.frame["name"].iloc[viewer.current_row] == "DJI_0019.JPG"


def test_several_photos_make_one_layer(drone, real_data, tmp_path, qtbot):
    folder = real_data / "drone_photos" / "brighton_beach"
    if not folder.exists():
        pytest.skip(f"real drone photos not present: {folder}")
    copies = [shutil.copy(folder / f"DJI_00{i}.JPG", tmp_path / f"DJI_00{i}.JPG") for i in (18, 19, 20)]
    w = drone.window
    assert drone.add_photos([copies[0], copies[2]]) is not None
    qtbot.waitUntil(lambda: any(getattr(lyr, "kind", "") == "photos" for lyr in w.session.project.layers),
                    timeout=20000)
    [layer] = [lyr for lyr in w.session.project.layers if lyr.kind == "photos"]
    from gis_desk.qt.drone import _photo_reader_takes_files

    names = sorted(layer.dataset.frame["name"])
    if _photo_reader_takes_files():
        assert names == ["DJI_0018.JPG", "DJI_0020.JPG"]
    else:  # the reader reads whole folders: all three, and the log says why
        assert names == ["DJI_0018.JPG", "DJI_0019.JPG", "DJI_0020.JPG"]
        assert any("All photos in" in line for line in w.message_log.lines())
    assert drone.add_photos([copies[0], folder / "DJI_0021.JPG"]) is None  # two folders: refused, said why


def test_real_odm_project_imported_through_the_dialog(drone, real_data, qtbot):
    pytest.importorskip("gis_desk.io.odm", reason="gis_desk/io/odm.py not built yet")
    folder = real_data / "odm_outputs" / "orthority" / "odm"
    if not folder.exists():
        pytest.skip(f"real ODM outputs not present: {folder}")
    w = drone.window
    dialog = drone.import_odm(str(folder))
    text = dialog.report.toPlainText()
    assert "dsm.tif" in text and "images" in text and "Orthophoto" in text  # found, and what is missing
    assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.accept()
    qtbot.waitUntil(lambda: len(w.session.project.layers) >= 2, timeout=20000)
    w.tasks.wait(10000)
    kinds = sorted(lyr.kind for lyr in w.session.project.layers)
    assert "raster" in kinds and "photos" in kinds, kinds
