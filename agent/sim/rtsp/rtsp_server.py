#!/usr/bin/python3
"""A real RTSP server for tests and the demo: GStreamer's RTSP server (Debian packages
python3-gi + gir1.2-gst-rtsp-server-1.0 + the plugins of ELEMENT_PACKAGES).
Serves rtsp://127.0.0.1:PORT/cam over TCP and UDP, a live H.264 test pattern or a video file.
Prints "READY <port>" on stdout once listening; port 0 picks a free port.
"""
import argparse
import json
import re
import sys

# The Debian package that brings each GStreamer element of the pipelines below. Checked at
# start, so a missing plugin is one sentence naming its package instead of an RTSP 5XX at the
# first client (the pipeline is only built when a client connects). scripts/install-deps.test.ts
# checks this table against gst-inspect-1.0 + dpkg -S and against scripts/install-deps.sh.
ELEMENT_PACKAGES = {
    'videotestsrc': 'gstreamer1.0-plugins-base',
    'videoconvert': 'gstreamer1.0-plugins-base',
    'videorate': 'gstreamer1.0-plugins-base',
    'clockoverlay': 'gstreamer1.0-x',
    'x264enc': 'gstreamer1.0-plugins-ugly',
    'rtph264pay': 'gstreamer1.0-plugins-good',
    'x265enc': 'gstreamer1.0-plugins-bad',
    'rtph265pay': 'gstreamer1.0-plugins-good',
    'multifilesrc': 'gstreamer1.0-plugins-good',
    'jpegdec': 'gstreamer1.0-plugins-good',
    'qtdemux': 'gstreamer1.0-plugins-good',
    'h264parse': 'gstreamer1.0-plugins-bad',
    'filesrc': 'libgstreamer1.0-0',
}
# the Python side: module or GObject namespace -> Debian package
BINDING_PACKAGES = {'gi': 'python3-gi', 'Gst': 'gir1.2-gstreamer-1.0', 'GstRtspServer': 'gir1.2-gst-rtsp-server-1.0'}

p = argparse.ArgumentParser()
p.add_argument('--port', default='0')
p.add_argument('--mount', default='/cam')
p.add_argument('--file', help='MP4 with H.264 video to serve instead of the test pattern')
p.add_argument('--width', type=int, default=640)
p.add_argument('--height', type=int, default=360)
p.add_argument('--fps', type=int, default=25)
p.add_argument('--keyint', type=int, default=25, help='frames between keyframes (GOP)')
p.add_argument('--bitrate', type=int, default=1024, help='kbit/s')
p.add_argument('--pattern', default='ball')
p.add_argument('--codec', choices=['h264', 'h265'], default='h264', help='of the test pattern: many Hikvision and Dahua cameras default to H.265')
p.add_argument('--profile', choices=['baseline', 'main', 'high'], default='baseline', help='H.264 profile of the test pattern')
p.add_argument('--images', help='printf pattern of JPEG frames (f%%02d.jpg) shown in a loop, one per second, encoded live (the demo classroom)')
p.add_argument('--list-elements', action='store_true', help='print {element: Debian package} of every pipeline as JSON and exit')
a = p.parse_args()


def launches(a):
    """The three pipelines this server can serve, by what selects them."""
    return {
        # a live, endless classroom: the frames loop at 1 per second, re-encoded with a short GOP
        # so the recorder can cut segments anywhere
        'images': (
            f'( multifilesrc location="{a.images}" loop=true caps="image/jpeg,framerate=1/1" ! jpegdec ! videoconvert '
            f'! videorate ! video/x-raw,framerate={a.fps}/1 '
            f'! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.keyint} bitrate={a.bitrate} '
            f'! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )'
        ),
        'file': f'( filesrc location="{a.file}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )',
        'pattern': (
            f'( videotestsrc is-live=true pattern={a.pattern} ! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 '
            # ultrafast turns CABAC and 8x8 transforms off, which makes any stream Constrained
            # Baseline whatever the caps ask; superfast keeps them, so main/high are real
            f'! clockoverlay ! x264enc tune=zerolatency speed-preset={"ultrafast" if a.profile == "baseline" else "superfast"} key-int-max={a.keyint} bitrate={a.bitrate} '
            f'! video/x-h264,profile={a.profile} ! rtph264pay name=pay0 pt=96 config-interval=1 )'
        ),
        # an H.265 camera (the recorder copies it; browsers cannot play it)
        'pattern-h265': (
            f'( videotestsrc is-live=true pattern={a.pattern} ! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1,format=I420 '
            f'! clockoverlay ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max={a.keyint} bitrate={a.bitrate} '
            f'! rtph265pay name=pay0 pt=96 config-interval=1 )'
        ),
    }


def elements(launch):
    """Element names of a gst-launch description: the word after '(' or '!' (caps have a '/')."""
    return re.findall(r'[(!]\s*([a-z0-9]+)(?=\s|$)', launch)


def missing(what, package):
    """One sentence naming the missing piece and its Debian package; server.ts relays it."""
    print(f'MISSING 缺少 {what}：请安装 Debian 软件包 {package}（scripts/install-deps.sh 会安装） / '
          f'{what} is missing: install the Debian package {package} (scripts/install-deps.sh installs it)',
          file=sys.stderr, flush=True)
    sys.exit(3)


if a.list_elements:
    print(json.dumps({e: ELEMENT_PACKAGES.get(e) for launch in launches(a).values() for e in elements(launch)}))
    sys.exit(0)

try:
    import gi
except ImportError:
    missing('Python GObject bindings (gi)', BINDING_PACKAGES['gi'])
for ns in ('Gst', 'GstRtspServer'):
    try:
        gi.require_version(ns, '1.0')
    except ValueError:
        missing(f'GObject introspection data for {ns} 1.0', BINDING_PACKAGES[ns])
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
launch = launches(a)['images' if a.images else 'file' if a.file else 'pattern-h265' if a.codec == 'h265' else 'pattern']
for name in elements(launch):
    if Gst.ElementFactory.find(name) is None:
        missing(f'GStreamer element {name}', ELEMENT_PACKAGES.get(name, f'that provides it (gst-inspect-1.0 {name})'))
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(a.port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(launch)
# one encoder shared by all clients: several recorders of the same "camera" cost one encode
factory.set_shared(True)
server.get_mount_points().add_factory(a.mount, factory)
if server.attach(None) == 0:
    print('FAILED to bind', file=sys.stderr, flush=True)
    sys.exit(1)
print('READY', server.get_bound_port(), flush=True)
try:
    GLib.MainLoop().run()
except KeyboardInterrupt:
    pass
