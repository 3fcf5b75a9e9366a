"""Geotagged photos: EXIF GPS of any maker, DJI ``drone-dji`` XMP, thermal tags; the photo reader.

``read_photo_metadata(path)`` reads only a file's header (Pillow opens lazily and never decodes
pixels here): EXIF and its GPS IFD, the XMP packet (JPEG APP1, TIFF tag 700 - also GDAL's
``xml:XMP=`` form - or the EXIF XMLPacket tag some DJI payloads use) and, for GeoTIFF copies
written by GDAL, the ``EXIF_*`` items GDAL keeps in its metadata tag.

Position: EXIF GPS first, then DJI XMP ``GpsLatitude``/``GpsLongtitude`` (DJI's spelling; the
correct spelling is accepted too), then GDAL's copy of the EXIF.  ``(0, 0)`` or out-of-range
values mean "no fix".  Heights: ``gps_alt`` (EXIF, negative below sea level), ``rel_alt``
(XMP RelativeAltitude: above the TAKE-OFF point, not above the ground under the camera) and
``abs_alt`` (XMP AbsoluteAltitude, which some models write wrongly, e.g. negative).

``read_photos(path_or_folder)`` returns one ``PhotoDataset`` (``gis_desk.core.photos``) with a
camera point and a ground footprint per placed photo; see its docstring for how the camera
height and the ground are chosen.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gis_desk.core.photos import PhotoMeta
from gis_desk.errors import CorruptFileError, DataError, MissingFileError, ReaderError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".tif", ".tiff")

_NS = {
    "http://www.dji.com/drone-dji/1.0/": "dji",
    "http://www.dji.com/FLIR/1.0/": "flir",
    "http://ns.flir.com/xmp/1.0/": "flir",
    "http://pix4d.com/camera/1.0/": "camera",
    "http://www.micasense.com/camera/1.0/": "camera",
}
_THERMAL_KEYS = {"CentralTemperature", "TlinearGain", "BandName", "CentralWavelength", "WavelengthFWHM",
                 "Emissivity", "ObjectDistance", "RelativeHumidity", "AmbientTemperature", "ReflectedTemperature"}
_RDF_LI = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"


# -- small parsers ---------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip()
    return text or None


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, (tuple, list)):  # rational pair
            value = value[0] / value[1]
        f = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return f if math.isfinite(f) else None


def _dms(value: Any, ref: Any) -> float | None:
    """EXIF degrees/minutes/seconds rationals (or a single value) plus N/S/E/W to signed degrees."""
    if value is None:
        return None
    try:
        parts = [float(v) for v in value] if isinstance(value, (tuple, list)) else [float(value)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    while len(parts) < 3:
        parts.append(0.0)
    deg = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0
    if not math.isfinite(deg):
        return None
    ref = (_text(ref) or "").upper()
    return -deg if ref in ("S", "W") else deg


def _xmp_packet(image) -> bytes | None:
    """The raw XMP packet from wherever this file format keeps it."""
    for marker, data in getattr(image, "applist", []) or []:
        if marker == "APP1" and data.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
            return data[29:]
    tags = getattr(image, "tag_v2", None)
    if tags is not None and 700 in tags:
        raw = tags[700]
        return raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    try:
        raw = image.getexif().get_ifd(0x8769).get(0x02BC)
    except Exception:  # noqa: BLE001 - a damaged EXIF IFD simply has no packet
        raw = None
    if raw:
        return raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    return None


def parse_xmp(packet: bytes) -> tuple[dict[str, dict[str, str]], str | None]:
    """{'dji': {...}, 'flir': {...}, 'camera': {...}} from an XMP packet, plus a problem text.

    Properties are read whether written as attributes of ``rdf:Description`` or as child
    elements; ``rdf:Seq``/``rdf:Bag`` values are joined with ", ".
    """
    from defusedxml import ElementTree
    from xml.etree.ElementTree import ParseError

    start = packet.find(b"<x:xmpmeta")
    end = packet.rfind(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        return {}, "XMP packet without an xmpmeta element"
    try:
        root = ElementTree.fromstring(packet[start:end + len(b"</x:xmpmeta>")])
    except (ParseError, ValueError) as exc:
        return {}, f"XMP not readable ({exc})"
    out: dict[str, dict[str, str]] = {}

    def put(tag: str, value: str | None) -> None:
        if value is None or not tag.startswith("{"):
            return
        ns, local = tag[1:].split("}", 1)
        group = _NS.get(ns)
        if group:
            out.setdefault(group, {})[local] = value

    for el in root.iter():
        for key, value in el.attrib.items():
            put(key, value.strip())
        if el.tag.startswith("{") and el.tag[1:].split("}", 1)[0] in _NS:
            items = [li.text.strip() for li in el.iter(_RDF_LI) if li.text and li.text.strip()]
            put(el.tag, ", ".join(items) if items else (el.text or "").strip() or None)
    return out, None


_GDAL_ITEM = re.compile(r'<Item name="EXIF_(\w+)"[^>]*>([^<]*)</Item>')


def _gdal_exif(image) -> dict[str, str]:
    """EXIF items GDAL copied into its metadata tag (42112) when it rewrote a photo as GeoTIFF."""
    tags = getattr(image, "tag_v2", None)
    if tags is None or 42112 not in tags:
        return {}
    text = tags[42112]
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return {k: v.strip() for k, v in _GDAL_ITEM.findall(text)}


def _gdal_numbers(text: str | None) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text or "")]


# -- metadata --------------------------------------------------------------------------------


def read_photo_metadata(path: str | Path) -> PhotoMeta:
    """Everything GIS Desk uses from one photo's header (see ``PhotoMeta``).

    Raises ``MissingFileError`` / ``CorruptFileError`` for a file that is absent or not an
    image; a photo without GPS is returned with ``lat``/``lon`` None and a ``problems`` line.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise MissingFileError("The photo does not exist", path=p)
    size = p.stat().st_size
    if size == 0:
        raise CorruptFileError("The photo is empty (0 bytes)", path=p,
                               hint="copy it again from the drone's memory card")
    is_jpeg = _starts_like_jpeg(p)
    try:
        image = Image.open(p)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if is_jpeg:
            raise CorruptFileError(f"The JPEG is truncated or damaged: its header cannot be read "
                                   f"({size:,} bytes)", path=p, details=str(exc),
                                   hint="copy it again from the drone's memory card") from exc
        raise CorruptFileError("The file is not an image Pillow can read (damaged or not a photo)",
                               path=p, details=str(exc)) from exc
    try:
        meta = _metadata(image, p)
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptFileError("The photo's metadata is damaged", path=p, details=str(exc)) from exc
    finally:
        image.close()
    if is_jpeg and not _ends_like_jpeg(p):
        meta.problems.append(f"the JPEG is truncated ({size:,} bytes, no end-of-image marker): "
                             "its picture is incomplete")
    return meta


