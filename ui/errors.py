"""The one place where the errors a person reads become messages in the browser.

The library and the logic modules raise a UserError (gpt/errors.py: a key and its parameters;
also MissingFile and TrainingDiverged) that says what to change; @user_errors turns those into
gr.Error, which Gradio shows to the user (and to API clients) while the app keeps serving. A keyed
error is written in the request's language (ui/i18n.py) from the error catalogues (locales/): a
Spanish page reads it in Spanish, an API client (no Accept-Language) in English, the same words
as str(exc). A plain ValueError or FileNotFoundError (a third party's message) is shown as it is.
Anything else is a bug and is left to Gradio's generic error handling.
"""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from gpt import TrainingDiverged
from locales import error_text

from .i18n import language

USER_ERRORS = (ValueError, FileNotFoundError, TrainingDiverged)


def _request(args, kwargs):
    return next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)


def _to_gr_error(exc: Exception, request) -> gr.Error:
    return gr.Error(error_text(exc, language(request)), print_exception=False)


def user_errors(fn):
    """Decorate a handler (plain function or generator) so user errors become gr.Error."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except USER_ERRORS as exc:
                raise _to_gr_error(exc, _request(args, kwargs)) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            raise _to_gr_error(exc, _request(args, kwargs)) from None

    return wrapper
