"""The Model tab: what the session's model is, and moving models in and out."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr

from . import checkpoints, limits
from .context import AppContext
from .errors import user_errors
from .i18n import static
from .sessions import session_id

INTRO = f"""
**Your model.** Every visitor starts with the bundled model, trained on Shakespeare. Training in the Train tab
or uploading a checkpoint here gives *this browser tab* its own model; nobody else sees it, and it is freed
when you close the tab. Checkpoints are `.safetensors` files (weights plus a JSON header; nothing in them can
run code), up to {limits.mb(limits.MAX_UPLOAD_BYTES)}, {limits.MAX_PARAMETERS / 1e6:.0f}M parameters and a
{limits.MAX_BLOCK_SIZE}-token context.
"""


@dataclass
class ModelTab:
    card: gr.HTML
    download: gr.DownloadButton
    events: list  # events after which the session's model changed


def build(ctx: AppContext) -> ModelTab:
    default = ctx.registry.default
    with gr.Tab(static("tab.model"), id="model"):
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                card = gr.HTML(checkpoints.model_card(default), elem_id="model-card")
            with gr.Column(scale=2, min_width=260):
                download = gr.DownloadButton(
                    "Download this model (.safetensors)",
                    value=default.path,
                    variant="primary",
                    visible=default.path is not None,
                    elem_id="download-model",
                )
                upload = gr.File(
                    label="Upload a checkpoint (.safetensors)",
                    file_types=[".safetensors"],
                    file_count="single",
                    elem_id="upload-model",
                )
                reset = gr.Button("Reset to the bundled model")
                message = gr.Markdown()

    @user_errors
    def upload_model(path, request: gr.Request = None):
        if path is None:
            return gr.skip()
        sid = session_id(request)
        handle = checkpoints.load_upload(path)
        copy = ctx.registry.directory(sid) / Path(path).name  # kept for download, freed with the session
        shutil.copyfile(path, copy)
        ctx.registry.set_model(sid, replace(handle, path=copy))
        return f"Loaded **{handle.label}**: it is now your session's model."

    def reset_model(request: gr.Request = None):
        ctx.registry.reset(session_id(request))
        return "Back to the bundled model."

    private = dict(api_visibility="private", concurrency_limit=None)
    uploaded = upload.upload(upload_model, upload, message, **private)
    uploaded.failure(lambda: None, None, upload, **private)  # a refused file does not stay listed as if loaded
    was_reset = reset.click(reset_model, None, message, **private)
    return ModelTab(card=card, download=download, events=[uploaded, was_reset])
