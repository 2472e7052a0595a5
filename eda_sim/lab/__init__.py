"""The lab's interface: what a learner sees and touches, built on the model and the experiments.

- :mod:`eda_sim.lab.panel`: control panels (sliders described as data, Share/Load codes, budgets).
- :mod:`eda_sim.lab.plots`: the lab's figures and the ``Chart`` widget (browser side: ``eda_sim/lab/frontend``).
- :mod:`eda_sim.lab.views`: one module per notebook, building its panels from an experiment.
- :mod:`eda_sim.lab.exercises`: predictions and checked exercises.
- :mod:`eda_sim.lab.tables`: tidy tables for display.
- :mod:`eda_sim.lab.flow`: the animated message flow of notebook 00 (its drawing: :mod:`eda_sim.lab.flow_drawing`).

Nothing in the simulation model imports this package; the experiments only take
:class:`~eda_sim.lab.panel.Slider` from it, to describe their default controls as data.
"""
