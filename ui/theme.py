"""Look of the app: a Gradio theme with system fonts only (nothing fetched from a font
service), and a little CSS for token chips and narrow screens.

Gradio scopes CSS to the app's content (it prefixes every rule), so the one rule about the
page frame, narrower side margins on phones, goes into HEAD instead."""

from __future__ import annotations

import gradio as gr

SYSTEM_SANS = [
    "ui-sans-serif",
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Arial",
    "sans-serif",
]
SYSTEM_MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]


def theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", font=SYSTEM_SANS, font_mono=SYSTEM_MONO)


CSS = """
#header h1 { margin-bottom: 0.1em; }
#header p { margin-top: 0; }
.hint, .plan { font-size: 0.9em; }
#train-status { min-height: 2.6em; }
#samples textarea, #generated textarea { font-family: var(--font-mono); }
.tokens { line-height: 2.1; font-family: var(--font-mono); font-size: 0.92em; }
.tokens .tok-count { font-family: var(--font); color: var(--body-text-color-subdued); margin-right: 0.4em; }
.tokens .tok {
  display: inline-block; padding: 0 0.3em; margin: 0 0.12em; border-radius: 4px;
  background: var(--color-accent-soft); border: 1px solid var(--border-color-accent-subdued);
  white-space: pre;
}
@media (max-width: 640px) {
  #header h1 { font-size: 1.4em; }
}
"""

HEAD = """<style>
@media (max-width: 640px) {
  .gradio-container .main.app { padding-left: 8px !important; padding-right: 8px !important; }
}
</style>"""
