"""Help ▸ Guide: a short guide to the app, in a few paragraphs (the shortcut list is its own entry)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

GUIDE = """<h3>STAR Labeler in five minutes</h3>
<p><b>1. Actions.</b> An action is something you want found in your videos. Give each a few short example
clips: drop a folder of clips on the <b>Actions</b> panel (one folder per action; a <i>descriptors.txt</i> in it,
one stage of the action per line, is read too), or drop clips on an action to add examples. An action added by
its name alone is labeled from its text until it gets examples. Preview an example and use <b>Set in</b> /
<b>Set out</b> to trim it to the action; the marks show on the scrub bar under the video.</p>

<p><b>2. Videos.</b> Drop the long videos to label on the <b>Videos</b> panel (or Project ▸ Add videos…). Click
one to open it in the player.</p>

<p><b>3. Label.</b> Press <b>Ctrl+L</b> (Labeling ▸ Label current video). The prototypes of your actions are
built first (Ctrl+B builds them alone); the status bar shows the progress and Esc cancels. The plot shows how
strongly each action is seen over time; the timeline below it shows the segments.</p>

<p><b>4. Review and correct.</b> Press <b>N</b> to visit the segments the model is least sure of and
<b>Enter</b> to confirm one; drag a segment's edges, right-click it to relabel it, or press an action's coding
key. What you confirm or edit is yours: a re-label keeps it and labels only the rest, and it becomes an example
for the next prototypes. When settings or examples change, a notice over the video says the labels are out of
date, with <b>Re-label now</b>.</p>

<p><b>5. Keep the work.</b> Save the project (Ctrl+S) as a folder; export the labels as CSV, or for BORIS,
ELAN and DeepEthogram (Project ▸ Export labels). Settings holds the project's model, labeling rate and
Retrain, which fine-tunes the model on your examples and asks whether to keep the result.</p>"""


class GuideDialog(QDialog):
    """The guide, non-modal, beside the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("STAR Labeler guide")
        text = QTextBrowser()
        text.setHtml(GUIDE)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
        self.resize(620, 520)

    def open_beside(self) -> None:
        """Show it (non-modal; it deletes itself when closed)."""
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.show()
