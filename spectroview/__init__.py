"""Spectroview: a spectrogram viewer and analyzer.

Layers (imports only go rightwards)::

    cli -> ui -> session -> audio -> dsp
    cli -> render -> dsp

Only :mod:`spectroview.ui` imports Qt.
"""

__version__ = "0.1.0"
