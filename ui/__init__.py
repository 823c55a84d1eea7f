"""Mirador's web app, one small module per concern.

Logic (plain functions, tested directly): sessions, training, generation, attention,
checkpoints. Layout and wiring (Gradio): one *_tab module per tab, assembled by app.py.
Settings a maintainer tunes: limits (caps) and threads (CPU thread policy).
"""

import os

# Nothing may leave the machine: Gradio reads this when it is imported, so it is set here,
# before any module of this package imports gradio. The benchmarks and tests that drive the app
# with gradio_client import this package first for the same reason.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The app's error keys (locales/en.py ERRORS) become known to str() of a UserError (gpt/errors.py)
# before any module of this package raises one.
import locales  # noqa: E402, F401
