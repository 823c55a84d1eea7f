"""Mirador: train a small GPT on your own text, sample from it and look at its attention.

    python app.py            # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT to change)

This file only wires: the tabs live in ui/*_tab.py, their logic in plain modules under
ui/ (tested directly), the caps in ui/limits.py and the CPU thread policy in ui/threads.py.
The bundled model is MIRADOR_MODEL (default assets/shakespeare-char.safetensors).
"""

from __future__ import annotations

import os
import signal

# isort: off
import ui  # noqa: F401  (first: it switches analytics and telemetry off before gradio is imported)
import gradio as gr

# isort: on
from starlette.middleware import Middleware

from ui import attention_tab, generate_tab, limits, memory, model_tab, theme, threads, train_tab
from ui.checkpoints import model_card
from ui.context import DEFAULT_MODEL, AppContext, create_context
from ui.sessions import session_id
from ui.url_guard import RefuseRemoteFiles

TITLE = "Mirador"


def header(ctx: AppContext, sid: str | None = None) -> str:
    handle = ctx.registry.model(sid) if sid else ctx.registry.default
    return (
        "# Mirador: a GPT you can train and look inside\n"
        "Built from scratch following Karpathy's *Let's build GPT*. "
        f"**Model:** {handle.label} · **Runs on:** {threads.device_text(handle.device)}"
    )


class MiradorBlocks(gr.Blocks):
    """gr.Blocks whose launch() defaults keep everything on this machine."""

    def launch(self, **kwargs):
        defaults = dict(
            theme=theme.theme(),
            css=theme.CSS,
            head=theme.HEAD,
            share=False,
            ssr_mode=False,
            pwa=False,
            mcp_server=False,
            enable_monitoring=False,
            run_history=False,
            footer_links=["api", "settings"],
            max_file_size=limits.MAX_UPLOAD_BYTES,
            state_session_capacity=limits.MAX_GRADIO_SESSION_STATES,
            # Every /train call holds a Gradio worker while it runs or waits in our queue (up to
            # slots + the waiting cap), beside the requests: Gradio must have a worker for each.
            max_threads=max(40, threads.TRAINING_SLOTS + limits.MAX_WAITING_TRAININGS + threads.INFERENCE_CONCURRENCY + 16),
            app_kwargs={"middleware": [Middleware(RefuseRemoteFiles)]},
        )
        return super().launch(**{**defaults, **kwargs})


def create_app(default_model_path=None, corpus_path=None, training_slots=None) -> MiradorBlocks:
    """Build the app (its own sessions, queue and bundled model); launch() to serve it.
    training_slots: trainings at once (default ui/threads.TRAINING_SLOTS)."""
    ctx = create_context(default_model_path or os.environ.get("MIRADOR_MODEL") or DEFAULT_MODEL, corpus_path, training_slots=training_slots)
    with MiradorBlocks(title=TITLE, delete_cache=(3600, 3600)) as demo:
        top = gr.Markdown(header(ctx), elem_id="header")
        with gr.Tabs():
            generate_tab.build(ctx)
            attention = attention_tab.build(ctx)
            train = train_tab.build(ctx)
            model = model_tab.build(ctx)

        def model_changed(layer, request: gr.Request = None):
            """Every view of 'the session's model' after it changed (trained, uploaded, reset)."""
            handle = ctx.registry.model(session_id(request))
            c = handle.config
            return (
                header(ctx, session_id(request)),
                model_card(handle),
                gr.DownloadButton(value=handle.path, visible=handle.path is not None),
                gr.Slider(maximum=c.n_layer - 1, value=min(int(layer or 0), c.n_layer - 1)),
                gr.Slider(maximum=c.n_head - 1, value=0),
            )

        refresh, refresh_inputs, refresh_outputs = attention.refresh
        changed = dict(
            fn=model_changed,
            inputs=attention.layer,
            outputs=[top, model.card, model.download, attention.layer, attention.head],
            api_visibility="private",
            show_progress="hidden",
            queue=False,
        )
        redraw = dict(
            fn=refresh,
            inputs=refresh_inputs,
            outputs=refresh_outputs,
            api_visibility="private",
            show_progress="hidden",
            preprocess=False,
            concurrency_id="inference",
            concurrency_limit=threads.INFERENCE_CONCURRENCY,
        )
        train.event.then(**changed).then(**redraw)
        for event in model.events:
            event.success(**changed).then(**redraw)
        demo.load(**redraw)
        demo.load(train.corpus, None, train.text, api_visibility="private", show_progress="hidden", queue=False)

        def end_session(request: gr.Request):
            """The tab closed: stop its training, free its model and files."""
            ctx.registry.end(session_id(request))
            memory.trim_when_quiet()

        demo.unload(end_session)
    demo.context = ctx  # for tests and tools: the sessions, queue and bundled model
    return demo


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # Gradio closes its server, then the exit handlers run (ui/workdir.py)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # the way services are stopped: exit cleanly
    demo = create_app()
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))


if __name__ == "__main__":
    main()
