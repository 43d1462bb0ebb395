"""AWS Lambda: the Lambda API (REST-JSON, on the main port) and local execution of functions.

Functions run as local processes of AWS's own runtime interface client (``awslambdaric`` for
``python3.x``), each talking to a Lambda Runtime API that tidestream serves on a loopback port of
its own. Modules: :mod:`.functions` (records and their storage), :mod:`.operations` (the API),
:mod:`.sandboxes` (processes, warm reuse, timeouts, concurrency), :mod:`.runtime_api` (the
Runtime API a process polls), :mod:`.state` and :mod:`.service` (wiring). See docs/lambda.md.
"""
