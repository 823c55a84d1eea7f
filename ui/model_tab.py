"""The Model tab: what the session's model is, and moving models in and out."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr

from . import checkpoints, limits
from .context import AppContext
from .errors import user_errors
from .i18n import language, static, tr
from .sessions import session_id


@dataclass
class ModelTab:
    card: gr.HTML
    download: gr.DownloadButton
    events: list  # events after which the session's model changed


def build(ctx: AppContext) -> ModelTab:
    default = ctx.registry.default
    with gr.Tab(static("tab.model"), id="model"):
        gr.Markdown(
            static(
                "model.intro",
                upload=limits.mb(limits.MAX_UPLOAD_BYTES),
                parameters=f"{limits.MAX_SERVED_PARAMETERS / 1e6:.0f}",
                context=limits.MAX_SERVED_BLOCK_SIZE,
            )
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                card = gr.HTML(checkpoints.model_card(default), elem_id="model-card")
            with gr.Column(scale=2, min_width=260):
                download = gr.DownloadButton(
                    static("model.download"),
                    value=default.path,
                    variant="primary",
                    visible=default.path is not None,
                    elem_id="download-model",
                )
                upload = gr.File(
                    label=static("model.upload"),
                    file_types=[".safetensors"],
                    file_count="single",
                    elem_id="upload-model",
                )
                reset = gr.Button(static("model.reset"))
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
        return tr(request, "model.loaded", label=handle.name(language(request)))

    def reset_model(request: gr.Request = None):
        ctx.registry.reset(session_id(request))
        return tr(request, "model.was_reset")

    private = dict(api_visibility="private", concurrency_limit=None)
    uploaded = upload.upload(upload_model, upload, message, **private)
    uploaded.failure(lambda: None, None, upload, **private)  # a refused file does not stay listed as if loaded
    was_reset = reset.click(reset_model, None, message, **private)
    return ModelTab(card=card, download=download, events=[uploaded, was_reset])
