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
from gradio.i18n import I18nData
from starlette.middleware import Middleware

from locales import DEFAULT, text
from ui import attention_tab, generate_tab, learn_tab, limits, model_tab, theme, threads, train_tab
from ui.checkpoints import model_card
from ui.clients import reported_width
from ui.context import DEFAULT_MODEL, AppContext, create_context
from ui.examples import encodes
from ui.generation import precision_text
from ui.i18n import I18N, LANGUAGE_NAMES, SWITCH_JS, choose, language, static
from ui.sessions import session_id
from ui.url_guard import RefuseRemoteFiles
from ui.widgets import index_slider

TITLE = "Mirador"


def header(ctx: AppContext, sid: str | None = None, lang: str = "en") -> str:
    handle = ctx.registry.model(sid) if sid else ctx.registry.default
    return text(
        "header",
        lang,
        model=handle.name(lang),
        device=threads.device_text(handle.device, lang),
        generation=precision_text(handle.model, lang, short=True),
    )


def in_english(value):
    """value (JSON-like) with every static text marker replaced by its English text."""
    if isinstance(value, I18nData):
        return I18N.translations[DEFAULT].get(value.key, value.key)
    if isinstance(value, dict):
        return {k: in_english(v) for k, v in value.items()}
    if isinstance(value, list):
        return [in_english(v) for v in value]
    return value


class MiradorBlocks(gr.Blocks):
    """gr.Blocks whose launch() defaults keep everything on this machine."""

    def launch(self, **kwargs):
        policy = threads.policy()
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
            max_threads=max(40, policy.training_slots + limits.MAX_WAITING_TRAININGS + policy.inference_concurrency + 16),
            app_kwargs={"middleware": [Middleware(RefuseRemoteFiles)]},
            i18n=I18N,
        )
        return super().launch(**{**defaults, **kwargs})

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None):
        """The API's description with its labels in English, as API clients read them (the page's
        labels are keys that the browser translates)."""
        return in_english(super().get_api_info(all_endpoints=all_endpoints, page=page))


def create_app(default_model_path=None, corpus_path=None, training_slots=None) -> MiradorBlocks:
    """Build the app (its own sessions, queue and bundled model); launch() to serve it.
    training_slots: trainings at once (default: the thread policy's, ui/threads.py)."""
    ctx = create_context(default_model_path or os.environ.get("MIRADOR_MODEL") or DEFAULT_MODEL, corpus_path, training_slots=training_slots)
    with MiradorBlocks(title=TITLE, delete_cache=(3600, 3600)) as demo:
        with gr.Row(equal_height=False, elem_id="top"):
            top = gr.Markdown(header(ctx), elem_id="header")
            switch = gr.Radio(  # compact, top right: the choices are each language's name in itself
                [(name, lang) for lang, name in LANGUAGE_NAMES.items()],
                value=None,
                label=static("language.switch"),
                show_label=False,
                container=False,
                elem_id="language",
                scale=0,
                min_width=0,
            )
        with gr.Tabs():
            generate = generate_tab.build(ctx)
            attention = attention_tab.build(ctx)
            train = train_tab.build(ctx)
            model = model_tab.build(ctx)
            learn = learn_tab.build(ctx)

        def model_changed(layer, attention_text, prompt, request: gr.Request = None):
            """Every view of 'the session's model' after it changed (trained, uploaded, reset); texts
            the new model cannot read are replaced by ones it can."""
            handle, lang = ctx.registry.model(session_id(request)), language(request)
            c = handle.config
            return (
                header(ctx, session_id(request), lang),
                model_card(handle, lang),
                gr.DownloadButton(value=handle.path, visible=handle.path is not None),
                index_slider(c.n_layer, layer),
                index_slider(c.n_head, 0),
                attention_text if encodes(handle.tokenizer, attention_text) else handle.example,
                prompt if encodes(handle.tokenizer, prompt) else handle.prompt,
            )

        refresh, refresh_inputs, refresh_outputs = attention.refresh
        changed = dict(
            fn=model_changed,
            inputs=[attention.layer, attention.text, generate.prompt],
            outputs=[top, model.card, model.download, attention.layer, attention.head, attention.text, generate.prompt],
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
            concurrency_limit=ctx.policy.inference_concurrency,
        )
        relearn_fn, relearn_inputs, relearn_outputs = learn.refresh
        relearn = dict(redraw, fn=relearn_fn, inputs=relearn_inputs, outputs=relearn_outputs, preprocess=True)
        train.event.then(**changed).then(**redraw).then(**relearn)
        for event in model.events:
            event.success(**changed).then(**redraw).then(**relearn)
            event.success(**train.new_model)  # an uploaded checkpoint brings its attention timeline

        def in_the_page_language(event):
            """After page load and a switch: every text the server wrote (the header, the model card,
            the attention views, the next-token figure, the Train tab's plan, the Learn tab...) in the
            page's language."""
            event.then(**changed).then(**redraw).then(**attention.relabel)
            event.then(**generate.relabel)
            event.then(**train.relabel)
            event.then(**train.rewatch)

        viewport = gr.Number(visible=False, elem_id="viewport-width")

        def remember_client(width, request: gr.Request = None):
            """The page says how wide it is: figures are then drawn for it (square maps on a phone).
            The language switch shows the page's language."""
            ctx.clients.update(session_id(request), width_px=reported_width(width))
            return language(request)

        loaded = demo.load(
            remember_client,
            viewport,
            switch,
            js="() => window.innerWidth",
            api_visibility="private",
            queue=False,
        )
        in_the_page_language(loaded)

        def switch_language(lang, request: gr.Request = None):
            choose(request, lang)

        switched = switch.input(switch_language, switch, None, js=SWITCH_JS, api_visibility="private", queue=False)
        in_the_page_language(switched)
        switched.then(**relearn)
        # The page re-translates the tabs it has shown; the others' names are sent again to be re-read.
        tabs = [block for block in demo.blocks.values() if isinstance(block, gr.Tab)]
        switched.then(
            lambda: [gr.Tab(label=tab.label) for tab in tabs],
            None,
            tabs,
            api_visibility="private",
            show_progress="hidden",
            queue=False,
        )
        demo.load(train.corpus, None, train.text, api_visibility="private", show_progress="hidden", queue=False)

        def end_session(request: gr.Request):
            """The tab closed: stop its training, free its model and files."""
            ctx.registry.end(session_id(request))
            ctx.clients.forget(session_id(request))
            ctx.policy.memory.trim_when_quiet()

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
