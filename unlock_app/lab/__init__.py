"""The lab: training, evaluation, synthetic worlds and benchmarks (the ``train`` extra).

The application never imports it: ``unlock_app.core`` and ``unlock_app.ui`` run without
it, and only the command line's ``train``, ``evaluate`` and ``benchmark`` reach in here.
"""
