"""Loaded by scripts/schemathesis through SCHEMATHESIS_HOOKS.

CPython 3.11 as Debian ships it (3.11.2 to 3.11.7 seen here) can raise
SystemError "AST constructor recursion depth mismatch" from ast.parse when
the parse starts deep in the stack (a CPython bug, fixed in later releases).
Hypothesis parses a module's source only to describe a lambda for display;
schemathesis's coverage phase has it describe a filter lambda of its own
4,000-line module, and the interpreter's error then ends that operation as a
"Runtime Error" that is not the API's (seen once in 2 passes of the session 10
CI run, on GET /api/v1/children/{id}/clocks). Describe such a lambda
generically instead: nothing generated or checked changes, only a repr.
"""

from hypothesis.internal import lambda_sources

_describe = lambda_sources.lambda_description


def _described(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda *args, **kwargs: ..."


lambda_sources.lambda_description = _described
