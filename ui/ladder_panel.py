"""The Train tab's ladder section: a button that runs the lecture's stages on the Training text,
their validation curves and their table (the run itself: ui/ladder.py)."""

from __future__ import annotations

import gradio as gr

from gpt.ladder import stages_for
from viz.ladder import CSS as TABLE_CSS

from . import ladder, training
from .context import AppContext
from .errors import user_errors
from .i18n import language, static
from .sessions import session_id


def build(ctx: AppContext, text: gr.Textbox, tokenizer: gr.Radio) -> None:
    """The section, under the Train tab's form; text and tokenizer are the form's inputs."""
    seconds = ladder.seconds_per_stage()
    minutes = seconds * len(stages_for(ctx.timer.device)) / 60
    gr.Markdown(static("ladder.title"), elem_id="ladder-title")
    gr.Markdown(static("ladder.intro", seconds=seconds, minutes=max(1, round(minutes))), elem_classes="hint")
    with gr.Row():
        run = gr.Button(static("ladder.run"), variant="secondary", elem_id="ladder-button")
        stop = gr.Button(static("train.stop"), variant="stop", elem_id="ladder-stop")
    status = gr.Markdown(elem_id="ladder-status")
    curves = gr.Plot(show_label=False, visible=False, elem_id="ladder-plot")
    table = gr.HTML(elem_id="ladder-table", css_template=TABLE_CSS)

    @user_errors
    def run_ladder(training_text, tokenizer_name, request: gr.Request = None):
        """The lecture's stages on the Training text; streams the status, the curves and the table."""
        updates = ladder.run_ladder(
            ctx.registry, ctx.queue, session_id(request), training_text, tokenizer_name, language(request),
            device=ctx.timer.device.type,
        )
        for update in updates:
            figure = gr.skip() if update.figure is None else gr.Plot(update.figure, visible=True)
            yield update.status, figure, gr.skip() if update.table is None else update.table

    def stop_ladder(request: gr.Request = None):
        """The Train tab's Stop: it ends whichever training this session runs, the ladder included."""
        return training.stop_training(ctx.registry, ctx.queue, session_id(request), language(request))

    run.click(
        run_ladder,
        [text, tokenizer],
        [status, curves, table],
        api_visibility="private",
        # As /train: our TrainingQueue orders it, refuses beyond its cap and lets Stop find it.
        concurrency_id="train",
        concurrency_limit=None,
        show_progress="minimal",
        show_progress_on=[status],
    )
    stop.click(stop_ladder, None, status, api_visibility="private", queue=False)