def _starts_like_jpeg(p: Path) -> bool:
    with open(p, "rb") as fh:
        return fh.read(3) == b"\xff\xd8\xff"


def _ends_like_jpeg(p: Path) -> bool:
    """An end-of-image marker in the last bytes (cameras may pad the file after it)."""
    with open(p, "rb") as fh:
        fh.seek(max(0, p.stat().st_size - 4096))
        tail = fh.read().rstrip(b"\x00\xff")
    return tail.endswith(b"\xff\xd9")


def _metadata(image, p: Path) -> PhotoMeta:
    meta = PhotoMeta(path=str(p.resolve()), name=p.name, width=int(image.size[0]), height=int(image.size[1]))
    problems = meta.problems
    try:
        exif = image.getexif()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds on broken EXIF
        exif = {}
        problems.append(f"EXIF not readable ({exc})")
    sub = gps = {}
    if exif:
        try:
            sub = exif.get_ifd(0x8769)
        except Exception:  # noqa: BLE001
            problems.append("EXIF sub-IFD not readable")
        try:
            gps = exif.get_ifd(0x8825)
        except Exception:  # noqa: BLE001
            problems.append("GPS IFD not readable")
    gdal = _gdal_exif(image)
    meta.make = _text(exif.get(0x010F)) or gdal.get("Make")
    meta.model = _text(exif.get(0x0110)) or gdal.get("Model")
    when = _text(sub.get(0x9003)) or _text(exif.get(0x0132)) or gdal.get("DateTimeOriginal")
    if when:
        subsec = _text(sub.get(0x9291))
        iso = when.replace(":", "-", 2).replace(" ", "T", 1)
        meta.time = f"{iso}.{subsec}" if subsec and subsec.isdigit() else iso
    meta.focal_mm = _float(sub.get(0x920A)) or (_gdal_numbers(gdal.get("FocalLength")) or [None])[0]
    f35 = _float(sub.get(0xA405)) or (_gdal_numbers(gdal.get("FocalLengthIn35mmFilm")) or [None])[0]
    meta.focal_35mm = f35 if f35 else None
    meta.exif_width = int(_float(sub.get(0xA002)) or 0) or int((_gdal_numbers(gdal.get("PixelXDimension")) or [0])[0]) or None
    meta.exif_height = int(_float(sub.get(0xA003)) or 0) or int((_gdal_numbers(gdal.get("PixelYDimension")) or [0])[0]) or None

    # GPS: EXIF of any maker
    lat = _dms(gps.get(2), gps.get(1)) if gps else None
    lon = _dms(gps.get(4), gps.get(3)) if gps else None
    alt = _float(gps.get(6)) if gps else None
    if alt is not None:
        ref = gps.get(5)
        if ref in (1, b"\x01", "1"):
            alt = -alt
    if lat is None and gdal.get("GPSLatitude"):
        lat = _dms(_gdal_numbers(gdal.get("GPSLatitude")), gdal.get("GPSLatitudeRef"))
        lon = _dms(_gdal_numbers(gdal.get("GPSLongitude")), gdal.get("GPSLongitudeRef"))
        nums = _gdal_numbers(gdal.get("GPSAltitude"))
        alt = (-nums[0] if gdal.get("GPSAltitudeRef", "").endswith("01") else nums[0]) if nums else None
    meta.gps_alt = alt

    packet = _xmp_packet(image)
    groups: dict[str, dict[str, str]] = {}
    if packet:
        groups, problem = parse_xmp(packet)
        if problem:
            problems.append(problem)
    dji = groups.get("dji", {})
    meta.xmp = dict(dji)
    if dji:
        meta.rel_alt = _float(dji.get("RelativeAltitude"))
        meta.abs_alt = _float(dji.get("AbsoluteAltitude"))
        for name in ("GimbalYaw", "GimbalPitch", "GimbalRoll", "FlightYaw", "FlightPitch", "FlightRoll"):
            attr = re.sub(r"(gimbal|flight)(yaw|pitch|roll)", r"\1_\2", name.lower())
            setattr(meta, attr, _float(dji.get(name + "Degree")))
        meta.calibrated_focal_px = _float(dji.get("CalibratedFocalLength"))
        cx, cy = _float(dji.get("CalibratedOpticalCenterX")), _float(dji.get("CalibratedOpticalCenterY"))
        meta.optical_center = (cx, cy) if cx is not None and cy is not None else None
        flag = _float(dji.get("RtkFlag"))
        meta.rtk_flag = int(flag) if flag is not None else None
        std = [_float(dji.get(k)) for k in ("RtkStdLon", "RtkStdLat", "RtkStdHgt")]
        meta.rtk_std = tuple(std) if any(v is not None for v in std) else None
        if lat is None:
            lat = _float(dji.get("GpsLatitude"))
            lon = _float(dji.get("GpsLongtitude") or dji.get("GpsLongitude"))
            if lat is not None:
                problems.append("position from DJI XMP (no EXIF GPS)")
    thermal = dict(groups.get("flir", {}))
    for group in ("camera", "dji"):
        thermal.update({k: v for k, v in groups.get(group, {}).items() if k in _THERMAL_KEYS})
    if thermal and ("LWIR" in thermal.get("BandName", "") or groups.get("flir")
                    or "TlinearGain" in thermal or "CentralTemperature" in thermal):
        meta.thermal = thermal
    elif groups.get("camera"):
        meta.bands = dict(groups["camera"])

    tags = getattr(image, "tag_v2", None)
    if lat is None and tags is not None and (33922 in tags or 34264 in tags):
        meta.unplaced_reason = "a georeferenced raster (open it as a raster layer), not a photo"
        lat = lon = None
    elif lat is None or lon is None:
        meta.unplaced_reason = "no GPS position in the photo"
    elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
        meta.unplaced_reason = f"GPS position out of range ({lat}, {lon})"
        lat = lon = None
    elif lat == 0 and lon == 0:
        meta.unplaced_reason = "GPS position is 0, 0 (no fix when the photo was taken)"
        lat = lon = None
    meta.lat, meta.lon = lat, lon
    return meta


