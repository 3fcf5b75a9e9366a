"""3D point-cloud view (OpenGL 3.3 core via PyOpenGL in a ``QOpenGLWidget``).

``View3DPanel`` is what windows embed (it falls back to a message without OpenGL);
``PointCloudView`` is the GL widget; ``Scene`` and ``OrbitCamera`` are its GL-free parts.
"""

from gis_desk.qt.view3d.camera import OrbitCamera
from gis_desk.qt.view3d.panel import View3DPanel
from gis_desk.qt.view3d.scene import Scene
from gis_desk.qt.view3d.widget import PointCloudView, gl_status

__all__ = ["OrbitCamera", "PointCloudView", "Scene", "View3DPanel", "gl_status"]
