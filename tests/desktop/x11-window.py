"""Does to the Hearth window what a window manager and its user would, over
X11: ask it to close (the close button's WM_DELETE_WINDOW, ICCCM 4.2.8.1),
move and resize it, and report where it is and whether it is shown. Under a
bare Xvfb there is no window manager, and WebDriver's "close window"
destroys the web view instead of asking, so the desktop test does it here.

Usage: /usr/bin/python3 x11-window.py close|state|place [X Y WIDTH HEIGHT]
Prints JSON; exits 1 when there is no Hearth window."""

import json
import sys

from Xlib import X, display
from Xlib.protocol import event


def windows(window):
    yield window
    for child in window.query_tree().children:
        yield from windows(child)


def hearth_window(screen):
    """The app's top-level window: of the windows whose WM_CLASS is Hearth's
    and that take WM_DELETE_WINDOW, the largest (GTK's 10x10 group leader
    and the tray icon's window share the class)."""
    delete = screen.intern_atom("WM_DELETE_WINDOW")
    found = []
    for window in windows(screen.screen().root):
        try:
            wm_class = window.get_wm_class() or ()
            protocols = window.get_wm_protocols() or []
            geometry = window.get_geometry()
        except Exception:  # gone meanwhile
            continue
        if wm_class == ("hearth", "Hearth") and delete in protocols:
            found.append((geometry.width * geometry.height, window))
    return max(found, key=lambda f: f[0])[1] if found else None


def main(command, args):
    screen = display.Display()
    window = hearth_window(screen)
    if window is None:
        print(json.dumps(None))
        return 1
    if command == "close":
        protocols = screen.intern_atom("WM_PROTOCOLS")
        delete = screen.intern_atom("WM_DELETE_WINDOW")
        message = event.ClientMessage(
            window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
        )
        window.send_event(message)
    elif command == "place":
        x, y, width, height = (int(a) for a in args)
        window.configure(x=x, y=y, width=width, height=height)
    geometry = window.get_geometry()
    origin = window.translate_coords(screen.screen().root, 0, 0)
    screen.flush()
    print(json.dumps({
        "shown": window.get_attributes().map_state == X.IsViewable,
        "x": -origin.x,
        "y": -origin.y,
        "width": geometry.width,
        "height": geometry.height,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "state", sys.argv[2:]))
