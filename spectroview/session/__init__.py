"""Application state without Qt: view settings, view computation, level of detail.

Everything here is testable with plain pytest; :mod:`spectroview.ui` turns
it into widgets and runs its jobs on worker threads.
"""
