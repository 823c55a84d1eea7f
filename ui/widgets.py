"""Small component updates shared by the tabs."""

from __future__ import annotations

import gradio as gr


def index_slider(count: int, value=0, **kwargs) -> gr.Slider:
    """A slider (inside a Blocks layout) or its update (returned by a handler) that picks one of
    `count` things (layers, heads), numbered 0 to count-1; kwargs: label, info, elem_id...

    Gradio refuses a slider whose minimum equals its maximum, so with a single thing the slider
    keeps a 0..1 range but is hidden and fixed at 0: there is nothing to choose."""
    count = max(int(count), 1)
    try:
        value = min(max(int(value or 0), 0), count - 1)
    except (TypeError, ValueError):
        value = 0
    return gr.Slider(
        minimum=0, maximum=max(count - 1, 1), value=value, step=1, visible=count > 1, interactive=count > 1, **kwargs
    )
