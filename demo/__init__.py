"""The demo: the shops `make run` loads (load_demo) and the bulk data of the benchmarks
(seed_demo).

It sits above every app: it may import all of them (the core and the feature apps import none
of it; tests/test_layers.py checks both). Each app's part of the demo grows here with the app.
"""
