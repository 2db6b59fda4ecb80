"""``litellm-accel bench``: stock and accelerated LiteLLM side by side, in one process, interleaved.

Layout: :mod:`.defaults` (the embedded Router configuration), :mod:`.userconfig` (``--config FILE``),
:mod:`.server` (the fake OpenAI server in a child process), :mod:`.arms` (switching between stock and
accelerated litellm), :mod:`.timing` and :mod:`.stats` (samples and their summaries), :mod:`.runner`
(interleaved rounds), :mod:`.scenarios` (what is measured), :mod:`.report` (table and JSON) and
:mod:`.command` (the click command). See docs/benchmarks.md for the method.
"""
