"""Español: cada texto que ve una persona (las mismas claves que en.py), con las palabras del
artículo donde nombra un concepto, y tuteo.

ERRORS traduce los mensajes de error, que se escriben en inglés (los lee también quien usa la
API): pares (plantilla inglesa, plantilla española); {nombre} es cualquier texto.
"""

from .learn_es import TEXTS as LEARN

TEXTS = {
    "header": "# Mirador: un GPT que puedes entrenar y mirar por dentro\nConstruido desde cero siguiendo *Let's build GPT* de Karpathy. **Modelo:** {model} · **Se ejecuta en:** {device}",
    "language.switch": "Idioma",
    "tab.generate": "Generar",
    "tab.attention": "Atención",
    "tab.train": "Entrenar",
    "tab.model": "Modelo",
    "tab.learn": "Aprende",
    **LEARN,  # the Learn tab (learn_es.py)
}

ERRORS = [
    ("{name} must be between {low} and {high}, got {value}.", "{name} debe estar entre {low} y {high}; recibido: {value}."),
]
