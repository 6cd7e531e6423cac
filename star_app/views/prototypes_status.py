"""Status-bar label: whether the prototypes are current for the project's actions, examples and model."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from star_app.provenance import bank_actions, confirmed_clips, prototype_key
from star_app.settings import SettingsStore
from star_app.state.project_state import ProjectState

UP_TO_DATE = "#2f7d32"
OUT_OF_DATE = "#b26a00"


class PrototypesStatus(QLabel):
    """"Prototypes up to date: 4 examples + 1 confirmed segment", "out of date", or "not built yet";
    follows every change of the actions, the examples, the confirmed segments, the settings and builds."""

    def __init__(self, state: ProjectState, store: SettingsStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state, self._store = state, store
        for signal in (state.actionsChanged, state.settingsChanged, state.bankChanged, state.projectReplaced,
                       state.videosChanged, store.changed):
            signal.connect(self.refresh)
        state.segmentsChanged.connect(lambda _video: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        project = self._state.project
        examples = sum(len(a.examples) for a in project.actions)
        confirmed = sum(len(v) for v in confirmed_clips(project).values()) if \
            project.settings.confirmed_as_examples else 0
        what = f"{examples} example{'s' if examples != 1 else ''}" + \
            (f" + {confirmed} confirmed segment{'s' if confirmed != 1 else ''}" if confirmed else "")
        if not project.actions:
            text, color, tip = "No prototypes: no actions yet", "#707070", "Drop example clips on the Actions panel"
        elif project.bank_signature is None:
            text, color, tip = f"Prototypes not built yet ({what})", OUT_OF_DATE, "Labeling builds them (Ctrl+B alone)"
        elif project.bank_signature == prototype_key(project, self._store.settings.compute):
            text, color, tip = f"Prototypes up to date: {what}", UP_TO_DATE, "Built from the current examples and model"
        else:
            text, color = f"Prototypes out of date ({what})", OUT_OF_DATE
            tip = "The actions, examples, confirmed segments or the model changed since they were built; " \
                  "the next labeling rebuilds them"
        self.setText(text)
        self.setStyleSheet(f"color: {color};")
        self.setToolTip(f"{tip} ({len(bank_actions(project))} action(s))")
