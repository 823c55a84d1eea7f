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
/* The language switch: one line at the top right, over the header's free corner. */
#top { position: relative; }
#header { padding-right: 190px; }
#language { position: absolute; top: 0; right: 0; width: auto; z-index: 1; }
#language .wrap { gap: 4px; flex-wrap: nowrap; }
#language label { padding: 2px 10px; font-size: 0.85em; min-height: 0; }
#language input[type="radio"] { display: none; }
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
  #header { padding-right: 0; padding-top: 30px; }
}
/* On phones and tablets Plotly's toolbar lies over the figures' titles; touch gestures zoom anyway. */
@media (max-width: 1024px) {
  .modebar-container { display: none !important; }
}
/* A slider in a narrow column: the track shrinks, the minimum and maximum stay whole. */
.slider_input_container { min-width: 0; }
.slider_input_container input[type="range"] { min-width: 0; width: auto; flex: 1 1 0; }
.slider_input_container .min_value, .slider_input_container .max_value { flex: none; }
.tokens.note { color: var(--body-text-color-subdued); font-family: var(--font); }
table.card { border-collapse: collapse; width: 100%; font-size: 0.95em; }
table.card th { text-align: left; font-weight: 600; padding: 0.25em 0.8em 0.25em 0; vertical-align: top; width: 34%; }
table.card td { padding: 0.25em 0; white-space: pre-wrap; overflow-wrap: anywhere; }
#model-card h4 { margin: 1em 0 0.3em; }
/* Watching it learn (ui/watch.py): captions, the surprise strips, the heads' tags. */
.watch-caption { font-size: 0.9em; color: var(--body-text-color-subdued); margin: 0.2em 0 0.3em; }
.watch-note { color: var(--body-text-color-subdued); }
.surprise-strip .tok { border-color: transparent; }
.head-tags { line-height: 2; }
.head-tag {
  display: inline-block; padding: 0 0.5em; margin: 0 0.3em 0.3em 0; border-radius: 4px; font-size: 0.9em;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
}
.head-tag.tag-previous-token { background: #dbeafe; border-color: #93c5fd; color: #1e3a8a; }
.head-tag.tag-first-token { background: #fef3c7; border-color: #fcd34d; color: #78350f; }
.head-tag.tag-self { background: #dcfce7; border-color: #86efac; color: #14532d; }
.head-tag.tag-broad { background: #f3e8ff; border-color: #d8b4fe; color: #581c87; }
"""

# The surprise strips' tooltips (the model's top guesses for a token): the browser's own tooltip
# of a title never shows on a touch screen, so hovering or tapping a token shows its text in a
# box of our own instead (its title moves to data-tip, so the two never show at once).
HEAD = """<style>
@media (max-width: 640px) {
  .gradio-container .main.app { padding-left: 8px !important; padding-right: 8px !important; }
}
.surprise-tip {
  position: fixed; z-index: 1000; max-width: min(320px, 90vw); padding: 6px 9px; border-radius: 6px;
  background: #1f2937; color: #f9fafb; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  white-space: pre-wrap; pointer-events: none; box-shadow: 0 2px 8px rgba(0, 0, 0, 0.25);
}
</style>
<script>
(() => {
  let tip = null;
  const hide = () => { if (tip) tip.remove(); };
  const show = (token) => {
    if (token.title) { token.dataset.tip = token.title; token.removeAttribute("title"); }
    if (!token.dataset.tip) return hide();
    tip = tip || Object.assign(document.createElement("div"), { className: "surprise-tip", role: "tooltip" });
    tip.textContent = token.dataset.tip;
    document.body.appendChild(tip);
    const box = token.getBoundingClientRect(), size = tip.getBoundingClientRect();
    const left = Math.max(4, Math.min(box.left, window.innerWidth - size.width - 4));
    const below = box.bottom + 6 + size.height <= window.innerHeight;
    tip.style.left = left + "px";
    tip.style.top = (below ? box.bottom + 6 : Math.max(4, box.top - size.height - 6)) + "px";
  };
  const follow = (event) => {
    const token = event.target.closest && event.target.closest(".surprise-strip .tok");
    token ? show(token) : hide();
  };
  // A mouse shows a token's tip while over it; a finger shows it with a tap, until the next tap.
  document.addEventListener("pointerover", (event) => { if (event.pointerType === "mouse") follow(event); });
  document.addEventListener("click", follow);
  document.addEventListener("scroll", hide, true);
})();
</script>"""
