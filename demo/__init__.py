"""``inferwatch demo``: the whole chain on one machine, from traffic to a retraining webhook.

Not a part of the product: a package of its own that drives the parts the way a user
would (HTTP, the CLI's settings, the shipped rules), so the end-to-end test and
``make demo`` run the same code. Core reaches it only through the registry's
``demo`` verb (``inferwatch.demo.cli:demo``), imported when that verb runs.

Modules:
    - ``chain``: ``DemoStack`` starts every part, Prometheus, Alertmanager and the
      receivers; ``running(options, say)`` is the context manager the CLI uses.
    - ``story``: ``run_story(stack)``: baseline, calm traffic, shift, alert, webhook.
    - ``model``: the synthetic fraud model server, instrumented with two lines.
    - ``engine``: a simulated vLLM engine and its recording and SLO rules.
    - ``synthetic``: the seeded traffic (calm and shifted) and the model's score.
    - ``cli``: the ``inferwatch demo`` verb.
"""

__all__ = ["chain", "cli", "engine", "model", "story", "synthetic"]
