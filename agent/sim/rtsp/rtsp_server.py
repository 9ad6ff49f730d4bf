#!/usr/bin/python3
"""A real RTSP server for tests and the demo: GStreamer's RTSP server (Debian packages
python3-gi + gir1.2-gst-rtsp-server-1.0 + gstreamer1.0-plugins-{base,good,ugly}).
Serves rtsp://127.0.0.1:PORT/cam over TCP and UDP, a live H.264 test pattern or a video file.
Prints "READY <port>" on stdout once listening; port 0 picks a free port.
"""
import argparse
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

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
a = p.parse_args()

Gst.init(None)
if a.file:
    launch = f'( filesrc location="{a.file}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )'
else:
    launch = (
        f'( videotestsrc is-live=true pattern={a.pattern} ! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 '
        f'! clockoverlay ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.keyint} bitrate={a.bitrate} '
        f'! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )'
    )
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
