"""The video player: the current frame and the transport controls.

Frames come from the FrameServer (decoded off the GUI thread); the position is the
shared CurrentTime, so the timeline and the plot follow without talking to the player.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QStyle, QToolButton, QVBoxLayout, QWidget

from star_app.services.decoder import FrameServer
from star_app.state.current_time import CurrentTime
from star_app.state.time_view import TimeView
from star_app.views.scrub_bar import ScrubBar

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


class Player(QWidget):
    """Shows frame ``round(time * fps)`` of the open video; play/pause, steps, speed."""

    def __init__(self, current: CurrentTime, server: FrameServer, view: TimeView,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current = current
        self._server = server
        self._view = view
        self._image: Optional[QImage] = None
        self._wanted = -1
        self.shown_frame = -1
        self._clock = QElapsedTimer()
        self._start_time = 0.0
        self._ticking = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

        self.screen_label = QLabel("Open a video: drop one on the Videos list, or use Project ▸ Add videos…")
        self.screen_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.screen_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.screen_label.setMinimumSize(240, 160)
        self.screen_label.setStyleSheet("background: #101010; color: #c0c0c0;")
        self.title = QLabel()
        self.scrub = ScrubBar(current)
        buttons = self._buttons()
        self.speed = QComboBox()
        self.speed.setToolTip("Playback speed ([ slower, ] faster)")
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.currentIndexChanged.connect(self._speed_changed)
        self.time_label = QLabel()
        self.time_label.setStyleSheet("font-family: monospace;")

        controls = QHBoxLayout()
        for b in buttons:
            controls.addWidget(b)
        controls.addWidget(self.speed)
        controls.addStretch(1)
        controls.addWidget(self.time_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.screen_label, 1)
        layout.addWidget(self.scrub)
        layout.addLayout(controls)
        self.setEnabled(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click on the video takes the keys back from any field

        current.changed.connect(self._time_changed)
        server.frameReady.connect(self._frame_ready)
        view.formatChanged.connect(self._update_label)

    def _buttons(self) -> list[QToolButton]:
        """The transport buttons, left to right."""
        icon = self.style().standardIcon
        self._play_icon = icon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = icon(QStyle.StandardPixmap.SP_MediaPause)
        self.play_button = self._button("", "Play / pause (Space)", self.toggle_play)
        self.play_button.setIcon(self._play_icon)
        first = self._button("", "First frame (Home)", self.go_home)
        first.setIcon(icon(QStyle.StandardPixmap.SP_MediaSkipBackward))
        last = self._button("", "Last frame (End)", self.go_end)
        last.setIcon(icon(QStyle.StandardPixmap.SP_MediaSkipForward))
        return [
            first,
            self._button("-1 s", "Back 1 s (Shift+Left)", lambda: self.step_seconds(-1.0)),
            self._button("<", "Previous frame (Left)", lambda: self.step_frames(-1)),
            self.play_button,
            self._button(">", "Next frame (Right)", lambda: self.step_frames(1)),
            self._button("+1 s", "Forward 1 s (Shift+Right)", lambda: self.step_seconds(1.0)),
            last,
        ]

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(slot)
        return b

    # --- media ---------------------------------------------------------------------------
    def load(self, path: Optional[str], title: str, duration_s: float, fps: float) -> None:
        """Show ``path`` from its first frame (None: nothing)."""
        self.pause()
        self._image, self._wanted, self.shown_frame = None, -1, -1
        self.title.setText(title)
        self.scrub.set_marks(None, None)
        self.screen_label.setPixmap(QPixmap())
        self.setEnabled(path is not None)
        self._server.open(path, fps)
        self._current.set_media(duration_s if path else 0.0, fps)
        if path is not None:
            self._request(self._current.frame)
        self._update_label()

    def _request(self, index: int) -> None:
        self._wanted = index
        self._server.request(index)

    def _time_changed(self, t: float) -> None:
        if self.playing and not self._ticking:
            self._start_time = t
            self._clock.restart()
        self._update_label()
        if self.isEnabled():
            self._request(self._current.frame)

    def _frame_ready(self, index: int, _time_s: float, image: QImage) -> None:
        if index != self._wanted and not (self._wanted > index and index >= self._current.last_frame - 1):
            return
        self._image = image
        self.shown_frame = index
        self._show()

    def _show(self) -> None:
        if self._image is not None:
            pix = QPixmap.fromImage(self._image).scaled(self.screen_label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                        Qt.TransformationMode.SmoothTransformation)
            self.screen_label.setPixmap(pix)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._show()

    def _update_label(self) -> None:
        c, fmt = self._current, self._view.format
        frame = "" if self._view.frames else f"  frame {c.frame}"
        self.time_label.setText(f"{fmt(c.time)} / {fmt(c.duration)}{frame}")

    # --- transport -------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if not self.isEnabled():
            return
        if self._current.time >= self._current.duration - 1.0 / self._current.fps:
            self._current.set_time(0.0)
        self._start_time = self._current.time
        self._clock.start()
        self._timer.start(max(10, int(1000 / self._current.fps / self._speed())))
        self.play_button.setIcon(self._pause_icon)

    def pause(self) -> None:
        self._timer.stop()
        self.play_button.setIcon(self._play_icon)

    def _speed(self) -> float:
        return float(self.speed.currentData())

    def change_speed(self, steps: int) -> None:
        """Play ``steps`` speeds faster (negative: slower), within SPEEDS."""
        index = min(max(self.speed.currentIndex() + steps, 0), len(SPEEDS) - 1)
        self.speed.setCurrentIndex(index)

    def _speed_changed(self) -> None:
        if self.playing:
            self.pause()
            self.play()

    def _tick(self) -> None:
        t = self._start_time + self._clock.elapsed() / 1000.0 * self._speed()
        end = self._current.last_frame / self._current.fps
        if t >= end:
            self._current.set_time(end)
            self.pause()
            return
        self._ticking = True
        try:
            self._current.set_frame(int(t * self._current.fps))
        finally:
            self._ticking = False

    def step_frames(self, n: int) -> None:
        self.pause()
        self._current.step_frames(n)

    def step_seconds(self, seconds: float) -> None:
        self.pause()
        self._current.set_frame(self._current.frame + int(round(seconds * self._current.fps)))

    def go_home(self) -> None:
        self.pause()
        self._current.set_frame(0)

    def go_end(self) -> None:
        self.pause()
        self._current.set_frame(self._current.last_frame)
