"""English: every string a person sees (keys shared with es.py)."""

from .learn_en import TEXTS as LEARN

TEXTS = {
    "header": "# Mirador: a GPT you can train and look inside\nBuilt from scratch following Karpathy's *Let's build GPT*. **Model:** {model} · **Runs on:** {device}",
    "language.switch": "Language",
    "tab.generate": "Generate",
    "tab.attention": "Attention",
    "tab.train": "Train",
    "tab.model": "Model",
    "tab.learn": "Learn",
    **LEARN,  # the Learn tab (learn_en.py)
}
