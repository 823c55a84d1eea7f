"""The Train tab: text, tokenizer, model size, Start/Stop, and the run as it happens."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass

import gradio as gr

from gpt.presets import DEFAULT_PRESET, PRESETS
from gpt.presets import preset as preset_settings
from gpt.settings import FORM_FIELDS, TrainingSettings
from viz import loss_curve

from . import checkpoints, ladder_panel, plan, train_form, training
from . import watch as watching
from .clients import on_this_machine, plot_width
from .context import AppContext
from .errors import user_errors
from .i18n import language, static
from .sessions import session_id
from .widgets import index_slider


@dataclass
class TrainTab:
    text: gr.Textbox
    status: gr.Markdown
    n_layer: gr.Slider
    event: object  # the training event, for app.py to chain the model refresh on
    corpus: object  # () -> the bundled text, filled in on page load (it is 1 MB; the API's text has no default)
    relabel: dict  # an event spec: what the server wrote here, again in the page's language (load, switch)
    rewatch: dict  # an event spec: the "watch it learn" views again, in the page's language (load, switch)
    new_model: dict  # an event spec: the "watch it learn" views of the session's new model (an upload, a reset)


API_OUTPUTS = 4  # /train streams (status, loss figure, samples, attention figure)
# What a preset leaves as the person set it: the tokenizer, and which weights to keep.
KEPT_ACROSS_PRESETS = ("tokenizer", "keep_best")


def _form_input(name: str, value):
    """The input for one field of the training form, built from its Setting."""
    spec = TrainingSettings.spec(name)
    elem_id = TrainingSettings.flag(name).removeprefix("--")
    texts = dict(label=static(f"train.field.{name}.label"), info=static(f"train.field.{name}.info"), elem_id=elem_id)
    if spec.form == "choice":  # the choices are the API's values (char, bpe): shown as they are
        return gr.Radio(list(spec.choices), value=value, **texts)
    if spec.form == "number":
        return gr.Number(value=value, **texts)
    if spec.form == "checkbox":
        return gr.Checkbox(value=value, **texts)
    minimum, maximum = train_form.slider_range(name)  # what /train accepts (ui/limits.py FORM_CAPS)
    return gr.Slider(minimum, maximum, value=value, step=spec.step, **texts)


def _api_signature() -> inspect.Signature:
    """/train's signature, made from the form's fields: the text, then ui/train_form.API_FIELDS with
    their defaults (API_DEFAULTS), then the request, which Gradio fills in (by its annotation)."""
    by_either = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [
            inspect.Parameter("text", by_either),
            *(inspect.Parameter(name, by_either, default=train_form.API_DEFAULTS[name]) for name in train_form.API_FIELDS),
            inspect.Parameter("request", by_either, default=None, annotation=gr.Request),
        ]
    )


TRAIN_SIGNATURE = _api_signature()


def build(ctx: AppContext) -> TrainTab:
    defaults = train_form.DEFAULTS
    with gr.Tab(static("tab.train"), id="train"):
        slots = ctx.queue.slots
        gr.Markdown(static("train.intro") if slots == 1 else static("train.intro.slots", slots=slots))
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                text = gr.Textbox(
                    label=static("train.text"), lines=5, max_lines=8, placeholder=static("train.text.placeholder")
                )
                with gr.Row():
                    use_corpus = gr.Button(static("train.use_corpus"), size="sm")
                    upload = gr.UploadButton(static("train.upload"), file_types=[".txt"], size="sm")
                    clear = gr.Button(static("train.clear"), size="sm")
                info = gr.State(ctx.corpus_info)
                text_stats = gr.Markdown(plan.describe_text(ctx.corpus_info), elem_classes="hint")
                form = {"tokenizer": _form_input("tokenizer", defaults.tokenizer)}
                preset = gr.Radio(
                    [(static(f"train.preset.{name}"), name) for name in PRESETS],
                    value=DEFAULT_PRESET,
                    label=static("train.preset"),
                    info=static(plan.preset_note(DEFAULT_PRESET)),
                )
                summary = gr.Markdown(plan.plan_summary(ctx.timer, ctx.corpus_info, defaults), elem_classes="plan")
                with gr.Row():
                    start = gr.Button(static("train.start"), variant="primary", elem_id="train-button")
                    stop = gr.Button(static("train.stop"), variant="stop", elem_id="stop-button")
                    api_trigger = gr.Button(visible=False, elem_id="train-api")  # /train's event: the API has no button
                probe_sentence = gr.Textbox(
                    value="",  # the API's default: the start of the training text
                    label=static("train.probe_sentence"),
                    info=static("train.probe_sentence.info"),
                    placeholder=static("train.probe_sentence.placeholder"),
                    max_lines=2,
                    elem_id="probe-sentence",
                )
                with gr.Accordion(static("train.advanced"), open=False, elem_id="advanced"):
                    numbers = [name for name in FORM_FIELDS if name not in form]
                    for pair in (numbers[i : i + 2] for i in range(0, len(numbers), 2)):
                        with gr.Row():
                            for name in pair:
                                form[name] = _form_input(name, getattr(defaults, name))
            with gr.Column(scale=3, min_width=300):
                status = gr.Markdown(static("train.status.ready"), label=static("train.status"), elem_id="train-status")
                loss = gr.Plot(loss_curve([], [], [], []), label=static("train.loss"), show_label=False, elem_id="loss-plot")
                samples = gr.Textbox(
                    label=static("train.samples"),
                    info=static("train.samples.info"),
                    lines=7,
                    max_lines=12,
                    interactive=False,
                    elem_id="samples",
                )
                watch_layer = index_slider(
                    defaults.n_layer,
                    label=static("train.watch_layer"),
                    info=static("train.watch_layer.info"),
                )
                probe = gr.Plot(label=static("train.probe"), show_label=False, elem_id="probe-plot")
        with gr.Column(elem_id="watch"):
            gr.Markdown(static("watch.title"))
            gr.Markdown(static("watch.intro"))
            surprise = gr.HTML(label=static("watch.surprise"), elem_id="train-surprise")
            with gr.Row(equal_height=False):
                replay_step = gr.Slider(
                    0, 1, value=0, step=1, interactive=False, label=static("watch.step"), info=static("watch.step.info"),
                    elem_id="replay-step", scale=3,
                )
                with gr.Column(scale=2, min_width=240):
                    compare = gr.Checkbox(value=False, label=static("watch.compare"), elem_id="compare")
                    compare_step = gr.Slider(
                        0, 1, value=0, step=1, interactive=False, visible=False, label=static("watch.compare_step"),
                        info=static("watch.compare_step.info"), elem_id="compare-step",
                    )
            replay = gr.Plot(label=static("watch.replay"), show_label=False, elem_id="replay-plot")
            diff = gr.Plot(label=static("watch.diff"), show_label=False, visible=False, elem_id="diff-plot")
            metrics = gr.Plot(label=static("watch.metrics"), show_label=False, elem_id="metrics-plot")
            tags = gr.HTML(label=static("watch.tags"), elem_id="head-tags")
        ladder_panel.build(ctx, text, form["tokenizer"])  # the lecture's ladder, under the form

    inputs = [form[name] for name in FORM_FIELDS]

    # --- logic wired to the components ---------------------------------------------------

    def analyse(new_text, request: gr.Request = None):
        text_info = plan.text_info(new_text)
        return text_info, plan.describe_text(text_info, new_text, language(request))

    @user_errors
    def load_txt(path, request: gr.Request = None):
        new_text = checkpoints.read_text_upload(path)
        return (new_text, *analyse(new_text, request))

    def apply_preset(name):
        chosen = preset_settings(name)
        values = [gr.skip() if n in KEPT_ACROSS_PRESETS else getattr(chosen, n) for n in FORM_FIELDS]
        return gr.Radio(info=static(plan.preset_note(name))), *values

    # gr.Request first: Gradio passes it by position, and *values takes every input after it.
    def summarise(request: gr.Request, text_info, *values):
        values = dict(zip(FORM_FIELDS, values))
        return plan.form_summary(ctx.timer, text_info, values, language(request), on_this_machine(request))

    def relabel(request: gr.Request, text_info, loss_figure, *values):
        """The text's statistics, the plan and the loss figure's placeholder in the page's language
        (a run's loss figure is left as it was drawn). The text itself is not sent again (it may be
        megabytes): its statistics are enough."""
        lang = language(request)
        drawn = json.loads((loss_figure or {}).get("plot") or "{}")
        placeholder = not drawn or bool(drawn.get("layout", {}).get("annotations"))  # a run's has none
        return (
            plan.describe_text(text_info, lang=lang),
            plan.form_summary(ctx.timer, text_info, dict(zip(FORM_FIELDS, values)), lang, on_this_machine(request)),
            loss_curve([], [], [], [], lang=lang) if placeholder else gr.skip(),
        )

    def train(*args, **kwargs):
        """Train a new model on `text` and make it this session's model; streams (status, loss figure,
        samples, attention figure). probe: the sentence whose attention is recorded at each evaluation
        (empty: the start of the text)."""
        call = TRAIN_SIGNATURE.bind(*args, **kwargs)
        call.apply_defaults()
        arguments = dict(call.arguments)
        request = arguments.pop("request")
        for outputs in run_training(arguments, request, beside_browser=False):  # no page to draw
            yield outputs[:API_OUTPUTS]  # what the API has always returned; the rest is the page's

    # Gradio reads /train's parameters (names, order, defaults; the request by its annotation) here.
    train.__signature__ = TRAIN_SIGNATURE
    train.__annotations__ = {"request": gr.Request}
    train = user_errors(train)

    @user_errors
    def train_in_page(request: gr.Request, *values):
        """The Train button: what /train streams, and the "watch it learn" views."""
        arguments = dict(zip(["text", *train_form.API_FIELDS], values))
        yield from run_training(arguments, request, beside_browser=on_this_machine(request))

    def run_training(arguments: dict, request, beside_browser: bool):
        fields = {name: arguments[name] for name in FORM_FIELDS}
        parsed = train_form.parse_request(arguments["text"], arguments["watch_layer"], arguments["probe"], **fields)
        sid = session_id(request)
        probe_width = plot_width(ctx.clients.get(sid), share=3 / 5)  # the right-hand column
        lang = language(request)
        for update in training.train(ctx.registry, ctx.queue, ctx.timer, sid, parsed, probe_width, lang, beside_browser):
            shown = (update.status, update.loss, update.samples, update.attention)
            yield (*(gr.skip() if v is None else v for v in shown), *watch_outputs(update, sid))

    def watch_outputs(update, sid: str) -> tuple:
        """The step sliders and the views that follow the evaluations, when the run's record changed.
        The step follows the latest snapshot unless the person moved it (ui/watch.py pin_replay); the
        replay itself is drawn by the step's change event."""
        if update.watch is None:
            return (gr.skip(),) * 5
        job = ctx.registry.job(sid)
        follow = job is None or job.replay_pinned is None
        first, latest = watching.step_range(update.watch)
        bounds = dict(minimum=first, maximum=max(latest, first + 1), interactive=True)
        step = gr.Slider(value=latest, **bounds) if follow else gr.Slider(**bounds)
        views = update.views
        metrics_figure = gr.skip() if views is None or views.metrics is None else views.metrics
        return (
            step,
            gr.Slider(**bounds),
            metrics_figure,
            gr.skip() if views is None else views.tags,
            gr.skip() if views is None else views.surprise,
        )

    def replay_views(step, compare_on, compare_step, layer, request: gr.Request = None):
        """The grid at the chosen step and, when comparing, the change from the other step."""
        record, lang = watching.session_record(ctx.registry, session_id(request)), language(request)
        if record is None:
            return None, gr.Plot(value=None, visible=False)
        grid = watching.replay_figure(record, step, lang)
        if not compare_on:
            return grid, gr.Plot(value=None, visible=False)
        width = plot_width(ctx.clients.get(session_id(request)))
        return grid, gr.Plot(value=watching.diff_figure(record, compare_step, step, layer, width, lang), visible=True)

    def rewatch_views(step, compare_on, compare_step, layer, request: gr.Request = None):
        """Every "watch it learn" view of the session's model (or running training), at the steps
        chosen, in the page's language (after a language switch)."""
        return watch_views(step, compare_on, compare_step, layer, request)

    def new_model_views(step, compare_on, compare_step, layer, request: gr.Request = None):
        """Every "watch it learn" view of the session's new model, at its latest snapshot."""
        return watch_views(None, compare_on, None, layer, request)

    def watch_views(step, compare_on, compare_step, layer, request):
        """The sliders and every view of the session's record; a step outside its range (or None)
        goes to the latest snapshot, a compared step to the first."""
        record, lang = watching.session_record(ctx.registry, session_id(request)), language(request)
        shown = watching.views(record, lang, plot_width(ctx.clients.get(session_id(request))))
        if record is None:
            off = gr.Slider(minimum=0, maximum=1, value=0, interactive=False)
            return off, off, None, gr.Plot(value=None, visible=False), shown.metrics, shown.tags, shown.surprise
        first, latest = watching.step_range(record)
        bounds = dict(minimum=first, maximum=max(latest, first + 1), interactive=True)
        inside = lambda value: isinstance(value, (int, float)) and first <= value <= latest  # noqa: E731
        step = step if inside(step) else latest
        compare_step = compare_step if inside(compare_step) else first
        grid, diff_plot = replay_views(step, compare_on, compare_step, layer, request)
        return (
            gr.Slider(value=step, **bounds),
            gr.Slider(value=compare_step, **bounds),
            grid,
            diff_plot,
            shown.metrics,
            shown.tags,
            shown.surprise,
        )

    def pin(step, request: gr.Request = None):
        watching.pin_replay(ctx.registry, session_id(request), step)

    def stop_run(request: gr.Request = None):
        """Stop this session's training after the current step (or leave the queue)."""
        return training.stop_training(ctx.registry, ctx.queue, session_id(request), language(request))

    def watch(layer, request: gr.Request = None):
        training.set_watch_layer(ctx.registry, session_id(request), layer)

    light = dict(concurrency_limit=None, api_visibility="private", show_progress="hidden")
    def use_bundled(request: gr.Request = None):
        return ctx.corpus, ctx.corpus_info, plan.describe_text(ctx.corpus_info, lang=language(request))

    def clear_text(request: gr.Request = None):
        return "", None, plan.describe_text(None, lang=language(request))

    use_corpus.click(use_bundled, None, [text, info, text_stats], **light)
    clear.click(clear_text, None, [text, info, text_stats], **light)
    upload.upload(load_txt, upload, [text, info, text_stats], **light)
    text.blur(analyse, text, [info, text_stats], **light)
    preset.change(apply_preset, preset, [preset, *inputs], **light)
    gr.on(
        [info.change, *(c.change for c in inputs)],
        summarise,
        [info, *inputs],
        summary,
        trigger_mode="always_last",
        **light,
    )
    form["n_layer"].change(lambda n: index_slider(n, 0), form["n_layer"], watch_layer, **light)
    watch_layer.change(watch, watch_layer, None, **light)

    training_inputs = [text, *({**form, "watch_layer": watch_layer, "probe": probe_sentence}[n] for n in train_form.API_FIELDS)]
    shown = [status, loss, samples, probe]  # what /train returns
    running = dict(
        preprocess=False,
        # No limit in Gradio: a limit would hold the calls beyond it in Gradio's own queue, unseen
        # by ours (no "Waiting" message, no refusal, Stop unable to find them). Our TrainingQueue
        # orders them, refuses beyond its cap at once, and holds at most slots + cap of them.
        concurrency_id="train",
        concurrency_limit=None,
        show_progress="minimal",
        show_progress_on=[status],
    )
    # The page's Train button and the /train API run the same training; the API keeps the outputs it
    # has always had (clients unpack them), the page gets the "watch it learn" views as well.
    event = start.click(
        train_in_page,
        training_inputs,
        [*shown, replay_step, compare_step, metrics, tags, surprise],
        api_visibility="private",
        **running,
    )
    api_trigger.click(train, training_inputs, shown, api_name="train", **running)
    stop.click(stop_run, None, status, api_name="stop_training", queue=False)
    relabel_spec = dict(
        fn=relabel, inputs=[info, loss, *inputs], outputs=[text_stats, summary, loss], preprocess=False, **light
    )
    # Replaying only draws figures of the recorded snapshots (no model runs), beside the inference
    # requests' share of the cores. A slider moved quickly fires many events: "always_last" runs at
    # most one at a time and then only the latest, so the last move wins.
    replaying = dict(
        api_visibility="private",
        show_progress="hidden",
        concurrency_id="replay",
        concurrency_limit=ctx.policy.inference_concurrency,
        trigger_mode="always_last",
    )
    replay_inputs = [replay_step, compare, compare_step, watch_layer]
    gr.on(
        [replay_step.change, compare_step.change, compare.change, watch_layer.change],
        replay_views,
        replay_inputs,
        [replay, diff],
        **replaying,
    )
    compare.change(lambda on: gr.Slider(visible=bool(on)), compare, compare_step, **light)
    replay_step.input(pin, replay_step, None, queue=False, api_visibility="private")
    rewatch_spec = dict(
        fn=rewatch_views,
        inputs=replay_inputs,
        outputs=[replay_step, compare_step, replay, diff, metrics, tags, surprise],
        **replaying,
    )
    new_model_spec = dict(rewatch_spec, fn=new_model_views)
    return TrainTab(
        text=text,
        status=status,
        n_layer=form["n_layer"],
        event=event,
        corpus=lambda: ctx.corpus,
        relabel=relabel_spec,
        rewatch=rewatch_spec,
        new_model=new_model_spec,
    )
