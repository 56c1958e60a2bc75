"""Engine room, the worker loop's engine (the delivery layer of tasks): runtime state,
rendering, delivery with the file_id cache, deadline and dispatch jobs, timer refresh and what
follows an answer.

Layers, each importing only those above it: ``runtime`` and ``render`` (plain, no Telegram),
``delivery`` (Telegram calls), ``jobs`` (showing a task, its timers, the dispatcher),
``followup`` (what follows an answer, a skip or a pause). Handlers call ``jobs`` and
``followup``; the state lives on ``Services.runtime``, never in module globals.
"""