# -- the reader ------------------------------------------------------------------------------


def list_photos(path: str | Path, recursive: bool = False) -> list[Path]:
    """Photo files in a folder (sorted), or the one file given."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.exists():
        raise MissingFileError("The photo or folder does not exist", path=p)
    it = p.rglob("*") if recursive else p.iterdir()
    return sorted(f for f in it if f.is_file() and f.suffix.lower() in PHOTO_SUFFIXES)


def read_photos(path: str | Path, *, crs: Any = None, ground: Any = None, recursive: bool = False,
                takeoff_height: float | None = None, max_range: float | None = None,
                feedback=None, **options):
    """Read a photo or a folder of photos as one ``PhotoDataset`` (in a list, as readers do).

    ``crs``: output CRS (default EPSG:27700).  ``ground``: None (flat ground at take-off
    height), a number (flat ground at that height, same datum as ``takeoff_height``/abs_alt),
    or a terrain model (path or raster dataset) for footprints on the terrain.  See
    ``gis_desk.core.photos.build_photo_dataset`` for the height rules.  Files that are not
    images or have no GPS are listed in ``dataset.unplaced`` with the reason; a folder without
    any photo raises ``DataError``.
    """
    from gis_desk.core.photos import build_photo_dataset

    root = Path(path)
    files = list_photos(root, recursive=recursive)
    if not files:
        raise DataError("The folder holds no photos (.jpg, .jpeg, .tif, .tiff)", path=root,
                        hint="choose the folder the drone's photos were copied to")
    metas: list[PhotoMeta] = []
    unreadable: list[tuple[str, str]] = []
    for i, f in enumerate(files):
        if feedback is not None:
            feedback.check_canceled()
            if i % 50 == 0:
                feedback.set_progress(80.0 * i / len(files))
        try:
            metas.append(read_photo_metadata(f))
        except ReaderError as exc:
            if len(files) == 1:
                raise
            unreadable.append((str(f.resolve()), exc.message))
    try:  # draw with the photo renderer wherever photos are read (the lead also imports it)
        import gis_desk.render.photos  # noqa: F401
    except ImportError:  # pragma: no cover - skia missing: reading still works
        pass
    return [build_photo_dataset(root, metas, crs=crs, ground=ground, takeoff_height=takeoff_height,
                                max_range=max_range, unreadable=unreadable, recursive=recursive,
                                feedback=feedback)]


def _rational_dms(value: float) -> tuple[float, float, float]:
    value = abs(float(value))
    deg = math.floor(value)
    minutes = math.floor((value - deg) * 60)
    seconds = round(((value - deg) * 60 - minutes) * 60, 4)
    return float(deg), float(minutes), float(seconds)


def dji_xmp_packet(props: dict[str, Any]) -> bytes:
    """An XMP packet carrying ``props`` as drone-dji attributes, the way DJI cameras write them."""
    from xml.sax.saxutils import quoteattr

    attrs = "\n   ".join(f"drone-dji:{k}={quoteattr(_xmp_value(v))}" for k, v in props.items())
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
            '  <rdf:Description rdf:about="DJI Meta Data" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"\n   '
            f'{attrs}/>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end="w"?>').encode("utf-8")


def _xmp_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:+.2f}"  # DJI's own form: "+39.80", "-89.90"
    return str(v)


def write_dji_jpeg(path: str | Path, image, *, lat: float, lon: float, abs_alt: float, rel_alt: float,
                   gimbal_yaw: float, gimbal_pitch: float, gimbal_roll: float = 0.0,
                   flight_yaw: float | None = None, flight_pitch: float = 0.0, flight_roll: float = 0.0,
                   focal_mm: float | None = None, focal_35mm: float | None = None,
                   calibrated_focal_px: float | None = None, make: str = "DJI", model: str = "FC6310",
                   time: str = "2024:06:05 10:00:00", quality: int = 85, extra_xmp: dict | None = None) -> Path:
    """Write a JPEG with DJI-style EXIF (GPS IFD, focal lengths, time) and drone-dji XMP.

    ``image``: a PIL image or an RGB uint8 array.  Used by the sample generator, tests and the
    benchmark; what it writes is what ``read_photo_metadata`` reads back.
    """
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(image, "RGB")
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0132] = time
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = time
    sub[0xA002] = img.width
    sub[0xA003] = img.height
    if focal_mm:
        sub[0x920A] = float(focal_mm)
    if focal_35mm:
        sub[0xA405] = int(round(focal_35mm))
    gps = exif.get_ifd(0x8825)
    gps[0] = b"\x02\x03\x00\x00"
    gps[1] = "N" if lat >= 0 else "S"
    gps[2] = _rational_dms(lat)
    gps[3] = "E" if lon >= 0 else "W"
    gps[4] = _rational_dms(lon)
    gps[5] = b"\x00" if abs_alt >= 0 else b"\x01"
    gps[6] = round(abs(float(abs_alt)), 3)
    props: dict[str, Any] = {
        "AbsoluteAltitude": float(abs_alt), "RelativeAltitude": float(rel_alt),
        "GimbalRollDegree": float(gimbal_roll), "GimbalYawDegree": float(gimbal_yaw),
        "GimbalPitchDegree": float(gimbal_pitch), "FlightRollDegree": float(flight_roll),
        "FlightYawDegree": float(gimbal_yaw if flight_yaw is None else flight_yaw),
        "FlightPitchDegree": float(flight_pitch),
    }
    if calibrated_focal_px:
        props.update(CalibratedFocalLength=f"{calibrated_focal_px:.6f}",
                     CalibratedOpticalCenterX=f"{img.width / 2:.6f}",
                     CalibratedOpticalCenterY=f"{img.height / 2:.6f}")
    props.update(extra_xmp or {})
    out = Path(path)
    img.save(out, "JPEG", quality=quality, exif=exif, xmp=dji_xmp_packet(props))
    return out


def metadata_dict(meta: PhotoMeta) -> dict[str, Any]:
    """A JSON-able dict of a photo's metadata (for a viewer's metadata panel)."""
    return {k: v for k, v in asdict(meta).items() if v not in (None, {}, [], "")}


__all__ = ["PHOTO_SUFFIXES", "dji_xmp_packet", "list_photos", "metadata_dict", "parse_xmp", "read_photo_metadata",
           "read_photos", "write_dji_jpeg"]
