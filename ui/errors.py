"""The one place where the library's ValueErrors become messages in the browser.

The library and the logic modules raise ValueError (or FileNotFoundError, or
TrainingDiverged) with a message that says what to change; @user_errors turns those into
gr.Error, which Gradio shows to the user (and to API clients) while the app keeps serving.
Anything else is a bug and is left to Gradio's generic error handling.
"""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from gpt import TrainingDiverged

USER_ERRORS = (ValueError, FileNotFoundError, TrainingDiverged)


def _to_gr_error(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


def user_errors(fn):
    """Decorate a handler (plain function or generator) so user errors become gr.Error."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except USER_ERRORS as exc:
                raise _to_gr_error(exc) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            raise _to_gr_error(exc) from None

    return wrapper
