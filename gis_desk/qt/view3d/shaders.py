"""GLSL 3.30 core shaders of the 3D view: coloured points, then eye-dome lighting (EDL).

EDL (Boucheny 2009, as in CloudCompare and Potree) shades each pixel by how much nearer its
8 neighbours (at ``radius`` px) are in log depth: surfaces read as relief and silhouettes
get a dark rim, with no normals needed.  The composite pass also does the plain copy when
EDL is off, so both paths read the same off-screen buffers.
"""

POINT_VERTEX = """
#version 330 core
layout(location = 0) in vec3 position;
layout(location = 1) in vec4 colour;
uniform mat4 mvp;
uniform float point_size;
out vec4 v_colour;
void main() {
    gl_Position = mvp * vec4(position, 1.0);
    gl_PointSize = point_size;
    v_colour = colour;
}
"""

POINT_FRAGMENT = """
#version 330 core
in vec4 v_colour;
uniform int round_points;
out vec4 frag;
void main() {
    if (round_points == 1) {
        vec2 c = gl_PointCoord * 2.0 - 1.0;
        if (dot(c, c) > 1.0) discard;
    }
    frag = vec4(v_colour.rgb, 1.0);
}
"""

QUAD_VERTEX = """
#version 330 core
out vec2 uv;
uniform float flip_y;        // -1: draw upside down, so glReadPixels returns the top row first
const vec2 corners[4] = vec2[](vec2(-1.0, -1.0), vec2(1.0, -1.0), vec2(-1.0, 1.0), vec2(1.0, 1.0));
void main() {
    vec2 p = corners[gl_VertexID];
    uv = p * 0.5 + 0.5;
    gl_Position = vec4(p.x, p.y * flip_y, 0.0, 1.0);
}
"""

EDL_FRAGMENT = """
#version 330 core
in vec2 uv;
uniform sampler2D colour_tex;
uniform sampler2D depth_tex;
uniform vec2 texel;          // 1 / framebuffer size
uniform float near_plane;
uniform float far_plane;
uniform float strength;
uniform float radius;        // px
uniform int edl_on;
out vec4 frag;

float log_depth(float d) {
    float z = d * 2.0 - 1.0;
    float linear = 2.0 * near_plane * far_plane / (far_plane + near_plane - z * (far_plane - near_plane));
    return log2(max(linear, 1e-6));
}

void main() {
    vec4 colour = texture(colour_tex, uv);
    if (edl_on == 0) { frag = vec4(colour.rgb, 1.0); return; }
    float d = texture(depth_tex, uv).r;
    bool background = d >= 1.0;
    float here = background ? 0.0 : log_depth(d);
    vec2 offsets[8] = vec2[](vec2(1.0, 0.0), vec2(-1.0, 0.0), vec2(0.0, 1.0), vec2(0.0, -1.0),
                             vec2(0.7071, 0.7071), vec2(-0.7071, 0.7071), vec2(0.7071, -0.7071), vec2(-0.7071, -0.7071));
    float response = 0.0;
    for (int i = 0; i < 8; i++) {
        float dn = texture(depth_tex, uv + offsets[i] * radius * texel).r;
        if (dn >= 1.0) continue;              // neighbour is background: no occlusion from it
        if (background) response += 100.0;    // rim just outside a silhouette
        else response += max(0.0, here - log_depth(dn));
    }
    float shade = exp(-response / 8.0 * 300.0 * strength);
    frag = vec4(colour.rgb * shade, 1.0);
}
"""
